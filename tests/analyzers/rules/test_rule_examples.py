"""Every rule's VALID and INVALID examples, one test each."""

from __future__ import annotations

import pytest

from faultline.analyzers.core.engine import PARSE_ERROR_CODE
from faultline.analyzers.core.registry import all_rules
from faultline.analyzers.core.rule import Invalid, Rule, Valid
from faultline.analyzers.core.testing import run_example


def _examples(kind: str) -> list[tuple[type[Rule], Valid]]:
    return [(rule, example) for rule in all_rules() for example in getattr(rule, kind)]


def _id(value: object) -> str:
    return value.code if isinstance(value, type) else ""


def test_there_are_rules() -> None:
    codes = [rule.code for rule in all_rules()]
    assert codes, "no rule was found"
    assert len(codes) == len(set(codes)), f"duplicate codes: {codes}"
    slugs = [rule.slug for rule in all_rules()]
    assert len(slugs) == len(set(slugs)), f"duplicate slugs: {slugs}"


@pytest.mark.parametrize("rule", all_rules(), ids=lambda rule: rule.code)
def test_rule_is_documented(rule: type[Rule]) -> None:
    assert rule.summary and not rule.summary.endswith(".")
    for heading in ("## What it does", "## Why is this risky?", "## Example", "## Use instead"):
        assert heading in rule.rationale(), f"{rule.code}: rationale lacks {heading!r}"
    assert len(rule.VALID) >= 2 and len(rule.INVALID) >= 2


@pytest.mark.parametrize(("rule", "example"), _examples("VALID"), ids=_id)
def test_valid_example(rule: type[Rule], example: Valid) -> None:
    findings = run_example(rule, example)
    assert findings == [], f"{rule.code} reported on valid code:\n{example.code}\n{findings}"


@pytest.mark.parametrize(("rule", "example"), _examples("INVALID"), ids=_id)
def test_invalid_example(rule: type[Rule], example: Invalid) -> None:
    assert example.line > 0, "an INVALID example must name its line"
    findings = [f for f in run_example(rule, example) if f.code != PARSE_ERROR_CODE]
    path = example.report_path or example.path
    assert [(f.path, f.line) for f in findings] == [(path, example.line)], (
        f"{rule.code} on:\n{example.code}\ngave {findings}"
    )
    finding = findings[0]
    if example.severity is not None:
        assert finding.severity == example.severity
    assert example.message in finding.message
    if example.suggestion is None:
        assert finding.suggestion is None
    else:
        assert finding.suggestion is not None
        assert finding.suggestion.replacement == example.suggestion
