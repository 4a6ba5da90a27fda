"""GraphQL's ``Repository.object(expression:, oid:)``: Git objects by rev-parse expression.

``"<rev>:<path>"`` names a blob or a tree at a commit (``"<rev>:"`` its root tree),
``"<rev>"`` the commit itself. Anything that does not resolve is null, as on GitHub:
no error, so one missing path does not spoil the other aliases of a query.
A blob's ``text`` is null when it is binary, and when it is larger than
``GitHubSim.graphql_text_limit`` (then ``isTruncated`` is true): such files are read over REST.
"""

from __future__ import annotations

import base64
from typing import Any

from .gitdata import blob_sha, is_binary
from .records import Commit, Repo
from .state import GitHubSim

BLOB_MODE = 0o100644
TREE_MODE = 0o040000


def find(sim: GitHubSim, repo: Repo, expression: str | None, oid: str | None) -> dict[str, Any] | None:
    if expression is None:
        return _by_oid(sim, repo, oid) if oid else None
    rev, colon, path = expression.partition(":")
    sha = sim.resolve_ref(repo, rev or None)
    if sha is None:
        return None
    commit = sim.commits[sha]
    if not colon:
        return _commit(commit)
    return _at(commit, path.strip("/"), sim.graphql_text_limit)


def _at(commit: Commit, path: str, limit: int) -> dict[str, Any] | None:
    if path in commit.files:
        return _blob(commit.files[path], limit)
    if path in commit.trees:
        return _tree(commit, path, limit)
    return None


def _commit(commit: Commit) -> dict[str, Any]:
    return {"__typename": "Commit", "id": _node_id("C", commit.sha), "oid": commit.sha}


def _blob(data: bytes, limit: int) -> dict[str, Any]:
    sha = blob_sha(data)
    binary = is_binary(data)
    truncated = len(data) > limit
    return {
        "__typename": "Blob",
        "id": _node_id("B", sha),
        "oid": sha,
        "byteSize": len(data),
        "isBinary": binary,
        "isTruncated": truncated,
        "text": None if binary or truncated else data.decode("utf-8", "replace"),
    }


def _tree(commit: Commit, folder: str, limit: int) -> dict[str, Any]:
    prefix = f"{folder}/" if folder else ""
    names: dict[str, str] = {}
    for path in commit.files:
        if path.startswith(prefix):
            rest = path[len(prefix) :]
            name, slash, _ = rest.partition("/")
            names[name] = "tree" if slash else "blob"

    def entries(_info: Any) -> list[dict[str, Any]]:
        return [_entry(commit, prefix + name, name, kind, limit) for name, kind in sorted(names.items())]

    sha = commit.trees[folder]
    return {"__typename": "Tree", "id": _node_id("T", sha), "oid": sha, "entries": entries}


def _entry(commit: Commit, path: str, name: str, kind: str, limit: int) -> dict[str, Any]:
    if kind == "blob":
        data = commit.files[path]
        sha, size, mode = blob_sha(data), len(data), BLOB_MODE
    else:
        sha, size, mode = commit.trees[path], 0, TREE_MODE

    def target(_info: Any) -> dict[str, Any]:
        return _blob(commit.files[path], limit) if kind == "blob" else _tree(commit, path, limit)

    return {
        "name": name,
        "path": path,
        "mode": mode,
        "type": kind,
        "oid": sha,
        "size": size,
        "object": target,
    }


def _by_oid(sim: GitHubSim, repo: Repo, oid: str) -> dict[str, Any] | None:
    for commit in sim.commits.values():
        if commit.network != repo.network:
            continue
        if commit.sha == oid:
            return _commit(commit)
        for data in commit.files.values():
            if blob_sha(data) == oid:
                return _blob(data, sim.graphql_text_limit)
    return None


def _node_id(kind: str, sha: str) -> str:
    return base64.b64encode(f"0:{kind}{sha}".encode()).decode()
