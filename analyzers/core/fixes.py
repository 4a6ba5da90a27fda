"""Apply the rules' suggestions to a file's text: the pure part of ``faultline fix``.

A suggestion replaces whole lines (what a GitHub ```suggestion block replaces). In one
pass the suggestions that do not overlap are applied, bottom up; the file is then checked
again and the next pass applies what the first left out, as ruff does, up to
``MAX_PASSES``. Every edit a rule makes is a span of its own lines, cut at the ast's
positions, so the formatting and comments around it are kept as written; line endings
(``\\n``, ``\\r\\n``, ``\\r``) and a byte-order mark are kept too. A pass whose result
no longer parses is thrown away: a fix must never leave a broken file.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from faultline.analyzers.core.changes import ChangeSet, FileStatus, diff_texts
from faultline.analyzers.core.engine import Engine
from faultline.analyzers.core.findings import Finding, Suggestion
from faultline.analyzers.core.repo import RepoView
from faultline.analyzers.core.source import ParseError, SourceFile

MAX_PASSES = 10
_LINE_END = re.compile(r"(\r\n|\r|\n)")

NOT_UTF8 = "not UTF-8: left alone"
BREAKS_PARSING = "a fix would leave the file unparsable: stopped there (a Faultline bug: please report it)"
NOT_SETTLED = f"the fixes did not settle after {MAX_PASSES} passes: some are left"


@dataclass
class FileFix:
    """What fixing one file gave: its new bytes, how many findings the applied
    suggestions fixed, and the findings still there after the last pass."""

    path: str
    original: bytes
    data: bytes
    fixed: int = 0
    remaining: list[Finding] = field(default_factory=list)
    problem: str = ""

    @property
    def changed(self) -> bool:
        return self.data != self.original

    @property
    def left(self) -> list[Finding]:
        """The remaining findings that have a suggestion: not safe to fix (or left by a problem)."""
        return [finding for finding in self.remaining if finding.suggestion is not None]


def fixable(finding: Finding, unsafe: bool = False) -> bool:
    suggestion = finding.suggestion
    return suggestion is not None and (suggestion.safe or unsafe)


def fix_file(
    engine: Engine,
    path: str,
    data: bytes,
    findings: Sequence[Finding],
    *,
    changes: ChangeSet,
    repo: RepoView,
    unsafe: bool = False,
) -> FileFix:
    """Apply the fixable suggestions of ``findings`` (the engine's findings on
    ``data``, the file at ``path``), re-checking after each pass while anything
    is left to fix. ``changes`` and ``repo`` are what the findings came from: a
    re-check counts what they count (the changed lines, or the whole file)."""
    result = FileFix(path, data, data, remaining=list(findings))
    decoded = _decode(path, data)
    if decoded is None:
        result.problem = NOT_UTF8
        return result
    text, bom = decoded
    for _ in range(MAX_PASSES):
        wanted = [finding for finding in result.remaining if fixable(finding, unsafe)]
        if not wanted:
            return result
        new_text, applied = apply_suggestions(
            text, [finding.suggestion for finding in wanted if finding.suggestion]
        )
        if new_text == text:
            return result
        if _breaks_parsing(path, text, new_text):
            result.problem = BREAKS_PARSING
            return result
        keys = {_key(suggestion) for suggestion in applied}
        result.fixed += sum(
            1 for finding in wanted if finding.suggestion and _key(finding.suggestion) in keys
        )
        text = new_text
        result.data = bom + text.encode("utf-8")
        again = _recheck(engine, path, result.data, changes, repo)
        if again is None:  # a finding placed here from another file: no way to check this file again
            result.remaining = [
                f for f in result.remaining if not (f.suggestion and _key(f.suggestion) in keys)
            ]
            return result
        result.remaining = again
    if any(fixable(finding, unsafe) for finding in result.remaining):
        result.problem = NOT_SETTLED
    return result


def apply_suggestions(text: str, suggestions: Iterable[Suggestion]) -> tuple[str, list[Suggestion]]:
    """``text`` with the suggestions that do not overlap applied, and those applied.

    Of overlapping suggestions the first (by line) wins; the next pass gets the
    others, checked again on the new text. Identical suggestions count as one.
    """
    lines = _split(text)
    chosen: list[Suggestion] = []
    seen: set[tuple[int, int, str]] = set()
    for suggestion in sorted(suggestions, key=_key):
        if _key(suggestion) in seen or not 1 <= suggestion.start_line <= suggestion.end_line <= len(lines):
            continue
        if chosen and suggestion.start_line <= chosen[-1].end_line:
            continue  # overlaps the one before: left for the next pass
        chosen.append(suggestion)
        seen.add(_key(suggestion))
    for suggestion in reversed(chosen):
        lines[suggestion.start_line - 1 : suggestion.end_line] = _replacement(suggestion, lines)
    return "".join(content + ending for content, ending in lines), chosen


def _key(suggestion: Suggestion) -> tuple[int, int, str]:
    return (suggestion.start_line, suggestion.end_line, suggestion.replacement)


def _split(text: str) -> list[tuple[str, str]]:
    """Lines with their endings, counted as ``split_lines`` (and git) count them."""
    parts = _LINE_END.split(text)
    lines = [(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
    if parts[-1]:
        lines.append((parts[-1], ""))
    return lines


def _replacement(suggestion: Suggestion, lines: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The new lines, ending as the lines they replace end: a CRLF file stays CRLF."""
    body = suggestion.replacement.removesuffix("\n")
    if not body:
        return []  # as on GitHub: an empty suggestion deletes the lines
    first_ending = lines[suggestion.start_line - 1][1]
    last_ending = lines[suggestion.end_line - 1][1]
    inner = first_ending or _usual_ending(lines)
    new = body.split("\n")
    return [(line, inner) for line in new[:-1]] + [(new[-1], last_ending)]


def _usual_ending(lines: list[tuple[str, str]]) -> str:
    return next((ending for _, ending in lines if ending), "\n")


def _decode(path: str, data: bytes) -> tuple[str, bytes] | None:
    """The text and byte-order mark of a UTF-8 file that reads back as its own bytes (a
    Python file declaring another coding is left alone: its bytes would change)."""
    bom = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""
    try:
        text = data[len(bom) :].decode("utf-8")
        language_text = SourceFile(path, data).text
    except (UnicodeDecodeError, ParseError):
        return None
    return (text, bom) if language_text == text else None


def _breaks_parsing(path: str, old: str, new: str) -> bool:
    """Whether ``new`` no longer parses where ``old`` did. tree-sitter always gives a
    tree: there a new ERROR node anywhere counts, not only at the top level."""
    language = SourceFile(path, b"").language
    if language is None or language.parse is None:
        return False
    try:
        before = language.parse(old, path)
    except ParseError:
        return False  # broken before: the fix is not what broke it
    try:
        after = language.parse(new, path)
    except ParseError:
        return True
    return _has_error(after) and not _has_error(before)


def _has_error(tree: object) -> bool:
    root = getattr(tree, "root", None)  # a tree-sitter Script's root node
    return bool(getattr(root, "has_error", False))


def _recheck(
    engine: Engine, path: str, data: bytes, changes: ChangeSet, repo: RepoView
) -> list[Finding] | None:
    """The findings on the fixed file, counted as the first run counted them."""
    change = changes.get(path)
    if change is None:
        return None
    if changes.whole_files:
        again = ChangeSet.whole([path])
    else:
        base = None if change.status is FileStatus.ADDED else repo.read_base(change.base_path)
        old = None if base is None else base.decode("utf-8", errors="surrogateescape")
        new = data.decode("utf-8", errors="surrogateescape")
        again = ChangeSet({path: diff_texts(path, old, new, change.old_path)})
    report = engine.run(again, _Fixed(repo, path, data))
    return [finding for finding in report.findings if finding.path == path]


class _Fixed:
    """A RepoView whose new side holds the fixed file."""

    def __init__(self, repo: RepoView, path: str, data: bytes) -> None:
        self.repo = repo
        self.path = path
        self.data = data

    def read_new(self, path: str) -> bytes | None:
        return self.data if path == self.path else self.repo.read_new(path)

    def read_base(self, path: str) -> bytes | None:
        return self.repo.read_base(path)

    def list_new(self, folder: str) -> list[str]:
        return self.repo.list_new(folder)
