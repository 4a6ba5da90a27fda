"""Git objects and diffs as GitHub computes them: blob and tree shas, PR file diffs, hunks."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

CONTEXT_LINES = 3
# git's default funcname heuristic copies at most this many bytes into the hunk header.
FUNCNAME_WIDTH = 80
# git treats a file as binary when a NUL byte occurs in its first 8000 bytes.
BINARY_PROBE = 8000
RENAME_SIMILARITY = 0.5
NO_NEWLINE = "\\ No newline at end of file"


def blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def is_binary(data: bytes) -> bool:
    return b"\0" in data[:BINARY_PROBE]


def split_lines(data: bytes) -> list[bytes]:
    """Lines with their endings; only LF ends a line, as in git."""
    lines = data.split(b"\n")
    tail = lines.pop()
    out = [line + b"\n" for line in lines]
    if tail:
        out.append(tail)
    return out


@dataclass(frozen=True)
class TreeEntry:
    path: str
    mode: str
    type: str
    sha: str
    size: int | None


def tree_shas(files: Mapping[str, bytes]) -> dict[str, str]:
    """Sha of every directory ("" is the root), hashed like git's tree objects."""
    children: dict[str, dict[str, tuple[str, str]]] = {"": {}}
    for path in files:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            children.setdefault("/".join(parts[:depth]), {})
    for path, data in files.items():
        folder, _, name = path.rpartition("/")
        children[folder][name] = ("100644", blob_sha(data))
    shas: dict[str, str] = {}
    for folder in sorted(children, key=lambda f: -f.count("/") - (f != "")):
        # git orders tree entries by name, with directories compared as "name/".
        entries = sorted(
            children[folder].items(), key=lambda kv: kv[0] + ("/" if kv[1][0] == "40000" else "")
        )
        body = b"".join(
            f"{mode} {name}".encode() + b"\0" + bytes.fromhex(sha) for name, (mode, sha) in entries
        )
        sha = hashlib.sha1(b"tree %d\0" % len(body) + body).hexdigest()
        shas[folder] = sha
        if folder:
            parent, _, name = folder.rpartition("/")
            children[parent][name] = ("40000", sha)
    return shas


def tree_entries(
    files: Mapping[str, bytes], trees: Mapping[str, str], folder: str, recursive: bool
) -> list[TreeEntry]:
    """Entries under `folder` (paths relative to it), as the git trees API lists them."""
    prefix = f"{folder}/" if folder else ""
    entries: dict[str, TreeEntry] = {}
    for path, data in files.items():
        if not path.startswith(prefix):
            continue
        rel = path[len(prefix) :]
        parts = rel.split("/")
        depth = len(parts) if recursive else 1
        for i in range(1, min(depth, len(parts) - 1) + 1):
            sub = "/".join(parts[:i])
            entries.setdefault(sub, TreeEntry(sub, "040000", "tree", trees[prefix + sub], None))
        if recursive or len(parts) == 1:
            entries[rel] = TreeEntry(rel, "100644", "blob", blob_sha(data), len(data))
    return [entries[key] for key in sorted(entries)]


@dataclass(frozen=True)
class Hunk:
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    header: str
    lines: tuple[str, ...]  # each begins with " ", "-", "+" or "\\"

    def index_of(self, line: int, side: str) -> int | None:
        """Index in `lines` of file line `line` on `side` (LEFT = old file, RIGHT = new file)."""
        old, new = self.old_start, self.new_start
        for index, text in enumerate(self.lines):
            kind = text[:1]
            if kind == " ":
                if (side == "LEFT" and old == line) or (side == "RIGHT" and new == line):
                    return index
                old, new = old + 1, new + 1
            elif kind == "-":
                if side == "LEFT" and old == line:
                    return index
                old += 1
            elif kind == "+":
                if side == "RIGHT" and new == line:
                    return index
                new += 1
        return None

    def text_through(self, index: int) -> str:
        """The hunk header and its lines up to `index`: GitHub's `diff_hunk` of a comment."""
        return "\n".join((self.header, *self.lines[: index + 1]))

    def line_at(self, index: int) -> tuple[int, str] | None:
        """(file line, side) of the hunk line at `index`, None for a no-newline marker."""
        old, new = self.old_start, self.new_start
        for i, text in enumerate(self.lines):
            kind = text[:1]
            if i == index:
                if kind == "-":
                    return old, "LEFT"
                return (new, "RIGHT") if kind in " +" else None
            old += kind in " -"
            new += kind in " +"
        return None


@dataclass(frozen=True)
class FileChange:
    filename: str
    status: str  # added, removed, modified, renamed
    previous_filename: str | None
    sha: str
    additions: int
    deletions: int
    hunks: tuple[Hunk, ...]
    binary: bool

    @property
    def patch(self) -> str | None:
        if self.binary or not self.hunks:
            return None
        return "\n".join(line for hunk in self.hunks for line in (hunk.header, *hunk.lines))

    def locate(self, line: int, side: str) -> tuple[int, int] | None:
        """(hunk index, line index) of a file line on a side, None when it is outside every hunk."""
        for number, hunk in enumerate(self.hunks):
            index = hunk.index_of(line, side)
            if index is not None:
                return number, index
        return None

    def position_of(self, hunk_number: int, index: int) -> int:
        """The deprecated diff `position` of a hunk line: the inverse of `position`."""
        return sum(len(h.lines) + 1 for h in self.hunks[:hunk_number]) + index + 1

    def position(self, position: int) -> tuple[int, int] | None:
        """(hunk index, line index) of a deprecated diff `position` (1 = line below the first header)."""
        count = 0
        for number, hunk in enumerate(self.hunks):
            if number:
                count += 1  # each later hunk header takes a position
            if position <= count + len(hunk.lines):
                index = position - count - 1
                return (number, index) if index >= 0 else None
            count += len(hunk.lines)
        return None


def _funcname(old: list[str], before: int) -> str:
    for text in reversed(old[:before]):
        if text[:1].isalpha() or text[:1] in "_$":
            return text[:FUNCNAME_WIDTH].rstrip()
    return ""


def _range(start: int, count: int) -> str:
    # git's format: "start" for one line, "start-1,0" for none.
    if count == 1:
        return str(start + 1)
    return f"{start + 1 if count else start},{count}"


def _prefixed(mark: str, lines: list[str]) -> Iterator[str]:
    for text in lines:
        yield mark + text.removesuffix("\n")
        if not text.endswith("\n"):
            yield NO_NEWLINE


def make_hunks(old_data: bytes, new_data: bytes) -> tuple[Hunk, ...]:
    old = [line.decode("utf-8", "replace") for line in split_lines(old_data)]
    new = [line.decode("utf-8", "replace") for line in split_lines(new_data)]
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    hunks = []
    for group in matcher.get_grouped_opcodes(CONTEXT_LINES):
        i1, i2, j1, j2 = group[0][1], group[-1][2], group[0][3], group[-1][4]
        lines: list[str] = []
        for tag, a1, a2, b1, b2 in group:
            if tag == "equal":
                lines.extend(_prefixed(" ", old[a1:a2]))
                continue
            lines.extend(_prefixed("-", old[a1:a2]))
            lines.extend(_prefixed("+", new[b1:b2]))
        header = f"@@ -{_range(i1, i2 - i1)} +{_range(j1, j2 - j1)} @@"
        funcname = _funcname(old, i1)
        header = f"{header} {funcname}" if funcname else header
        hunks.append(Hunk(i1 + (i2 > i1), i2 - i1, j1 + (j2 > j1), j2 - j1, header, tuple(lines)))
    return tuple(hunks)


def unchanged_lines(old_data: bytes, new_data: bytes) -> dict[int, int]:
    """Line numbers (1-based) of the lines a diff from `old_data` to `new_data` leaves
    untouched, old -> new."""
    old, new = split_lines(old_data), split_lines(new_data)
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    mapping: dict[int, int] = {}
    for a, b, size in matcher.get_matching_blocks():
        mapping.update((a + n + 1, b + n + 1) for n in range(size))
    return mapping


def file_change(path: str, old: bytes | None, new: bytes | None, previous: str | None = None) -> FileChange:
    binary = is_binary(old or b"") or is_binary(new or b"")
    hunks = () if binary else make_hunks(old or b"", new or b"")
    added = sum(line[:1] == "+" for hunk in hunks for line in hunk.lines)
    removed = sum(line[:1] == "-" for hunk in hunks for line in hunk.lines)
    if previous is not None:
        status = "renamed"
    else:
        status = "added" if old is None else "removed" if new is None else "modified"
    sha = blob_sha(new if new is not None else old or b"")
    return FileChange(path, status, previous, sha, added, removed, hunks, binary)


def _similarity(old: bytes, new: bytes) -> float:
    if is_binary(old) or is_binary(new):
        return 1.0 if old == new else 0.0
    return difflib.SequenceMatcher(None, split_lines(old), split_lines(new), autojunk=False).ratio()


def _renames(removed: dict[str, bytes], added: dict[str, bytes]) -> dict[str, str]:
    """new path -> old path: exact renames first, then the most similar pair above git's 50%."""
    pairs: dict[str, str] = {}
    by_content = {data: path for path, data in removed.items()}
    for path, data in added.items():
        if data in by_content and by_content[data] in removed:
            pairs[path] = by_content.pop(data)
    left = {p: d for p, d in removed.items() if p not in pairs.values()}
    if len(left) * len(added) > 2500:  # keep inexact detection cheap on huge changes
        return pairs
    for path, data in added.items():
        if path in pairs:
            continue
        scored = [(_similarity(old, data), old_path) for old_path, old in left.items()]
        best = max(scored, default=(0.0, ""))
        if best[0] >= RENAME_SIMILARITY:
            pairs[path] = best[1]
            del left[best[1]]
    return pairs


def diff_trees(old: Mapping[str, bytes], new: Mapping[str, bytes]) -> list[FileChange]:
    """The files changed from `old` to `new`, sorted by path, as GitHub lists a PR's files."""
    removed = {p: d for p, d in old.items() if p not in new}
    added = {p: d for p, d in new.items() if p not in old}
    renames = _renames(removed, added)
    changes = []
    for path in sorted(set(old) | set(new)):
        if path in renames.values():
            continue
        if path in renames:
            changes.append(file_change(path, old[renames[path]], new[path], renames[path]))
        elif old.get(path) != new.get(path):
            changes.append(file_change(path, old.get(path), new.get(path)))
    return changes
