"""``git diff`` for ``faultline check``, going on past the files whose objects git
cannot read (a partial or damaged clone): those are left out and reported as
skipped, and the rest of the change is checked."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from faultline.analyzers.core.plan import Skipped
from faultline.app.cli.git import GitError, git

# core.quotePath=false: git would otherwise write "caf\303\251/x.py" for a non-ASCII path.
DIFF_ARGS = (
    "-c",
    "core.quotePath=false",
    "diff",
    "--no-color",
    "--no-ext-diff",
    "-M",
    "--src-prefix=a/",
    "--dst-prefix=b/",
)
_OBJECT_ID = re.compile(r"\b(?:[0-9a-f]{64}|[0-9a-f]{40})\b")
UNREADABLE = "git cannot read it: object {oid} is missing or damaged"


@dataclass
class GitDiff:
    text: str
    skipped: list[Skipped] = field(default_factory=list)


def diff(
    root: Path, revs: Sequence[str], paths: Sequence[str], env: Mapping[str, str] | None = None
) -> GitDiff:
    """``git diff REVS -- PATHS``; with one rev it compares that commit with the
    work tree (through the index ``env`` may name), with two, the two commits."""
    spec = list(paths) or ["."]
    left_out: dict[str, str] = {}  # path -> the object that cannot be read
    owners: dict[str, list[str]] | None = None
    while True:
        excluded = [f":(exclude,literal){path}" for path in left_out]
        try:
            text = git(root, *DIFF_ARGS, *revs, "--", *spec, *excluded, env=env)
        except GitError as err:
            if owners is None:
                owners = _paths_by_object(root, revs, spec, env)
                named = _missing(root, list(owners), env)
            else:
                named = set()
            named |= set(_OBJECT_ID.findall(err.stderr))
            new = {path: oid for oid in named for path in owners.get(oid, ()) if path not in left_out}
            if not new:
                raise
            left_out.update(new)
            continue
        skipped = [Skipped(path, UNREADABLE.format(oid=oid[:12])) for path, oid in sorted(left_out.items())]
        return GitDiff(text, skipped)


def _paths_by_object(
    root: Path, revs: Sequence[str], spec: Sequence[str], env: Mapping[str, str] | None
) -> dict[str, list[str]]:
    """The objects the diff needs, with the paths they hold, from git's raw
    listing: the plumbing commands write it without reading any file's content."""
    command = ("diff-index",) if len(revs) == 1 else ("diff-tree", "-r")
    out = git(root, *command, "--raw", "-z", "--no-abbrev", *revs, "--", *spec, env=env)
    fields = out.split("\0")
    owners: dict[str, list[str]] = {}
    for status, path in zip(fields[0::2], fields[1::2], strict=False):
        for oid in status.split(" ")[2:4]:
            if oid.strip("0"):
                owners.setdefault(oid, []).append(path)
    return owners


def _missing(root: Path, oids: Sequence[str], env: Mapping[str, str] | None) -> set[str]:
    """The objects among ``oids`` git has no readable copy of (a damaged header reads as missing)."""
    if not oids:
        return set()
    out = git(root, "cat-file", "--batch-check", env=env, stdin="".join(f"{oid}\n" for oid in oids).encode())
    return {line.split(" ")[0] for line in out.split("\n") if line.endswith(" missing")}
