"""How big a file is, and what a folder holds, before anything is downloaded.

GitHub's GraphQL API answers ``object(expression: "<sha>:<path>")`` with the blob's
``byteSize`` and ``isBinary``, or a tree's entries, without sending the content. One
query asks for up to BATCH paths under aliases; the paths travel as variables, so no
name, however odd, is ever part of a URL or of the query text. What GitHub cannot
answer for one path (an error on its alias) is UNKNOWN: the read that follows is
still capped, so an unknown size costs at most the cap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from githubkit.exception import GraphQLFailed

from faultline.app.github.client import InstallationClient

# Aliases per query: small enough to stay far below GitHub's node and time limits.
BATCH = 50

ENTRY_FRAGMENT = """
fragment entry on GitObject {
  __typename
  ... on Blob { byteSize isBinary }
  ... on Tree { entries { name type object { __typename ... on Blob { byteSize isBinary } } } }
}
"""


@dataclass(frozen=True)
class Blob:
    size: int
    binary: bool = False


@dataclass(frozen=True)
class Folder:
    files: Mapping[str, Blob] = field(default_factory=dict)  # path -> the file directly inside


class Unknown(Enum):
    UNKNOWN = "unknown"


UNKNOWN = Unknown.UNKNOWN
# None: nothing at that path (or a submodule, a symlink to a folder: nothing to read).
Found = Blob | Folder | Unknown | None
Spec = tuple[str, str]  # (commit sha, repository path; "" for the root folder)


async def look_up(
    client: InstallationClient, owner: str, repo: str, specs: Sequence[Spec]
) -> dict[Spec, Found]:
    """What each (sha, path) is, in batches of BATCH aliases."""
    wanted = list(dict.fromkeys(specs))
    found: dict[Spec, Found] = {}
    for start in range(0, len(wanted), BATCH):
        batch = wanted[start : start + BATCH]
        found.update(await _look_up_batch(client, owner, repo, batch))
    return found


def query_for(count: int) -> str:
    """The query for ``count`` expressions ``$e0``... under aliases ``f0``..."""
    variables = "".join(f", $e{n}: String!" for n in range(count))
    fields = "\n".join(f"    f{n}: object(expression: $e{n}) {{ ...entry }}" for n in range(count))
    head = f"query($owner: String!, $name: String!{variables}) {{"
    return f"{head}\n  repository(owner: $owner, name: $name) {{\n{fields}\n  }}\n}}\n{ENTRY_FRAGMENT}"


async def _look_up_batch(
    client: InstallationClient, owner: str, repo: str, batch: Sequence[Spec]
) -> dict[Spec, Found]:
    variables: dict[str, object] = {"owner": owner, "name": repo}
    variables.update({f"e{n}": f"{sha}:{path}" for n, (sha, path) in enumerate(batch)})
    failed: set[str] = set()
    try:
        data: Any = await client.graphql(query_for(len(batch)), variables)
    except GraphQLFailed as err:
        # Partial data: the aliases GitHub could answer are there, the others failed.
        data = err.response.data or {}
        failed = {str(step) for error in err.response.errors or [] for step in (error.path or [])}
    repository = data.get("repository") if isinstance(data, dict) else None
    if not isinstance(repository, dict):
        return dict.fromkeys(batch, UNKNOWN)
    found: dict[Spec, Found] = {}
    for n, (sha, path) in enumerate(batch):
        alias = f"f{n}"
        if alias in failed or alias not in repository:
            found[(sha, path)] = UNKNOWN
        else:
            found[(sha, path)] = _parsed(path, repository[alias])
    return found


def _parsed(path: str, value: Any) -> Found:
    if not isinstance(value, dict):
        return None
    kind = value.get("__typename")
    if kind == "Blob":
        return _blob(value)
    if kind != "Tree":
        return None
    prefix = f"{path}/" if path else ""
    files = {}
    for entry in value.get("entries") or []:
        blob = _blob(entry.get("object")) if entry.get("type") == "blob" else None
        if blob is not None:
            files[prefix + entry["name"]] = blob
    return Folder(files)


def _blob(value: Any) -> Blob | None:
    if not isinstance(value, dict) or not isinstance(value.get("byteSize"), int):
        return None
    return Blob(value["byteSize"], bool(value.get("isBinary")))
