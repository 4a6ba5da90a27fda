"""Repository routes: the repository, file contents, git trees, a user's permission."""

from __future__ import annotations

import base64
import textwrap
from typing import Any

from . import render
from .calls import ApiError, Call, not_found, ok, route
from .faults import Reply
from .gitdata import blob_sha, is_binary, tree_entries
from .records import Commit, Repo
from .render import WEB

# Above 1 MB the contents API leaves `content` empty (encoding "none"): clients must ask for raw.
CONTENT_INLINE_LIMIT = 1024 * 1024
BASE64_LINE = 60  # GitHub wraps base64 content at 60 characters
LEGACY_PERMISSION = {
    "admin": "admin",
    "maintain": "write",
    "write": "write",
    "triage": "read",
    "read": "read",
}
# The user's `permissions` flags and the role each one needs.
ROLE_FLAGS = {"pull": "read", "triage": "triage", "push": "write", "maintain": "maintain", "admin": "admin"}
ROLE_RANK = {"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}


@route("GET", "/repos/{owner}/{repo}", needs=[("metadata", "read")])
def get_repo(call: Call) -> Reply:
    return ok(render.repository(call.api, call.the_repo(), full=True))


def _commit_at(call: Call, ref: str | None) -> Commit:
    repo = call.the_repo()
    sha = call.sim.resolve_ref(repo, ref)
    if sha is None:
        raise ApiError(404, f"No commit found for the ref {ref or repo.default_branch}")
    return call.sim.commits[sha]


@route("GET", "/repos/{owner}/{repo}/contents", needs=[("contents", "read")])
def get_root_contents(call: Call) -> Reply:
    return _contents(call, "")


@route("GET", "/repos/{owner}/{repo}/contents/{path*}", needs=[("contents", "read")])
def get_contents(call: Call) -> Reply:
    return _contents(call, call.params["path"].strip("/"))


def _contents(call: Call, path: str) -> Reply:
    ref = call.query.get("ref")
    commit = _commit_at(call, ref)
    shown_ref = ref or call.the_repo().default_branch
    accept = call.headers.get("accept", "")
    if path in commit.files:
        data = commit.files[path]
        if ".raw" in accept:
            media = "application/octet-stream" if is_binary(data) else "text/plain; charset=utf-8"
            return Reply(200, raw=data, media_type=media)
        return ok(_file_json(call, path, data, shown_ref))
    prefix = f"{path}/" if path else ""
    names = sorted({p[len(prefix) :].split("/")[0] for p in commit.files if p.startswith(prefix)})
    if not names:
        raise not_found()
    entries = [_entry_json(call, commit, prefix + name, shown_ref) for name in names]
    if ".object" in accept:
        listing = (
            _entry_json(call, commit, path, shown_ref) if path else {"type": "dir", "path": "", "name": ""}
        )
        return ok(listing | {"entries": entries})
    return ok(entries)


def _links(call: Call, path: str, sha: str, ref: str, kind: str) -> dict[str, Any]:
    full = call.the_repo().full_name
    url = f"{call.api}/repos/{full}/contents/{path}?ref={ref}"
    git = f"{call.api}/repos/{full}/git/{'blobs' if kind == 'file' else 'trees'}/{sha}"
    html = f"{WEB}/{full}/{'blob' if kind == 'file' else 'tree'}/{ref}/{path}"
    download = f"https://raw.githubusercontent.com/{full}/{ref}/{path}" if kind == "file" else None
    return {
        "url": url,
        "git_url": git,
        "html_url": html,
        "download_url": download,
        "_links": {"self": url, "git": git, "html": html},
    }


def _file_json(call: Call, path: str, data: bytes, ref: str) -> dict[str, Any]:
    sha = blob_sha(data)
    if len(data) > CONTENT_INLINE_LIMIT:
        content, encoding = "", "none"
    else:
        encoded = base64.b64encode(data).decode()
        content, encoding = (
            "\n".join(textwrap.wrap(encoded, BASE64_LINE)) + ("\n" if encoded else ""),
            "base64",
        )
    head = {
        "type": "file",
        "encoding": encoding,
        "size": len(data),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
    }
    return head | {"content": content, "sha": sha} | _links(call, path, sha, ref, "file")


def _entry_json(call: Call, commit: Commit, path: str, ref: str) -> dict[str, Any]:
    if path in commit.files:
        data = commit.files[path]
        kind, size, sha = "file", len(data), blob_sha(data)
    else:
        kind, size, sha = "dir", 0, commit.trees[path]
    head = {"type": kind, "size": size, "name": path.rsplit("/", 1)[-1], "path": path, "sha": sha}
    return head | _links(call, path, sha, ref, kind)


@route("GET", "/repos/{owner}/{repo}/git/trees/{tree_sha}", needs=[("contents", "read")])
def get_tree(call: Call) -> Reply:
    repo = call.the_repo()
    commit, folder = _find_tree(call, repo, call.params["tree_sha"])
    recursive = call.query.get("recursive") not in (None, "", "0", "false")
    base = f"{call.api}/repos/{repo.full_name}/git"
    tree = []
    for entry in tree_entries(commit.files, commit.trees, folder, recursive):
        item: dict[str, Any] = {"path": entry.path, "mode": entry.mode, "type": entry.type, "sha": entry.sha}
        if entry.size is not None:
            item["size"] = entry.size
        item["url"] = f"{base}/{'blobs' if entry.type == 'blob' else 'trees'}/{entry.sha}"
        tree.append(item)
    sha = commit.trees[folder]
    return ok({"sha": sha, "url": f"{base}/trees/{sha}", "tree": tree, "truncated": False})


def _find_tree(call: Call, repo: Repo, wanted: str) -> tuple[Commit, str]:
    sha = call.sim.resolve_ref(repo, wanted)
    if sha is not None:
        return call.sim.commits[sha], ""
    for commit in call.sim.commits.values():
        if commit.network != repo.network:
            continue
        for folder, tree_sha in commit.trees.items():
            if tree_sha == wanted:
                return commit, folder
    raise not_found()


@route("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission", needs=[("metadata", "read")])
def get_permission(call: Call) -> Reply:
    repo = call.the_repo()
    who = call.sim.users.get(call.params["username"].lower())
    if who is None:
        raise not_found()
    role = call.sim.role_of(repo, who.login)
    # Anyone can read a public repository; on a private one a stranger has no access.
    role = role or ("none" if repo.private else "read")
    legacy = LEGACY_PERMISSION.get(role, "none")
    flags = {flag: ROLE_RANK[role] >= ROLE_RANK[needed] for flag, needed in ROLE_FLAGS.items()}
    user = render.user(call.api, who) | {"permissions": flags, "role_name": role}
    return ok({"permission": legacy, "role_name": role, "user": user})
