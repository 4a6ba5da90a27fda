"""Run a rule's examples: shared by the test suite and the docs generator."""

from __future__ import annotations

import enum

from faultline.analyzers.core.changes import ChangeSet, diff_texts
from faultline.analyzers.core.config import Config
from faultline.analyzers.core.engine import Engine
from faultline.analyzers.core.findings import Finding, Suggestion
from faultline.analyzers.core.repo import MemoryRepoView
from faultline.analyzers.core.rule import Rule, Valid


def run_example(rule: type[Rule], example: Valid) -> list[Finding]:
    """Findings of ``rule`` alone on the change the example describes.

    With ``base`` the change is a diff from base to code (only added lines
    count); without it the file is new. ``files`` are the rest of the
    repository, the same on both sides.
    """
    files = {path: text.encode() for path, text in example.files.items()}
    new = {**files, example.path: example.code.encode()}
    base = dict(files)
    if example.base is not None:
        base[example.path] = example.base.encode()
    change = diff_texts(example.path, example.base, example.code)
    changes = ChangeSet({example.path: change})
    engine = Engine(Config(), [rule])
    report = engine.run(changes, MemoryRepoView(new, base))
    return report.findings


def example_suggestions(rule: type[Rule]) -> list[Suggestion]:
    """The suggestions the rule makes on its INVALID examples that name one: what its
    fixes are, and whether they are safe, read from the rule's own behaviour."""
    found: list[Suggestion] = []
    for example in rule.INVALID:
        if example.suggestion is None:
            continue
        found += [
            finding.suggestion
            for finding in run_example(rule, example)
            if finding.suggestion is not None and finding.suggestion.replacement == example.suggestion
        ]
    return found


def fix_safety(rule: type[Rule]) -> FixSafety:
    """Whether ``faultline fix`` applies the rule's suggestions, derived from its examples."""
    suggestions = example_suggestions(rule)
    if not suggestions:
        return FixSafety.NONE
    safe = {suggestion.safe for suggestion in suggestions}
    if safe == {True}:
        return FixSafety.SAFE
    return FixSafety.UNSAFE if safe == {False} else FixSafety.SOMETIMES


class FixSafety(enum.Enum):
    NONE = "no"
    SAFE = "yes, safe: `faultline fix` applies it"
    UNSAFE = "yes, not safe: `faultline fix` leaves it to review (`--unsafe-fixes` applies it)"
    SOMETIMES = "yes, safe in some cases (see Fix safety): `faultline fix` applies those"
