"""The base class every rule derives from, and the example types on it.

A rule module holds one class, in this order: docstring (the rationale, with
ruff's headings: What it does / Why is this risky? / Example / Use instead),
class attributes (code, slug, severity, summary, where it applies), ``VALID``,
``INVALID``, then ``check``. The test suite runs every example; the docs under
``docs/rules/`` are generated from the same class.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from faultline.analyzers.core.config import STRICT, matches_any
from faultline.analyzers.core.findings import Hit, Severity, Suggestion
from faultline.analyzers.core.source import SourceFile
from faultline.analyzers.languages import language_for

if TYPE_CHECKING:
    from faultline.analyzers.core.context import Context

# Where production-only rules do not look unless the config includes the path: folders
# every language shares, and each language's own test and tooling files.
NON_PRODUCTION_FOLDERS = (
    "**/tests/**",
    "**/test/**",
    "**/testing/**",
    "**/docs/**",
    "**/doc/**",
    "**/examples/**",
    "**/example/**",
)


def is_production(path: str) -> bool:
    """False for tests, docs, examples and the language's test or tooling files."""
    if matches_any(path, NON_PRODUCTION_FOLDERS):
        return False
    language = language_for(path)
    return language is None or not matches_any(path, language.test_globs)


@dataclass(frozen=True)
class NoOptions:
    """A rule's options: a frozen dataclass that pydantic validates when the config gives
    any (``__post_init__`` may check more, raising ValueError naming the key)."""

    __pydantic_config__: ClassVar[dict[str, Any]] = STRICT


@dataclass(frozen=True)
class Valid:
    """Code the rule must not report. ``base`` is the file before the change
    (None: the file is new); ``files`` are other files of the repository."""

    code: str
    path: str = "app/example.py"
    base: str | None = None
    files: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Invalid(Valid):
    """Code the rule must report on ``line`` (of ``report_path`` when the
    finding lands in another file than the one changed)."""

    line: int = 0
    severity: Severity | None = None
    message: str = ""  # a substring the message must contain
    suggestion: str | None = None  # the expected replacement text, if any
    report_path: str | None = None


class Rule:
    code: ClassVar[str]
    slug: ClassVar[str]
    severity: ClassVar[Severity]
    summary: ClassVar[str]
    # Globs (config.matches_any syntax) of the files the rule reads.
    patterns: ClassVar[tuple[str, ...]] = ("*.py",)
    # Skip tests, setup.py, docs and examples unless the config includes them.
    production_only: ClassVar[bool] = False
    # The file is skipped unless its bytes contain one of these: a cheap gate
    # before parsing. Empty: always parse.
    needles: ClassVar[tuple[bytes, ...]] = ()
    # Other paths the rule may read through Context (a trailing "/" means a
    # folder listing and its files): the App fetches these before running.
    context_paths: ClassVar[tuple[str, ...]] = ()
    # In diff mode, drop a hit when the base version of the file gave the same
    # statement a hit too (it moved or was re-indented). Rules that decide
    # newness themselves (comparing keys with the base) leave this off.
    compare_base: ClassVar[bool] = False
    Options: ClassVar[type[Any]] = NoOptions
    VALID: ClassVar[list[Valid]] = []
    INVALID: ClassVar[list[Invalid]] = []

    def __init__(self, options: object | None = None) -> None:
        self.options: Any = options if options is not None else self.Options()

    def applies_to(self, path: str) -> bool:
        return matches_any(path, self.patterns)

    def check(self, source: SourceFile, ctx: Context) -> Iterable[Hit | RemoteHit]:
        """Yield hits for ``source``; a RemoteHit lands in another file."""
        raise NotImplementedError

    def more_context(self, ctx: Context) -> Iterable[str]:
        """Paths to read that only the files' contents name (the configs in a
        workflow job's working directory). The App fetches them after the
        changed files and ``context_paths``; the CLI reads files on demand."""
        return ()

    @classmethod
    def rationale(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def section(cls, heading: str) -> str:
        """The text under ``## heading`` in the rationale, or ""."""
        marker = f"## {heading}"
        text = cls.rationale()
        if marker not in text:
            return ""
        return text.split(marker, 1)[1].split("\n## ", 1)[0].strip()

    @classmethod
    def title(cls) -> str:
        return f"{cls.code} {cls.slug}"

    @classmethod
    def can_fix(cls) -> bool:
        return any(example.suggestion is not None for example in cls.INVALID)


@dataclass(frozen=True)
class RemoteHit:
    """A hit that lands in another file than the one being checked."""

    path: str
    hit: Hit


def replace_span(
    source: SourceFile,
    line: int,
    col: int,
    end_line: int,
    end_col: int,
    new_text: str,
    title: str = "",
    *,
    safe: bool = False,
) -> Suggestion:
    """A suggestion that swaps one source span (ast positions: 1-based lines,
    UTF-8 byte columns) for ``new_text``, keeping the rest of its lines.
    ``safe``: the change keeps the code's meaning (``Suggestion.safe``)."""
    first = source.line(line).encode()
    last = source.line(end_line).encode()
    replaced = first[:col].decode() + new_text + last[end_col:].decode()
    return Suggestion(line, end_line, replaced, title, safe=safe)
