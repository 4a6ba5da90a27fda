"""GitHubSim: the simulator's in-memory state and the helpers tests use to arrange it."""

from __future__ import annotations

import base64
import hashlib
import itertools
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import timedelta

from . import auth
from .budgets import RateBudgets
from .faults import FaultSwitches, Rule
from .gitdata import FileChange, diff_trees
from .hook_deliveries import HookDeliveries
from .records import (
    App,
    CheckRun,
    Commit,
    Installation,
    Issue,
    IssueComment,
    PullRequest,
    Reaction,
    Repo,
    RequestRecord,
    Review,
    ReviewComment,
    Thread,
    Token,
    User,
    now,
)
from .tracking import follow_push

# githubkit caches App JWTs and installation tokens process-wide, keyed by app id and installation
# id only: ids unique across simulators keep one test's cached token from reaching another.
_PROCESS_IDS = itertools.count(1001)

DEFAULT_PERMISSIONS = {
    "checks": "write",
    "contents": "read",
    "issues": "write",
    "metadata": "read",
    "pull_requests": "write",
}
DEFAULT_EVENTS = ["check_run", "check_suite", "issue_comment", "pull_request"]
ROLES = ("read", "triage", "write", "maintain", "admin")

Files = Mapping[str, bytes | str | None]


def node_id(prefix: str, number: int) -> str:
    return f"{prefix}_kwDO" + base64.urlsafe_b64encode(number.to_bytes(6, "big")).decode()


def check_path(path: str, unchecked: bool = False) -> None:
    names = path.split("/")
    if "\0" in path or "" in names:
        raise ValueError(f"git cannot store {path!r}: a NUL byte or an empty name")
    if not unchecked and any(name in (".", "..") for name in names):
        raise ValueError(f"git refuses {path!r} in a tree: a '.' or '..' name")


class GitHubSim(FaultSwitches):
    """Everything GitHub would hold for the tests, behind one re-entrant lock.

    The server thread takes `lock` around each request; helpers below take it too, so a test
    may arrange or inspect state while the App runs.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        # Request timestamps and rate-limit windows; tests assert on these, not on wall time.
        self.clock = time.monotonic
        self.budgets = RateBudgets(self.clock)
        # GraphQL's Blob.text is null above this size (isTruncated true): read those over REST.
        self.graphql_text_limit = 512 * 1024
        self.api_url = "https://api.github.com"
        self._ids = itertools.count(100)
        self.users: dict[str, User] = {}
        self.apps: dict[int, App] = {}
        self.installations: dict[int, Installation] = {}
        self.tokens: dict[str, Token] = {}
        self.repos: dict[str, Repo] = {}
        self.commits: dict[str, Commit] = {}
        self.pulls: dict[tuple[str, int], PullRequest] = {}
        self.issues: dict[tuple[str, int], Issue] = {}
        self.check_run_records: dict[int, CheckRun] = {}
        self.review_records: dict[int, Review] = {}
        self.comment_records: dict[int, ReviewComment] = {}
        self.thread_records: dict[str, Thread] = {}
        self.issue_comment_records: dict[int, IssueComment] = {}
        self.reaction_records: dict[int, Reaction] = {}
        self.manifest_codes: dict[str, App] = {}
        self.check_suites: dict[tuple[int, str, int], int] = {}
        self.refused: dict[tuple[str, str], set[int]] = {}
        self.requests: list[RequestRecord] = []
        self.rules: list[Rule] = []
        self.token_lifetime = timedelta(hours=1)
        self.hook_deliveries = HookDeliveries()
        self._diffs: dict[tuple[str, str], list[FileChange]] = {}
        self.app = self.add_app()

    def next_id(self) -> int:
        return next(self._ids)

    # -- users, apps, installations ------------------------------------------------------------

    def add_user(self, login: str, type: str | None = None) -> User:
        """A user; logins ending in "[bot]" are bots unless `type` says otherwise."""
        with self.lock:
            known = self.users.get(login.lower())
            if known is not None:
                return known
            kind = type or ("Bot" if login.endswith("[bot]") else "User")
            number = self.next_id()
            prefix = {"Bot": "BOT", "Organization": "O"}.get(kind, "U")
            self.users[login.lower()] = User(login, number, kind, node_id(prefix, number))
            return self.users[login.lower()]

    def add_app(
        self,
        slug: str = "faultline",
        owner: str = "faultline-dev",
        private_pem: str | None = None,
        public_pem: str | None = None,
        permissions: dict[str, str] | None = None,
    ) -> App:
        """An App; without keys it gets the process's shared generated pair (see `App.private_pem`)."""
        with self.lock:
            keys = (
                auth.shared_key_pair() if private_pem is None else auth.KeyPair(private_pem, public_pem or "")
            )
            number = next(_PROCESS_IDS)
            app = App(
                id=number,
                slug=slug,
                name=slug.replace("-", " ").title(),
                owner=self.add_user(owner),
                bot=self.add_user(f"{slug}[bot]"),
                client_id=f"Iv23li{auth.new_secret(14)}",
                client_secret=auth.new_secret(40),
                webhook_secret=auth.new_secret(24),
                private_pem=keys.private_pem,
                public_pem=keys.public_pem,
                node_id=node_id("A", number),
                permissions=dict(permissions or DEFAULT_PERMISSIONS),
                events=list(DEFAULT_EVENTS),
            )
            self.apps[app.id] = app
            return app

    def add_installation(
        self,
        account: str,
        repos: list[str] | None = None,
        app: App | None = None,
        permissions: dict[str, str] | None = None,
    ) -> Installation:
        """Install `app` (default: `self.app`) on `account`, for `repos` (full names) or all (None)."""
        with self.lock:
            owner = self.add_user(account)
            chosen = app or self.app
            perms = dict(permissions or chosen.permissions)
            item = Installation(
                next(_PROCESS_IDS), chosen, owner, None if repos is None else set(repos), perms
            )
            self.installations[item.id] = item
            return item

    def register_manifest_code(self, code: str, slug: str = "faultline", owner: str = "faultline-dev") -> App:
        """A one-time code for `POST /app-manifests/{code}/conversions`; returns the App it yields."""
        with self.lock:
            keys = auth.generate_key_pair()  # a manifest conversion hands out a fresh key
            self.manifest_codes[code] = self.add_app(slug, owner, keys.private_pem, keys.public_pem)
            return self.manifest_codes[code]

    def expire_tokens(self, token: str | None = None) -> None:
        """Make one installation token (or all) expired: the next use answers 401."""
        with self.lock:
            for item in self.tokens.values():
                if token is None or item.token == token:
                    item.expires_at = now() - timedelta(seconds=1)

    # -- repositories and commits --------------------------------------------------------------

    def add_repo(
        self,
        full_name: str,
        default_branch: str = "main",
        private: bool = False,
        fork_of: str | None = None,
        owner_type: str | None = None,
    ) -> Repo:
        """A repository; a fork shares its parent's commits and starts with its branches."""
        with self.lock:
            owner, name = full_name.split("/")
            parent = self.repo(fork_of) if fork_of else None
            number = self.next_id()
            repo = Repo(
                number,
                self.add_user(owner, owner_type),
                name,
                node_id("R", number),
                default_branch,
                private,
                parent,
            )
            if parent is not None:
                repo.branches = dict(parent.branches)
            self.repos[full_name.lower()] = repo
            return repo

    def repo(self, full_name: str) -> Repo:
        found = self.find_repo(full_name)
        if found is None:
            raise KeyError(f"no repository {full_name!r} in the simulator")
        return found

    def find_repo(self, full_name: str) -> Repo | None:
        return self.repos.get(full_name.lower())

    def commit(
        self,
        repo: str,
        files: Files,
        parent: str | None = None,
        branch: str | None = None,
        message: str = "Change files",
        unchecked_names: bool = False,
    ) -> str:
        """A commit whose tree is `parent`'s tree updated with `files` (None deletes a path).

        Without `parent` the tree is exactly `files`. With `branch`, the branch moves to it.
        Returns the new commit's sha. A name may hold any byte but NUL and "/", as in git;
        "." and ".." (which git refuses in a tree) only with `unchecked_names`, to play a
        broken or hostile server.
        """
        for path in files:
            check_path(path, unchecked_names)
        with self.lock:
            target = self.repo(repo)
            tree = dict(self.commits[parent].files) if parent else {}
            for path, content in files.items():
                if content is None:
                    tree.pop(path, None)
                else:
                    tree[path] = content.encode() if isinstance(content, str) else content
            parents = (parent,) if parent else ()
            seed = f"{target.network}\0{parent}\0{message}\0{self.next_id()}".encode()
            sha = hashlib.sha1(seed + b"".join(tree.get(p, b"") for p in sorted(tree))).hexdigest()
            self.commits[sha] = Commit(sha, tree, parents, target.network, message)
            if branch is not None:
                target.branches[branch] = sha
            return sha

    def set_branch(self, repo: str, branch: str, sha: str) -> None:
        with self.lock:
            self.repo(repo).branches[branch] = sha

    def resolve_ref(self, repo: Repo, ref: str | None) -> str | None:
        """Commit sha for a branch, "refs/heads/x", "refs/pull/N/head", or a full or short sha."""
        ref = ref or repo.default_branch
        name = ref.removeprefix("refs/heads/").removeprefix("heads/")
        if name in repo.branches:
            return repo.branches[name]
        pull_ref = ref.removeprefix("refs/").split("/")
        if len(pull_ref) == 3 and pull_ref[0] == "pull" and pull_ref[2] in ("head", "merge"):
            pr = self.pulls.get((repo.full_name.lower(), int(pull_ref[1]))) if pull_ref[1].isdigit() else None
            return pr.head_sha if pr else None
        if len(ref) >= 7 and all(c in "0123456789abcdef" for c in ref):
            found = [
                sha for sha, c in self.commits.items() if sha.startswith(ref) and c.network == repo.network
            ]
            return found[0] if len(found) == 1 else None
        return None

    def merge_base(self, base: str, head: str) -> str:
        """The nearest common ancestor of two commits (`base` itself when there is none)."""
        ancestors: set[str] = set()
        todo = [base]
        while todo:
            sha = todo.pop()
            if sha not in ancestors:
                ancestors.add(sha)
                todo.extend(self.commits[sha].parents)
        todo = [head]
        seen: set[str] = set()
        while todo:
            sha = todo.pop(0)
            if sha in ancestors:
                return sha
            if sha not in seen:
                seen.add(sha)
                todo.extend(self.commits[sha].parents)
        return base

    def diff(self, base_sha: str, head_sha: str) -> list[FileChange]:
        """Files changed from the merge base of the two commits to `head_sha` (three-dot diff)."""
        with self.lock:
            key = (base_sha, head_sha)
            if key not in self._diffs:
                start = self.merge_base(base_sha, head_sha)
                self._diffs[key] = diff_trees(self.commits[start].files, self.commits[head_sha].files)
            return self._diffs[key]

    def check_suite_id(self, repo: Repo, head_sha: str, app: App) -> int:
        """GitHub keeps one check suite per repository, commit and App."""
        with self.lock:
            return self.check_suites.setdefault((repo.id, head_sha, app.id), self.next_id())

    # -- pull requests, issues, collaborators --------------------------------------------------

    def open_pull(
        self,
        repo: str,
        head_sha: str,
        base_sha: str | None = None,
        *,
        head_ref: str = "feature",
        base_ref: str | None = None,
        user: str = "octocat",
        title: str = "Change things",
        body: str | None = None,
        draft: bool = False,
        head_repo: str | None = None,
    ) -> PullRequest:
        """A pull request; `head_repo` names a fork for a cross-repository PR.

        `base_sha` defaults to the tip of `base_ref` (default: the repository's default branch).
        The head branch is set to `head_sha` in the head repository.
        """
        with self.lock:
            target = self.repo(repo)
            source = self.repo(head_repo) if head_repo else target
            base_ref = base_ref or target.default_branch
            base_sha = base_sha or target.branches[base_ref]
            source.branches[head_ref] = head_sha
            number, target.next_number = target.next_number, target.next_number + 1
            pid = self.next_id()
            pr = PullRequest(
                target, number, pid, node_id("PR", pid), self.add_user(user), title, body,
                source, head_ref, head_sha, base_ref, base_sha, draft=draft,
            )  # fmt: skip
            self.pulls[(target.full_name.lower(), number)] = pr
            return pr

    def pull(self, repo: str, number: int) -> PullRequest:
        return self.pulls[(repo.lower(), number)]

    def push(self, pr: PullRequest, new_head_sha: str) -> str:
        """Move the PR head (and its branch) to `new_head_sha`; returns the previous head sha.

        The review comments follow their lines to the new head, or become outdated."""
        with self.lock:
            old, pr.head_sha = pr.head_sha, new_head_sha
            pr.head_repo.branches[pr.head_ref] = new_head_sha
            pr.updated_at = now()
            follow_push(self.review_comments(pr), self.commits[old].files, self.commits[new_head_sha].files)
            return old

    def close_pull(self, pr: PullRequest, merged: bool = False) -> None:
        with self.lock:
            pr.state, pr.merged, pr.closed_at = "closed", merged, now()

    def add_issue(self, repo: str, title: str = "Something broke", user: str = "octocat") -> Issue:
        with self.lock:
            target = self.repo(repo)
            number, target.next_number = target.next_number, target.next_number + 1
            iid = self.next_id()
            issue = Issue(target, number, iid, title, self.add_user(user), None, node_id("I", iid))
            self.issues[(target.full_name.lower(), number)] = issue
            return issue

    def add_collaborator(self, repo: str, login: str, role: str = "write") -> User:
        """Give `login` a role: admin, maintain, write, triage or read."""
        if role not in ROLES:
            raise ValueError(f"role {role!r} is not one of {ROLES}")
        with self.lock:
            who = self.add_user(login)
            self.repo(repo).collaborators[login.lower()] = role
            return who

    def role_of(self, repo: Repo, login: str) -> str | None:
        """The user's role on the repository; the owner of a user-owned repository is admin."""
        if repo.owner.type == "User" and repo.owner.login.lower() == login.lower():
            return "admin"
        return repo.collaborators.get(login.lower())

    def refuse_lines(self, repo: str, path: str, lines: Iterable[int]) -> None:
        """Answer "Line could not be resolved" for comments on these lines of `path` (any side).

        For tests of GitHub disagreeing with the App's idea of the diff.
        """
        with self.lock:
            self.refused.setdefault((repo.lower(), path), set()).update(lines)

    def add_issue_comment(self, repo: str, number: int, body: str, user: str = "octocat") -> IssueComment:
        """A comment by someone else on an issue or PR (as a webhook would announce it)."""
        with self.lock:
            target = self.repo(repo)
            cid = self.next_id()
            item = IssueComment(cid, target, number, self.add_user(user), node_id("IC", cid), body)
            self.issue_comment_records[cid] = item
            return item

    # -- accessors for assertions -------------------------------------------------------------

    def check_runs(self, repo: str | None = None, head_sha: str | None = None) -> list[CheckRun]:
        with self.lock:
            return [
                run
                for run in self.check_run_records.values()
                if (repo is None or run.repo.full_name.lower() == repo.lower())
                and (head_sha is None or run.head_sha == head_sha)
            ]

    def reviews(self, pr: PullRequest) -> list[Review]:
        with self.lock:
            return [r for r in self.review_records.values() if r.pr is pr]

    def review_comments(self, pr: PullRequest) -> list[ReviewComment]:
        with self.lock:
            return [c for c in self.comment_records.values() if c.pr is pr]

    def threads(self, pr: PullRequest) -> list[Thread]:
        with self.lock:
            return [t for t in self.thread_records.values() if t.pr is pr]

    def issue_comments(self, repo: str, number: int) -> list[IssueComment]:
        with self.lock:
            return [
                c
                for c in self.issue_comment_records.values()
                if c.repo.full_name.lower() == repo.lower() and c.number == number
            ]

    def reactions(self, comment_id: int, kind: str = "issue_comment") -> list[Reaction]:
        with self.lock:
            return [r for r in self.reaction_records.values() if r.subject == (kind, comment_id)]
