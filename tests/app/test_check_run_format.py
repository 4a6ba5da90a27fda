"""The check run's conclusion, title, summary and annotations."""

from __future__ import annotations

import re

from faultline.analyzers.core.engine import Report, RuleError
from faultline.analyzers.core.findings import Finding, Severity
from faultline.analyzers.core.plan import Skipped
from faultline.app.links import RuleLinks
from faultline.app.render.check_run import (
    ANNOTATIONS_PER_REQUEST,
    CUT_NOTE,
    MAX_SUMMARY,
    CheckOutput,
    Outcome,
    annotation,
    code_path,
    conclusion,
    config_error,
    failed,
    fit,
    no_files,
    no_rules,
    render,
    rule_table,
    superseded,
)
from faultline.app.render.comment import NOT_IN_DIFF, OVER_LIMIT


def finding(
    n: int, severity: Severity = Severity.WARNING, code: str = "FL004", path: str = "app/db.py"
) -> Finding:
    slug = {"FL001": "broad-except", "FL004": "hardcoded-pool-size"}.get(code, "parse-error")
    return Finding(code, slug, severity, path, n, n + 1, 1, f"risk number {n}", f"fp{n:05d}")


def outcome(findings: list[Finding], inline: int = 0, **extra: object) -> Outcome:
    report = Report(findings=findings, files_checked=3)
    done = frozenset(f.fingerprint for f in findings[:inline])
    reasons = {f.fingerprint: OVER_LIMIT.format(limit=inline) for f in findings[inline:]}
    values: dict[str, object] = {
        "report": report,
        "sha": "abcdef1234567890",
        "fail_level": Severity.ERROR,
        "rules": {},
        "inline": done,
        "not_inline": reasons,
        "blob_url": "https://github.com/acme/shop/blob/abcdef1234567890",
    }
    values.update(extra)
    return Outcome(**values)  # type: ignore[arg-type]


def test_annotation_levels_and_fields() -> None:
    levels = [annotation(finding(1, s))["annotation_level"] for s in Severity]
    assert levels == ["notice", "warning", "failure"]
    one = annotation(finding(7))
    assert (one["path"], one["start_line"], one["end_line"]) == ("app/db.py", 7, 8)
    assert one.get("title") == "FL004 hardcoded-pool-size"
    assert one["message"] == f"risk number 7\n\n{RuleLinks().url('FL004', 'hardcoded-pool-size')}"
    assert "start_column" not in one  # only allowed when start and end line are the same


def test_annotations_go_in_batches_of_fifty() -> None:
    output = render(outcome([finding(n) for n in range(1, 121)]))
    assert [len(batch) for batch in output.batches()] == [50, 50, 20]
    assert ANNOTATIONS_PER_REQUEST == 50
    assert list(CheckOutput("success", "t", "s").batches()) == []


def test_conclusions() -> None:
    error, warning = finding(1, Severity.ERROR), finding(2)
    assert conclusion(Report([error, warning], files_checked=1), Severity.ERROR) == "failure"
    assert conclusion(Report([warning], files_checked=1), Severity.ERROR) == "success"
    assert conclusion(Report([warning], files_checked=1), Severity.WARNING) == "failure"
    assert conclusion(Report([error], files_checked=1), None) == "success"  # fail_on: never
    assert conclusion(Report([], files_checked=0), Severity.ERROR) == "neutral"
    assert conclusion(Report([], files_checked=2), Severity.ERROR) == "success"


def test_counts_agree_across_title_table_annotations_and_listing() -> None:
    findings = [finding(1, Severity.ERROR, "FL001"), *(finding(n) for n in range(2, 8))]
    output = render(outcome(findings, inline=3))
    assert output.title == "7 risks found (1 error, 6 warnings)"
    assert len(output.annotations) == 7
    assert "3 of 7 are commented inline on the pull request" in output.summary
    rows = re.findall(r"^\| \[(FL\d+) [^|]*\| (\d+) \| (\d+) \| (\d+) \|$", output.summary, re.M)
    assert rows == [("FL001", "1", "0", "0"), ("FL004", "0", "6", "0")]
    listed = [line for line in output.summary.splitlines() if line.startswith("- **")]
    assert len(listed) == 4 and "Over the limit of 3 inline comments (4):" in output.summary


def test_listed_findings_are_grouped_by_reason_errors_first() -> None:
    findings = [finding(4), finding(5), finding(6, Severity.ERROR, "FL001")]
    reasons = {"fp00004": NOT_IN_DIFF, "fp00005": OVER_LIMIT.format(limit=1), "fp00006": NOT_IN_DIFF}
    output = render(outcome(findings, inline=0, not_inline=reasons))
    link = "[`app/db.py` line 4](https://github.com/acme/shop/blob/abcdef1234567890/app/db.py#L4)"
    section = output.summary.split("### Not commented inline\n\n", 1)[1]
    assert section.startswith(
        "Its lines are not in the diff (2):\n\n- **error** FL001 broad-except, [`app/db.py` line 6]"
    )
    assert f"- **warning** FL004 hardcoded-pool-size, {link}: risk number 4\n\nOver the limit of 1" in section
    assert section.endswith("Over the limit of 1 inline comments (1):\n\n" + _line(5))
    assert "None is commented inline" in output.summary


def _line(n: int) -> str:
    url = f"https://github.com/acme/shop/blob/abcdef1234567890/app/db.py#L{n}"
    return f"- **warning** FL004 hardcoded-pool-size, [`app/db.py` line {n}]({url}): risk number {n}"


def test_every_finding_inline() -> None:
    output = render(outcome([finding(1)], inline=1))
    assert "Each finding is commented inline on the pull request." in output.summary
    assert "### Not commented inline" not in output.summary


def test_no_findings() -> None:
    output = render(outcome([]))
    assert (output.conclusion, output.title) == ("success", "No risks found")
    assert output.summary.startswith("Faultline checked 3 files in `abcdef1`.")
    assert "| Rule |" not in output.summary


def test_skipped_and_rule_errors_are_listed() -> None:
    report = Report(
        findings=[],
        skipped=[Skipped("app/blob.py", "binary file")],
        rule_errors=[RuleError("FL004", "hardcoded-pool-size", "app/x.py", "ValueError()")],
        files_checked=1,
    )
    extra = [
        Skipped("12 more files", "the pull request changes 3012 files; GitHub lists only the first 3000")
    ]
    text = render(outcome([], report=report, skipped=extra)).summary
    assert "### Skipped\n\n- `12 more files`: the pull request changes 3012 files" in text
    assert "- `app/blob.py`: binary file" in text
    assert "### Rules that failed" in text and "FL004 hardcoded-pool-size failed on app/x.py" in text


def test_odd_paths_stay_on_their_line_of_the_summary() -> None:
    skipped = [Skipped("app/a\nb.py", "binary file"), Skipped("app/`x`\t.py", "binary file")]
    text = render(outcome([], skipped=skipped)).summary
    assert "- `app/a\\nb.py`: binary file\n" in text
    assert "- ``app/`x`\\t.py``: binary file" in text
    assert code_path("é 中.py") == "`é 中.py`" and code_path("a\x7fb") == "`a\\x7fb`"
    listed = render(outcome([finding(3, path="app/a#b c.py")], blob_url="https://x/blob/sha")).summary
    assert "[`app/a#b c.py` line 3](https://x/blob/sha/app/a%23b%20c.py#L3)" in listed


def test_fail_on_is_explained() -> None:
    assert (
        "fails on a finding of severity **warning** or above"
        in render(outcome([], fail_level=Severity.WARNING)).summary
    )
    assert "does not fail on findings (`fail_on: never`" in render(outcome([], fail_level=None)).summary


def test_summary_is_cut_below_the_limit_at_a_line_boundary() -> None:
    findings = [finding(n) for n in range(1, 2001)]
    output = render(outcome(findings))
    assert len(output.summary) <= MAX_SUMMARY
    assert output.summary.endswith(CUT_NOTE)
    last_line = output.summary.removesuffix(CUT_NOTE).splitlines()[-1]
    assert last_line.startswith("- **warning** FL004") and last_line.endswith(": risk number 441")
    assert len(output.annotations) == 2000  # the annotations still have every finding


def test_fit_leaves_short_text_alone() -> None:
    assert fit("short") == "short"
    assert fit("a\n" * 200, limit=len(CUT_NOTE) + 5) == "a\na" + CUT_NOTE


def test_rule_table_links_each_rule() -> None:
    table = rule_table([finding(1), finding(2, Severity.NOTICE)])
    link = RuleLinks().url("FL004", "hardcoded-pool-size")
    assert f"| [FL004 hardcoded-pool-size]({link}) | 0 | 1 | 1 |" in table


def test_special_outputs() -> None:
    bad = config_error(".github/faultline.yml: max_coments: unknown key", "main")
    assert (bad.conclusion, bad.title) == ("failure", "Invalid .github/faultline.yml")
    assert "```\n.github/faultline.yml: max_coments: unknown key\n```" in bad.summary
    assert "default branch `main`" in bad.summary
    assert no_rules().conclusion == "neutral"
    nothing = no_files("abcdef123", [Skipped("a.bin", "binary file")])
    assert nothing.conclusion == "neutral" and "- `a.bin`: binary file" in nothing.summary
    moved = superseded("abcdef123", "9876543210")
    assert moved.conclusion == "cancelled" and "`9876543`" in moved.summary and "`abcdef1`" in moved.summary
    crash = failed("abcdef123", RuntimeError("boom `x`"))
    assert crash.conclusion == "failure" and "`RuntimeError: boom 'x'`" in crash.summary
    later = failed("abcdef123", RuntimeError("slow down"), retry_after=150)
    assert "in about 2 minutes" in later.summary


def test_a_parse_error_is_named_in_the_summary_and_not_annotated() -> None:
    unreadable = finding(3, Severity.NOTICE, code="FL000", path="app/new_syntax.py")
    output = render(outcome([finding(1), unreadable]))
    assert [a["path"] for a in output.annotations] == ["app/db.py"]
    assert output.summary.count("`app/new_syntax.py` line 3") == 1
    assert "FL000 parse-error" in output.summary
