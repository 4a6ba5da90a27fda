"""FL000: the engine's parse error is documented like a rule, and its examples hold with every
rule enabled (it is no rule the engine runs)."""

from __future__ import annotations

import pytest

from faultline.analyzers.core.changes import ChangeSet, diff_texts
from faultline.analyzers.core.config import Config
from faultline.analyzers.core.engine import Engine
from faultline.analyzers.core.findings import Finding
from faultline.analyzers.core.parse_error import PARSE_ERROR_CODE, ParseErrorNotice
from faultline.analyzers.core.registry import all_rules, documented_index, documented_rules, rule_index
from faultline.analyzers.core.repo import MemoryRepoView
from faultline.analyzers.core.rule import Invalid, Valid


def parse_errors(example: Valid) -> list[Finding]:
    """The FL000 findings of every rule on the new file ``example`` describes."""
    change = diff_texts(example.path, None, example.code)
    view = MemoryRepoView({example.path: example.code.encode()}, {})
    report = Engine(Config(), all_rules()).run(ChangeSet({example.path: change}), view)
    return [finding for finding in report.findings if finding.code == PARSE_ERROR_CODE]


@pytest.mark.parametrize("example", ParseErrorNotice.INVALID, ids=lambda example: example.path)
def test_a_file_that_does_not_parse_is_one_notice_on_its_line(example: Invalid) -> None:
    found = parse_errors(example)
    assert [(f.path, f.line, f.slug) for f in found] == [(example.path, example.line, "parse-error")]
    assert example.message in found[0].message
    assert found[0].severity == ParseErrorNotice.severity


@pytest.mark.parametrize("example", ParseErrorNotice.VALID)
def test_newer_syntax_is_no_parse_error(example: Valid) -> None:
    assert parse_errors(example) == []


def test_it_is_documented_beside_the_rules_but_never_run() -> None:
    assert documented_rules()[0] is ParseErrorNotice
    assert documented_index()["FL000"] is documented_index()["parse-error"] is ParseErrorNotice
    assert ParseErrorNotice not in all_rules()
    # Config keys and suppressions know the rules only.
    assert "FL000" not in rule_index()
    for heading in ("## What it does", "## Why is this risky?", "## Example", "## Use instead"):
        assert heading in ParseErrorNotice.rationale()


def test_faultline_rules_explains_it(capsys: pytest.CaptureFixture[str]) -> None:
    from faultline.app.cli.main import main

    assert main(["rules", "FL000"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("# FL000 parse-error\n")
    assert "## Reported (from the test suite)" in page and "<<<<<<< HEAD" in page
    assert main(["rules", "parse-error"]) == 0
    assert capsys.readouterr().out == page
    assert main(["rules"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("FL000  parse-error")


def test_a_suppression_comment_does_not_hide_it() -> None:
    # The page says so: the comment is in the file that could not be read.
    code = "try:\n    x = (  # faultline: ignore[parse-error]\nexcept Exception:\n    pass\n"
    assert [f.line for f in parse_errors(Valid(code))] == [2]
    assert [f.line for f in parse_errors(Valid("# faultline: ignore\n" + code))] == [3]
