"""The simulator's stored objects: plain mutable records, rendered to JSON by `render`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .gitdata import tree_shas


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class User:
    login: str
    id: int
    type: str  # "User", "Bot" or "Organization"
    node_id: str


@dataclass
class App:
    id: int
    slug: str
    name: str
    owner: User
    bot: User
    client_id: str
    client_secret: str
    webhook_secret: str
    private_pem: str
    public_pem: str
    node_id: str
    permissions: dict[str, str]
    events: list[str]
    created_at: datetime = field(default_factory=now)


@dataclass
class Installation:
    id: int
    app: App
    account: User
    repos: set[str] | None  # full names; None: every repository of the account
    permissions: dict[str, str]
    suspended: bool = False
    created_at: datetime = field(default_factory=now)

    def covers(self, full_name: str) -> bool:
        if self.repos is None:
            return full_name.split("/", 1)[0].lower() == self.account.login.lower()
        return full_name.lower() in {name.lower() for name in self.repos}


@dataclass
class Token:
    token: str
    installation: Installation
    expires_at: datetime
    repos: set[str] | None  # narrowed at mint time; None: all the installation covers
    permissions: dict[str, str]


@dataclass
class Commit:
    sha: str
    files: dict[str, bytes]
    parents: tuple[str, ...]
    network: str  # full name of the root repository of the fork network
    message: str
    trees: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.trees = tree_shas(self.files)


@dataclass
class Repo:
    id: int
    owner: User
    name: str
    node_id: str
    default_branch: str
    private: bool
    fork_of: Repo | None
    description: str | None = None
    branches: dict[str, str] = field(default_factory=dict)
    collaborators: dict[str, str] = field(default_factory=dict)  # login (lower) -> role
    created_at: datetime = field(default_factory=now)
    next_number: int = 1

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"

    @property
    def network(self) -> str:
        root = self
        while root.fork_of is not None:
            root = root.fork_of
        return root.full_name


@dataclass
class Issue:
    repo: Repo
    number: int
    id: int
    title: str
    user: User
    body: str | None
    node_id: str
    state: str = "open"
    created_at: datetime = field(default_factory=now)


@dataclass
class PullRequest:
    repo: Repo
    number: int
    id: int
    node_id: str
    user: User
    title: str
    body: str | None
    head_repo: Repo
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    draft: bool = False
    state: str = "open"
    merged: bool = False
    omit_patch: set[str] = field(default_factory=set)
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    closed_at: datetime | None = None


@dataclass
class CheckRun:
    id: int
    repo: Repo
    app: App
    name: str
    head_sha: str
    node_id: str
    status: str
    conclusion: str | None
    started_at: datetime | None
    completed_at: datetime | None
    details_url: str | None
    external_id: str | None
    title: str | None = None
    summary: str | None = None
    text: str | None = None
    annotations: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Review:
    id: int
    pr: PullRequest
    user: User
    node_id: str
    body: str
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, PENDING, DISMISSED
    commit_id: str
    submitted_at: datetime | None


@dataclass
class ReviewComment:
    id: int
    pr: PullRequest
    review_id: int
    user: User
    node_id: str
    body: str
    path: str
    commit_id: str
    diff_hunk: str
    line: int | None
    side: str | None
    start_line: int | None
    start_side: str | None
    in_reply_to: int | None
    thread_id: str
    subject_type: str = "line"
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    # Where the comment is on the pull request's head: see `tracking.follow`.
    head_line: int | None = None
    head_start_line: int | None = None
    outdated: bool = False

    def __post_init__(self) -> None:
        self.head_line, self.head_start_line = self.line, self.start_line


@dataclass
class Thread:
    node_id: str
    pr: PullRequest
    comment_ids: list[int]
    is_resolved: bool = False
    resolved_by: User | None = None


@dataclass
class IssueComment:
    id: int
    repo: Repo
    number: int
    user: User
    node_id: str
    body: str
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)


@dataclass
class Reaction:
    id: int
    subject: tuple[str, int]  # ("issue_comment" | "review_comment", comment id)
    user: User
    node_id: str
    content: str
    created_at: datetime = field(default_factory=now)


@dataclass
class RequestRecord:
    """One request the simulator answered, for assertions."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    body: Any  # the decoded JSON body, or None
    auth: str  # "jwt", "token", "none" or "invalid"
    raw_path: str = ""  # the path as sent, still percent-encoded
    at: float = 0.0  # when it arrived, on the simulator's clock (``GitHubSim.clock``, seconds)
    installation: int | None = None  # whose token it carried (or whose token it minted)
