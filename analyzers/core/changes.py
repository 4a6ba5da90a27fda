"""Which lines a change adds, read from unified diffs.

A ChangeSet answers two questions per file: is this new-side line added (rules
report only there), and is it inside a hunk (GitHub accepts inline review
comments only there). ``--all`` mode builds a ChangeSet in which every line of
every file counts as added.
"""

from __future__ import annotations

import codecs
import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

# unidiff is imported where a diff is parsed: ``check --all`` reads none.
if TYPE_CHECKING:
    from unidiff.patch import Hunk, PatchedFile


class FileStatus(enum.StrEnum):
    ADDED = "added"
    MODIFIED = "modified"
    RENAMED = "renamed"
    REMOVED = "removed"
    BINARY = "binary"


class DiffError(ValueError):
    """The text given as a diff is not a unified diff."""


@dataclass(frozen=True)
class FileChange:
    path: str
    status: FileStatus
    old_path: str | None = None
    added_lines: frozenset[int] = frozenset()
    hunks: tuple[tuple[int, int], ...] = ()
    whole_file: bool = False
    # Base-side numbers of the lines the change removed or rewrote.
    removed_lines: frozenset[int] = frozenset()
    # (new-side start, new-side length, old-side lines) per hunk: enough to
    # rebuild the base version from the new one when only a diff is given.
    hunk_sources: tuple[tuple[int, int, tuple[str, ...]], ...] = field(default=(), compare=False, repr=False)
    # (new-side number, text) of the hunks' added and context lines, to check that
    # a diff given from elsewhere describes the files on disk.
    hunk_targets: tuple[tuple[int, str], ...] = field(default=(), compare=False, repr=False)

    def is_added(self, line: int) -> bool:
        return self.whole_file or line in self.added_lines

    def any_added(self, first: int, last: int) -> bool:
        if self.whole_file:
            return True
        return any(line in self.added_lines for line in range(first, last + 1))

    def first_mismatch(self, new_lines: list[str]) -> int | None:
        """The first new-side line the hunks expect that ``new_lines`` does not have."""
        for number, text in self.hunk_targets:
            if number > len(new_lines) or new_lines[number - 1] != text:
                return number
        return None

    def any_removed(self, first: int, last: int) -> bool:
        """Whether the change removed or rewrote any of these base-side lines."""
        return any(line in self.removed_lines for line in range(first, last + 1))

    def in_hunk(self, line: int) -> bool:
        """True when GitHub would accept an inline comment on this new-side line."""
        return any(start <= line <= end for start, end in self.hunks)

    def base_text(self, new_text: str) -> str | None:
        """The file before the change, rebuilt by undoing each hunk on ``new_text``."""
        if self.status is FileStatus.ADDED:
            return None
        # The hunks count lines as git does, at "\n" alone (a "\r\n" line keeps its
        # "\r"); str.splitlines would also break at form feeds and shift every hunk below.
        lines = _git_lines(new_text)
        for start, length, old_lines in reversed(self.hunk_sources):
            first = start - 1 if length else start
            lines[first : first + length] = list(old_lines)
        return "".join(lines)

    @property
    def base_path(self) -> str:
        return self.old_path or self.path

    @property
    def has_new_content(self) -> bool:
        return self.status not in (FileStatus.REMOVED, FileStatus.BINARY)


@dataclass
class ChangeSet:
    files: dict[str, FileChange] = field(default_factory=dict)
    whole_files: bool = False

    def __iter__(self) -> Iterator[FileChange]:
        return iter(self.files.values())

    def __len__(self) -> int:
        return len(self.files)

    def get(self, path: str) -> FileChange | None:
        return self.files.get(path)

    @property
    def paths(self) -> list[str]:
        return list(self.files)

    @classmethod
    def from_diff(cls, text: str) -> ChangeSet:
        """Parse ``git diff`` output (several files, with headers)."""
        if not text.strip():
            return cls()
        from unidiff.errors import UnidiffParseError
        from unidiff.patch import PatchSet

        try:
            patch = PatchSet(text)
        except UnidiffParseError as err:
            raise DiffError(f"not a unified diff: {err}") from None
        if not len(patch) and text.strip():
            raise DiffError("not a unified diff: no file headers found")
        return cls({change.path: change for change in map(_file_change, patch)})

    @classmethod
    def whole(cls, paths: Iterable[str]) -> ChangeSet:
        """Every line of every file counts as added (``--all``)."""
        files = {path: FileChange(path=path, status=FileStatus.ADDED, whole_file=True) for path in paths}
        return cls(files, whole_files=True)


def file_change_from_patch(
    path: str, patch: str, status: FileStatus, old_path: str | None = None
) -> FileChange:
    """Parse one file's hunks as GitHub's pull request files API gives them."""
    header = f"--- a/{old_path or path}\n+++ b/{path}\n"
    body = patch if patch.endswith("\n") else patch + "\n"
    from unidiff.errors import UnidiffParseError
    from unidiff.patch import PatchSet

    try:
        parsed = PatchSet(header + body)
    except UnidiffParseError as err:
        raise DiffError(f"{path}: not a unified diff: {err}") from None
    hunks = list(parsed[0]) if len(parsed) else []
    return FileChange(
        path=path,
        status=status,
        old_path=old_path,
        added_lines=_added_lines(hunks),
        removed_lines=_removed_lines(hunks),
        hunks=_hunk_ranges(hunks),
        hunk_sources=_hunk_sources(hunks),
    )


def diff_texts(path: str, old: str | None, new: str, old_path: str | None = None) -> FileChange:
    """The FileChange between two versions of a file (for when no patch is given)."""
    if old is None:
        lines = new.split("\n")
        lines = lines[:-1] if lines and not lines[-1] else lines
        return FileChange(
            path=path,
            status=FileStatus.ADDED,
            added_lines=frozenset(range(1, len(lines) + 1)),
            hunks=((1, len(lines)),) if lines else (),
        )
    import difflib

    patch = "".join(
        line if line.endswith("\n") else line + "\n"
        # git splits lines on "\n" alone; str.splitlines would also split on form feeds.
        for line in difflib.unified_diff(_git_lines(old), _git_lines(new), n=3)
    )
    status = FileStatus.RENAMED if old_path and old_path != path else FileStatus.MODIFIED
    if not patch:
        return FileChange(path=path, status=status, old_path=old_path)
    body = patch.split("\n", 2)[2]  # drop difflib's ---/+++ header
    return file_change_from_patch(path, body, status, old_path)


def _git_lines(text: str) -> list[str]:
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    return [*lines, parts[-1]] if parts[-1] else lines


def _file_change(patched: PatchedFile) -> FileChange:
    path = _strip_prefix(patched.target_file if not patched.is_removed_file else patched.source_file)
    old_path = _strip_prefix(patched.source_file) if patched.is_rename else None
    return FileChange(
        path=path,
        status=_status(patched),
        old_path=old_path,
        added_lines=_added_lines(patched),
        removed_lines=_removed_lines(patched),
        hunks=_hunk_ranges(patched),
        hunk_sources=_hunk_sources(patched),
        hunk_targets=_hunk_targets(patched),
    )


def _status(patched: PatchedFile) -> FileStatus:
    if patched.is_binary_file:
        return FileStatus.BINARY
    if patched.is_removed_file:
        return FileStatus.REMOVED
    if patched.is_added_file:
        return FileStatus.ADDED
    if patched.is_rename:
        return FileStatus.RENAMED
    return FileStatus.MODIFIED


def _hunk_targets(hunks: Iterable[Hunk]) -> tuple[tuple[int, str], ...]:
    return tuple(
        (line.target_line_no, line.value.rstrip("\r\n"))
        for hunk in hunks
        for line in hunk
        if (line.is_added or line.is_context) and line.target_line_no is not None
    )


def _removed_lines(hunks: Iterable[Hunk]) -> frozenset[int]:
    return frozenset(
        line.source_line_no
        for hunk in hunks
        for line in hunk
        if line.is_removed and line.source_line_no is not None
    )


def _added_lines(hunks: Iterable[Hunk]) -> frozenset[int]:
    return frozenset(
        line.target_line_no
        for hunk in hunks
        for line in hunk
        if line.is_added and line.target_line_no is not None
    )


def _hunk_ranges(hunks: Iterable[Hunk]) -> tuple[tuple[int, int], ...]:
    return tuple(
        (hunk.target_start, hunk.target_start + hunk.target_length - 1)
        for hunk in hunks
        if hunk.target_length > 0
    )


def _hunk_sources(hunks: Iterable[Hunk]) -> tuple[tuple[int, int, tuple[str, ...]], ...]:
    return tuple((hunk.target_start, hunk.target_length, _old_lines(hunk)) for hunk in hunks)


def _old_lines(hunk: Hunk) -> tuple[str, ...]:
    """The hunk's old side; ``\\ No newline at end of file`` after an old line
    means that line had no newline."""
    from unidiff.constants import LINE_TYPE_NO_NEWLINE

    lines: list[str] = []
    previous_was_old = False
    for line in hunk:
        if line.is_context or line.is_removed:
            lines.append(line.value)
            previous_was_old = True
        elif line.line_type == LINE_TYPE_NO_NEWLINE:
            if previous_was_old and lines:
                lines[-1] = lines[-1].removesuffix("\n")
        else:
            previous_was_old = False
    return tuple(lines)


def _strip_prefix(name: str) -> str:
    if len(name) > 1 and name[0] == name[-1] == '"':
        # git quotes a path with unusual bytes, C-style: "b/caf\303\251.py"
        raw = codecs.escape_decode(name[1:-1].encode("utf-8", "surrogateescape"))[0]
        # Bytes that are not UTF-8 stay surrogate escapes, as the rest of the diff's text holds them.
        name = raw.decode("utf-8", "surrogateescape")
    for prefix in ("a/", "b/"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name
