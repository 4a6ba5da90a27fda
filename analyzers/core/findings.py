"""What a rule reports: plain frozen data, shared by the engine and every renderer."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field


class Severity(enum.IntEnum):
    """How much a finding matters; ordered so that ``max()`` picks the worst."""

    NOTICE = 1
    WARNING = 2
    ERROR = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (expected error, warning or notice)") from None


@dataclass(frozen=True)
class Suggestion:
    """Replacement text for whole lines ``start_line``..``end_line`` of the new file.

    This is exactly what a GitHub ```suggestion block replaces, so the review
    comment that carries it must span the same lines. ``safe``: the change keeps
    what the code means and does (as ruff's safe fixes), so ``faultline fix``
    applies it; an unsafe one changes behaviour on purpose and stays a suggestion
    for a reviewer (``faultline fix --unsafe-fixes`` applies it too).
    """

    start_line: int
    end_line: int
    replacement: str
    title: str = ""
    safe: bool = False


@dataclass(frozen=True)
class Hit:
    """What a rule yields: a location, a message and optional extras.

    The engine turns a hit into a Finding (adds code, path, fingerprint, applies
    config and suppressions). ``statement`` is the line span of the whole flagged
    statement: in diff mode a hit counts when any line of it is added.
    ``from_change`` marks a hit caused by a change elsewhere (a lowered coverage
    threshold reported on an untouched workflow step), which counts in diff mode
    even when its own lines are unchanged.
    """

    line: int
    message: str
    end_line: int = 0
    column: int = 1
    severity: Severity | None = None
    suggestion: Suggestion | None = None
    statement: tuple[int, int] | None = None
    from_change: bool = False
    fingerprint_key: str = ""
    # The key fingerprints of version 1 were made of, when it differs (FL001 named
    # the enclosing function): the App still recognises comments marked with it.
    fingerprint_key_v1: str = ""

    @property
    def last_line(self) -> int:
        return max(self.end_line, self.line)

    @property
    def span(self) -> tuple[int, int]:
        return self.statement or (self.line, self.last_line)


@dataclass(frozen=True)
class Finding:
    code: str
    slug: str
    severity: Severity
    path: str
    line: int
    end_line: int
    column: int
    message: str
    fingerprint: str
    suggestion: Suggestion | None = None
    title: str = ""
    # What identical findings of the file share: the fingerprint without the occurrence.
    content_key: str = ""
    # The fingerprint version 1 gave this finding (markers of comments it left).
    fingerprint_v1: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.code)


def normalised(text: str) -> str:
    """A statement's text without white space: re-indenting it changes nothing."""
    return "".join(text.split())


def fingerprint(code: str, path: str, statement_text: str, occurrence: int = 0) -> str:
    """A stable id for a finding that ignores line numbers and whitespace.

    Unrelated lines moving above the finding leave it unchanged; so does
    re-indenting the statement. ``occurrence`` tells identical statements in one
    file apart by their order, so a like statement added above takes the id of
    the first: the App keeps its comments' identities by other means
    (``app/github/identities.py``).
    """
    digest = hashlib.sha256(
        f"{code}\0{path}\0{normalised(statement_text)}\0{occurrence}".encode(errors="surrogateescape")
    )
    return digest.hexdigest()[:20]


def content_key(code: str, path: str, statement_text: str) -> str:
    """What every occurrence of one statement in a file shares: rule, path and text."""
    digest = hashlib.sha256(f"{code}\0{path}\0{normalised(statement_text)}".encode(errors="surrogateescape"))
    return digest.hexdigest()[:16]
