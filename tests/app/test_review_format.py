"""Inline review comments: placement on the diff hunks and the body's wording."""

from __future__ import annotations

from collections.abc import Iterator

from faultline.analyzers.core.changes import FileChange, FileStatus, diff_texts
from faultline.analyzers.core.context import Context
from faultline.analyzers.core.engine import PARSE_ERROR_CODE
from faultline.analyzers.core.findings import Finding, Hit, Severity, Suggestion
from faultline.analyzers.core.rule import Rule
from faultline.analyzers.core.source import SourceFile
from faultline.app.links import RuleLinks
from faultline.app.render.comment import (
    MARKER,
    Placement,
    comment_body,
    comment_payload,
    fingerprint_in,
    place,
    review_body,
    rule_in,
    why,
)


class PoolRule(Rule):
    """
    ## What it does
    Checks for pools.

    ## Why is this risky?
    A fixed pool size ignores the
    database's connection limit. Ten replicas
    of 20 connections exhaust a server that allows 100. Nobody notices until a deploy.

    A second paragraph that is not quoted.

    ## Example
    ```python
    create_engine(url, pool_size=20)
    ```
    """

    code = "FL004"
    slug = "hardcoded-pool-size"
    severity = Severity.WARNING
    summary = "Pool size is hard-coded"

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        yield from ()


RULES: dict[str, type[Rule]] = {"FL004": PoolRule}
OLD = "".join(f"line {n}\n" for n in range(1, 41))
# Lines 10-12 and 30 changed: two hunks, 7-15 and 27-33.
NEW = (
    OLD.replace("line 10\n", "pool 10\n").replace("line 11\n", "pool 11\n").replace("line 12\n", "pool 12\n")
)
NEW = NEW.replace("line 30\n", "pool 30\n")
CHANGE = diff_texts("app/db.py", OLD, NEW)


def finding(
    line: int, end_line: int | None = None, suggestion: Suggestion | None = None, code: str = "FL004"
) -> Finding:
    return Finding(
        code=code,
        slug="hardcoded-pool-size",
        severity=Severity.WARNING,
        path="app/db.py",
        line=line,
        end_line=end_line or line,
        column=1,
        message="`pool_size` is hard-coded to 20",
        fingerprint="0123456789abcdef0123",
        suggestion=suggestion,
    )


def test_the_change_under_test_has_two_hunks() -> None:
    assert CHANGE.hunks == ((7, 15), (27, 33))


def test_marker_round_trip() -> None:
    body = comment_body(Placement(finding(10), 10, 10, False), PoolRule)
    assert MARKER.format(fingerprint="0123456789abcdef0123") in body
    assert "<!-- faultline:fp=v2:0123456789abcdef0123 -->" in body
    assert fingerprint_in(body) == "0123456789abcdef0123"
    assert fingerprint_in("a human's comment") is None
    assert fingerprint_in(None) is None


def test_markers_of_both_versions_are_read() -> None:
    assert fingerprint_in("x\n\n<!-- faultline:fp=9dea6680c40b491c7d6b -->") == "9dea6680c40b491c7d6b"
    assert fingerprint_in("x\n\n<!-- faultline:fp=v2:a3ec4eec0cc0e157.1 -->") == "a3ec4eec0cc0e157.1"


def test_the_rule_is_read_from_the_comments_link() -> None:
    body = comment_body(Placement(finding(10), 10, 10, False), PoolRule)
    assert rule_in(body) == "FL004"
    assert rule_in("a human's comment about [FL004 the rule]") == ""


def test_single_line_in_a_hunk() -> None:
    assert place(finding(10), CHANGE) == Placement(finding(10), 10, 10, False)


def test_multi_line_span_inside_one_hunk() -> None:
    placement = place(finding(10, 12), CHANGE)
    assert placement is not None and (placement.start_line, placement.line) == (10, 12)


def test_span_leaving_the_hunk_falls_back_to_its_first_line() -> None:
    placement = place(finding(14, 20), CHANGE)
    assert placement is not None and (placement.start_line, placement.line) == (14, 14)


def test_line_outside_every_hunk_cannot_be_placed() -> None:
    assert place(finding(20), CHANGE) is None
    assert place(finding(10), None) is None


def test_parse_errors_are_not_placed_inline() -> None:
    assert place(finding(10, code=PARSE_ERROR_CODE), CHANGE) is None


def test_suggestion_lines_decide_the_span() -> None:
    fix = Suggestion(11, 12, "pool = env\n", "Read it from the environment")
    placement = place(finding(10, 12, fix), CHANGE)
    assert placement == Placement(finding(10, 12, fix), 12, 11, True)


def test_suggestion_outside_the_diff_is_shown_but_not_applicable() -> None:
    fix = Suggestion(20, 20, "pool = env\n")
    placement = place(finding(10, 10, fix), CHANGE)
    assert placement == Placement(finding(10, 10, fix), 10, 10, False)
    body = comment_body(placement, PoolRule)
    assert "```suggestion" not in body
    assert "Suggested replacement for lines 20-20" in body and "```python\npool = env\n```" in body


def test_payload_has_start_line_only_for_several_lines() -> None:
    one = comment_payload(Placement(finding(10), 10, 10, False), RULES)
    assert {key: one[key] for key in ("path", "line", "side")} == {
        "path": "app/db.py",
        "line": 10,
        "side": "RIGHT",
    }
    assert "start_line" not in one and "start_side" not in one
    several = comment_payload(Placement(finding(10, 12), 12, 10, False), RULES)
    assert (several.get("start_line"), several.get("line"), several.get("start_side")) == (10, 12, "RIGHT")


def test_why_is_two_sentences_of_the_first_paragraph() -> None:
    assert why(PoolRule) == (
        "A fixed pool size ignores the database's connection limit. "
        "Ten replicas of 20 connections exhaust a server that allows 100."
    )
    assert why(None) == ""


def test_body_reads_severity_rule_message_why_and_suggestion() -> None:
    fix = Suggestion(
        10, 10, "engine = create_engine(url, pool_size=POOL)\n", "Read the pool size from settings"
    )
    body = comment_body(Placement(finding(10, 10, fix), 10, 10, True), PoolRule)
    link = f"[FL004 hardcoded-pool-size]({RuleLinks().url('FL004', 'hardcoded-pool-size')})"
    assert body.startswith(f"**Warning** {link}: `pool_size` is hard-coded to 20\n\n")
    assert "A fixed pool size ignores the database's connection limit." in body
    assert "A second paragraph" not in body
    assert (
        "Read the pool size from settings:\n```suggestion\nengine = create_engine(url, pool_size=POOL)\n```"
        in body
    )
    assert body.endswith("<!-- faultline:fp=v2:0123456789abcdef0123 -->")


def test_suggestion_with_backticks_gets_a_longer_fence() -> None:
    fix = Suggestion(10, 10, 'doc = """\n```\n"""\n')
    body = comment_body(Placement(finding(10, 10, fix), 10, 10, True), PoolRule)
    assert '````suggestion\ndoc = """\n```\n"""\n````' in body


def test_empty_replacement_deletes_the_lines() -> None:
    fix = Suggestion(10, 11, "")
    body = comment_body(Placement(finding(10, 11, fix), 11, 10, True), PoolRule)
    assert "```suggestion\n\n```" in body


def test_unknown_rule_still_gets_a_body() -> None:
    body = comment_body(Placement(finding(10), 10, 10, False), None)
    assert body.startswith("**Warning** [FL004 hardcoded-pool-size]")
    assert fingerprint_in(body) == "0123456789abcdef0123"


def test_review_bodies() -> None:
    findings = [finding(10), finding(30)]
    text = review_body(findings, 1, "abcdef1234567", "https://github.com/acme/shop/runs/1")
    assert text == (
        "**Faultline** found 2 risks (2 warnings) in `abcdef1` and comments on 1 of them below. "
        "Every finding is in the [Faultline check](https://github.com/acme/shop/runs/1)."
    )


def test_added_file_accepts_every_line() -> None:
    change = FileChange("new.py", FileStatus.ADDED, added_lines=frozenset({1, 2}), hunks=((1, 2),))
    placement = place(finding(1, 2), change)
    assert placement is not None and (placement.start_line, placement.line) == (1, 2)
