"""What ``faultline check`` looks at on this machine: a ChangeSet and a RepoView
built from a git work tree, a folder, or a diff."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from faultline.analyzers.core.changes import ChangeSet, FileChange, FileStatus, diff_texts
from faultline.analyzers.core.plan import Skipped
from faultline.analyzers.core.repo import RepoView
from faultline.analyzers.core.source import split_lines
from faultline.app.cli.git import FilesystemView, GitError, GitRepoView, git
from faultline.app.cli.gitdiff import GitDiff, diff

_SKIP_DIRS = {".git", ".hg", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".nox", "build", "dist"}


class UsageError(Exception):
    """Something the user asked for cannot be done; the message says what."""


# actions/checkout clones one commit deep by default: the merge base is not missing, only not fetched.
SHALLOW_HINT = "fetch more history (`git fetch --unshallow`, or `fetch-depth: 0` on actions/checkout)"
SHALLOW_NO_MERGE_BASE = (
    "--base: this shallow clone holds no commit common to {base!r} and {head}: " + SHALLOW_HINT
)
SHALLOW_UNKNOWN = "--base: unknown revision {base!r}: this clone is shallow; " + SHALLOW_HINT


@dataclass
class Workspace:
    root: Path
    changes: ChangeSet
    repo: RepoView
    # Changed files left out before the engine runs (git cannot read them).
    skipped: list[Skipped] = field(default_factory=list)


def find_root(start: Path) -> tuple[Path, bool]:
    """The git top-level folder above ``start`` (and True), or ``start`` itself."""
    try:
        top = git(start, "rev-parse", "--show-toplevel").strip()
    except (GitError, FileNotFoundError):
        return start.resolve(), False
    return Path(top), True


def uncommitted(root: Path, base: str | None, paths: Sequence[str]) -> Workspace:
    """The working tree against ``base`` (default HEAD; for a branch, its merge
    base with HEAD), uncommitted and untracked files included."""
    start = _base_commit(root, base)
    if start is None:
        files = _listed_files(root, paths)
        return Workspace(root, _all_added(root, files), GitRepoView(root, None))
    # pre-commit stashes unstaged changes but leaves untracked files: they are not being committed.
    untracked = [] if os.environ.get("PRE_COMMIT") else _untracked(root, paths)
    found = _work_tree_diff(root, start, paths, untracked)
    return Workspace(root, ChangeSet.from_diff(found.text), GitRepoView(root, start), found.skipped)


def committed(root: Path, base: str, paths: Sequence[str], head_rev: str = "HEAD") -> Workspace:
    """What a pull request from ``head_rev`` into ``base`` would show: the merge base
    of the two against the head, committed work only (the work tree plays no part)."""
    head = _head_commit(root, head_rev)
    if head is None:
        said = "--base: HEAD has no commit yet" if head_rev == "HEAD" else f"unknown revision {head_rev!r}"
        raise UsageError(said)
    start = _base_commit(root, base, head_rev)
    assert start is not None  # a base was named
    found = diff(root, [start, head], paths)
    return Workspace(root, ChangeSet.from_diff(found.text), GitRepoView(root, start, head), found.skipped)


def _work_tree_diff(root: Path, start: str, paths: Sequence[str], untracked: list[str]) -> GitDiff:
    """``git diff START`` with the untracked files in it too, as intent-to-add
    entries of a throwaway copy of the index: a file moved with plain ``mv``
    then reads as a rename, not as a new file, and nothing is written to the
    repository (no blob, no change to the real index)."""
    if not untracked:
        return diff(root, [start], paths)
    with tempfile.TemporaryDirectory(prefix="faultline-") as scratch:
        index = Path(scratch) / "index"
        real_index = root / git(root, "rev-parse", "--git-path", "index").strip()
        if real_index.is_file():
            shutil.copyfile(real_index, index)
        env = {"GIT_INDEX_FILE": str(index)}
        names = "\0".join(untracked).encode("utf-8", errors="surrogateescape")
        git(
            root,
            "--literal-pathspecs",  # a file named ":(glob)*" is that file
            "add",
            "--intent-to-add",
            "--pathspec-from-file=-",
            "--pathspec-file-nul",
            env=env,
            stdin=names,
        )
        return diff(root, [start], paths, env=env)


def whole_files(root: Path, in_git: bool, paths: Sequence[str]) -> Workspace:
    files = _listed_files(root, paths) if in_git else _walk(root, paths)
    return Workspace(root, ChangeSet.whole(files), FilesystemView(root))


def from_diff(root: Path, diff_text: str, paths: Sequence[str] = ()) -> Workspace:
    """A diff from anywhere; new side: the files here; base: the diff undone."""
    if re.search(r"^\+\+\+ [^\n]*\r$", diff_text, re.MULTILINE):
        diff_text = diff_text.replace("\r\n", "\n")  # a diff saved with CRLF endings
    changes = ChangeSet.from_diff(diff_text)
    if paths and "." not in paths:
        changes.files = {p: c for p, c in changes.files.items() if _under(p, paths)}
    for change in changes:
        _check_new_side(root, change)
    return Workspace(root, changes, _UndoneDiffView(root, changes))


def _check_new_side(root: Path, change: FileChange) -> None:
    """A diff's findings are placed on the files here: they must be its new side."""
    if not change.has_new_content:
        return
    try:
        text = (root / change.path).read_bytes().decode("utf-8", errors="surrogateescape")
    except OSError:
        raise UsageError(f"--diff: {change.path} is not here: check out the diff's new side") from None
    line = change.first_mismatch(split_lines(text))
    if line is not None:
        raise UsageError(
            f"--diff: {change.path} line {line} is not what the diff says: check out its new side"
        )


def _under(path: str, folders: Sequence[str]) -> bool:
    return any(path == folder or path.startswith(folder.rstrip("/") + "/") for folder in folders)


class _UndoneDiffView(FilesystemView):
    def __init__(self, root: Path, changes: ChangeSet) -> None:
        super().__init__(root)
        self.changes = changes

    def read_base(self, path: str) -> bytes | None:
        change = next((c for c in self.changes if c.base_path == path), None)
        new = self.read_new(change.path if change else path)
        if new is None:
            return None
        if change is None:
            return new
        text = change.base_text(new.decode("utf-8", errors="surrogateescape"))
        return None if text is None else text.encode("utf-8", errors="surrogateescape")


def _head_commit(root: Path, rev: str = "HEAD") -> str | None:
    try:
        return git(root, "rev-parse", "--verify", "-q", f"{rev}^{{commit}}").strip()
    except GitError:
        return None  # a repository with no commit yet: everything is new


def _base_commit(root: Path, base: str | None, head: str = "HEAD") -> str | None:
    if base is None:
        return _head_commit(root)
    try:
        git(root, "rev-parse", "--verify", "-q", f"{base}^{{commit}}")
    except GitError:
        if is_shallow(root):
            raise UsageError(SHALLOW_UNKNOWN.format(base=base)) from None
        raise UsageError(f"--base: unknown revision {base!r}") from None
    try:
        return git(root, "merge-base", base, head).strip()
    except GitError:
        if is_shallow(root):
            raise UsageError(SHALLOW_NO_MERGE_BASE.format(base=base, head=head)) from None
        raise UsageError(f"--base: {base!r} has no common history with {head}") from None


def is_shallow(root: Path) -> bool:
    try:
        return git(root, "rev-parse", "--is-shallow-repository").strip() == "true"
    except GitError:
        return False


def _untracked(root: Path, paths: Sequence[str]) -> list[str]:
    out = git(root, "ls-files", "-z", "--others", "--exclude-standard", "--", *(paths or ["."]))
    # "vendor/lib/": a repository of its own (a clone in a subfolder), not this one's change;
    # git refuses to add one that has no commit yet.
    return [path for path in out.split("\0") if path and not path.endswith("/")]


def _listed_files(root: Path, paths: Sequence[str]) -> list[str]:
    out = git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *(paths or ["."]))
    # A symlink may point out of the repository: its target is not this change's code.
    return [
        path
        for path in dict.fromkeys(out.split("\0"))
        if path and (root / path).is_file() and not (root / path).is_symlink()
    ]


def _walk(root: Path, paths: Sequence[str]) -> list[str]:
    found: list[str] = []
    for start in [root / path for path in paths] or [root]:
        if start.is_file():
            found.append(start.relative_to(root).as_posix())
            continue
        base = start.relative_to(root).as_posix()
        _walk_folder(str(start), "" if base == "." else f"{base}/", found)
    return found


def _walk_folder(folder: str, prefix: str, found: list[str]) -> None:
    """The files under ``folder`` in the order of ``os.walk`` (the folder's own files, sorted,
    then each subfolder's), symlinks left out. One ``scandir`` per folder tells files, folders
    and links apart: no stat call and no Path object per file, on projects of thousands."""
    try:
        with os.scandir(folder) as listing:
            entries = list(listing)
    except OSError:
        return  # as os.walk does: an unreadable folder is skipped
    files: list[str] = []
    folders: dict[str, os.DirEntry[str]] = {}
    for entry in entries:
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            folders[entry.name] = entry
        elif not entry.is_symlink():
            files.append(entry.name)
    found.extend(prefix + name for name in sorted(files))
    # Hidden folders are tool caches, except .github, where workflows live.
    for name in sorted(folders):
        if name in _SKIP_DIRS or (name.startswith(".") and name != ".github"):
            continue
        if not folders[name].is_symlink():  # a link to a folder is not followed
            _walk_folder(folders[name].path, f"{prefix}{name}/", found)


def _all_added(root: Path, files: Iterable[str]) -> ChangeSet:
    return ChangeSet({path: _added_file(root, path) for path in files})


def _added_file(root: Path, path: str) -> FileChange:
    try:
        data = (root / path).read_bytes()
    except OSError:
        return FileChange(path=path, status=FileStatus.ADDED)
    if b"\0" in data[:8000]:
        return FileChange(path=path, status=FileStatus.BINARY)
    return diff_texts(path, None, data.decode("utf-8", errors="replace"))
