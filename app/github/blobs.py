"""How big a file is, and what a folder holds, before anything is downloaded.

GitHub's GraphQL API answers ``object(expression: "<sha>:<path>")`` with the blob's
``byteSize`` and ``isBinary``, or a tree's entries, without sending the content. One
query asks for up to BATCH paths under aliases; the paths travel as variables, so no
name, however odd, is ever part of a URL or of the query text. What GitHub cannot
answer for one path (an error on its alias) is UNKNOWN: the read that follows is
still capped, so an unknown size costs at most the cap.

Asked with ``text_limit``, the same query brings the files' contents too (``text``): one
query reads BATCH files, where REST takes a request per file. GitHub sends no text for a
binary blob nor for one too large for GraphQL (``isTruncated``), and text is UTF-8 decoded;
the content is kept only when it is the file's exact bytes (the git object id of the
encoded text is the blob's ``oid``). Whatever came without it is read over REST.
"""

from __future__ import annotations

import hashlib
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
CONTENT_FRAGMENT = """
fragment entry on GitObject {
  __typename
  oid
  ... on Blob { byteSize isBinary isTruncated text }
  ... on Tree { entries { name type object { __typename ... on Blob { byteSize isBinary } } } }
}
"""


@dataclass(frozen=True)
class Blob:
    size: int
    binary: bool = False
    data: bytes | None = field(default=None, repr=False)  # the content, when GraphQL sent it whole


@dataclass(frozen=True)
class Folder:
    files: Mapping[str, Blob] = field(default_factory=dict)  # path -> the file directly inside


class Unknown(Enum):
    UNKNOWN = "unknown"


UNKNOWN = Unknown.UNKNOWN
# None: nothing at that path (or a submodule, a symlink to a folder: nothing to read).
Found = Blob | Folder | Unknown | None
Spec = tuple[str, str]  # (commit sha, repository path; "" for the root folder)


@dataclass
class TextBudget:
    """How much content a look-up may keep: per file (the read cap) and in all (the run's budget)."""

    per_file: int
    left: int

    def keep(self, data: bytes) -> bytes | None:
        if len(data) > self.per_file or len(data) > self.left:
            return None
        self.left -= len(data)
        return data


async def look_up(
    client: InstallationClient,
    owner: str,
    repo: str,
    specs: Sequence[Spec],
    text: TextBudget | None = None,
    batch_size: int = BATCH,
) -> dict[Spec, Found]:
    """What each (sha, path) is, in batches of ``batch_size`` aliases; with ``text``, the
    contents of the files too (as much as the budget keeps)."""
    wanted = list(dict.fromkeys(specs))
    found: dict[Spec, Found] = {}
    size = max(1, batch_size)
    for start in range(0, len(wanted), size):
        batch = wanted[start : start + size]
        found.update(await _look_up_batch(client, owner, repo, batch, text))
    return found


def query_for(count: int, with_text: bool = False) -> str:
    """The query for ``count`` expressions ``$e0``... under aliases ``f0``..."""
    variables = "".join(f", $e{n}: String!" for n in range(count))
    fields = "\n".join(f"    f{n}: object(expression: $e{n}) {{ ...entry }}" for n in range(count))
    head = f"query($owner: String!, $name: String!{variables}) {{"
    fragment = CONTENT_FRAGMENT if with_text else ENTRY_FRAGMENT
    return f"{head}\n  repository(owner: $owner, name: $name) {{\n{fields}\n  }}\n}}\n{fragment}"


async def _look_up_batch(
    client: InstallationClient, owner: str, repo: str, batch: Sequence[Spec], text: TextBudget | None
) -> dict[Spec, Found]:
    variables: dict[str, object] = {"owner": owner, "name": repo}
    variables.update({f"e{n}": f"{sha}:{path}" for n, (sha, path) in enumerate(batch)})
    failed: set[str] = set()
    try:
        data: Any = await client.graphql(query_for(len(batch), text is not None), variables)
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
            found[(sha, path)] = _parsed(path, repository[alias], text)
    return found


def _parsed(path: str, value: Any, text: TextBudget | None = None) -> Found:
    if not isinstance(value, dict):
        return None
    kind = value.get("__typename")
    if kind == "Blob":
        blob = _blob(value)
        content = _content(value) if text is not None and blob is not None else None
        kept = None if content is None or text is None else text.keep(content)
        return blob if blob is None or kept is None else Blob(blob.size, blob.binary, kept)
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


def _content(value: Any) -> bytes | None:
    """The blob's bytes from its ``text``, None unless they are exactly the file's."""
    text = value.get("text")
    if not isinstance(text, str) or value.get("isBinary") or value.get("isTruncated"):
        return None
    data = text.encode("utf-8", "surrogatepass")
    if len(data) != value.get("byteSize") or _git_blob_id(data) != value.get("oid"):
        return None  # not UTF-8 (decoded with replacements): the REST read gives the bytes
    return data


def _git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
