"""Handing the identities of Faultline's earlier comments to this run's findings
(app/github/identities.py), on findings and comments made by hand."""

from __future__ import annotations

from dataclasses import replace

from faultline.analyzers.core.findings import Finding, Severity, Suggestion
from faultline.analyzers.core.repo import MemoryRepoView
from faultline.app.github.identities import (
    BotComment,
    assign_identities,
    file_context,
    hunk_context,
    parse_identity,
)

GROUP = "a3ec4eec0cc0e157"
PATH = "app/store.py"


def finding(line: int, group: str = GROUP, v1: str = "", code: str = "FL001") -> Finding:
    return Finding(
        code=code,
        slug="broad-except",
        severity=Severity.WARNING,
        path=PATH,
        line=line,
        end_line=line,
        column=5,
        message="swallows every error",
        fingerprint=f"engine-{line}",
        content_key=group,
        fingerprint_v1=v1,
    )


def comment(
    cid: int, identity: str, line: int | None, code: str = "FL001", context: tuple[str, ...] = ()
) -> BotComment:
    return BotComment(cid, identity, PATH, line, None, code, context)


def ids(findings: list[Finding]) -> list[str]:
    return [f.fingerprint for f in findings]


def test_findings_with_no_comment_are_numbered_in_file_order() -> None:
    assert ids(assign_identities([finding(4), finding(9)], [])) == [f"{GROUP}.0", f"{GROUP}.1"]


def test_a_comment_goes_to_the_finding_on_its_line_before_order_counts() -> None:
    found = assign_identities([finding(4), finding(9)], [comment(1, f"{GROUP}.0", 9)])
    assert ids(found) == [f"{GROUP}.1", f"{GROUP}.0"]


def test_a_suggestions_lines_count_as_the_findings() -> None:
    fix = Suggestion(5, 6, "x\n")
    moved = replace(finding(4), suggestion=fix)
    found = assign_identities([finding(2), moved], [comment(1, f"{GROUP}.0", 6)])
    assert ids(found) == [f"{GROUP}.1", f"{GROUP}.0"]


def test_outdated_comments_go_to_the_findings_left_in_order() -> None:
    comments = [comment(1, f"{GROUP}.1", None), comment(2, f"{GROUP}.0", 9), comment(3, f"{GROUP}.2", None)]
    found = assign_identities([finding(4), finding(9), finding(20)], comments)
    assert ids(found) == [f"{GROUP}.1", f"{GROUP}.0", f"{GROUP}.2"]


def test_outdated_comments_go_to_the_findings_with_the_likest_lines_above() -> None:
    comments = [
        comment(1, f"{GROUP}.0", None, context=("def", "load", "db", "try")),
        comment(2, f"{GROUP}.1", None, context=("def", "save", "db", "try")),
    ]
    above = {4: ("def", "save", "db", "lock", "with", "lock", "try")}
    found = assign_identities([finding(4)], comments, lambda f: above[f.line])
    assert ids(found) == [f"{GROUP}.1"]
    assert ids(assign_identities([finding(4)], comments)) == [f"{GROUP}.0"]  # no context: in order


def test_the_lines_above_a_finding_are_read_from_the_new_file() -> None:
    view = MemoryRepoView({PATH: b"def save(db):\n    try:\n        db.commit()\n    except Exception:\n"})
    assert file_context(view)(finding(4)) == ("def", "save", "db", "try", "db", "commit")
    assert file_context(view)(finding(1)) == ()


def test_the_lines_above_a_finding_are_counted_as_the_engine_counts_them() -> None:
    # A form feed or U+2028 in a line is no line break: the engine did not count one there.
    code = "def save(db):\x0c\n    # a\u2028b\n    try:\n        db.commit()\n    except Exception:\n"
    view = MemoryRepoView({PATH: code.encode()})
    assert file_context(view)(finding(5)) == ("def", "save", "db", "a", "b", "try", "db", "commit")
    assert file_context(view)(finding(2)) == ("def", "save", "db")


def test_a_diff_hunk_is_split_where_git_splits_it() -> None:
    hunk = "@@ -1,2 +1,3 @@\n a\x0cb\n+c\x1cd\n+e"
    assert hunk_context(hunk, 1) == ("a", "b", "c", "d")


def test_the_lines_above_a_comment_are_read_from_its_diff_hunk() -> None:
    hunk = "@@ -1,3 +1,4 @@ def f():\n a\n-b\n+  B\n+c\n d"
    assert hunk_context(hunk, 1) == ("a", "B", "c")
    assert hunk_context(hunk, 2) == ("a", "B")
    assert hunk_context("@@ -1 +1,2 @@\n+x = f(a,\n+      b)\n+y", 1) == ("x", "f", "a", "b")
    assert hunk_context("@@ -0,0 +1 @@\n+x", 1) == ()


def test_a_comment_on_a_line_with_no_finding_has_lost_it() -> None:
    # The line is unchanged but its finding is gone: the finding elsewhere is a new one.
    found = assign_identities([finding(20)], [comment(1, f"{GROUP}.0", 4)])
    assert ids(found) == [f"{GROUP}.1"]


def test_a_new_finding_never_takes_a_number_a_comment_has() -> None:
    comments = [comment(1, f"{GROUP}.0", 30), comment(2, f"{GROUP}.2", 31)]
    found = assign_identities([finding(4), finding(9), finding(30)], comments)
    assert ids(found) == [f"{GROUP}.1", f"{GROUP}.3", f"{GROUP}.0"]


def test_comments_only_match_findings_of_their_group() -> None:
    found = assign_identities([finding(4, group="ffff000011112222")], [comment(1, f"{GROUP}.0", 4)])
    assert ids(found) == ["ffff000011112222.0"]


def test_a_version_1_comment_is_grouped_by_its_fingerprint() -> None:
    findings = [finding(4, v1="9dea6680c40b491c7d6b"), finding(9, v1="101f778a0818d2fce3df")]
    found = assign_identities(findings, [comment(1, "9dea6680c40b491c7d6b", 9)])
    assert ids(found) == [f"{GROUP}.0", "9dea6680c40b491c7d6b"]


def test_a_version_1_comment_no_fingerprint_matches_is_placed_by_line_and_rule() -> None:
    old = comment(1, "9dea6680c40b491c7d6b", 4)
    assert ids(assign_identities([finding(4)], [old])) == ["9dea6680c40b491c7d6b"]
    other_rule = comment(1, "9dea6680c40b491c7d6b", 4, code="FL004")
    assert ids(assign_identities([finding(4)], [other_rule])) == [f"{GROUP}.0"]


def test_a_finding_made_without_a_content_key_keeps_its_fingerprint() -> None:
    assert ids(assign_identities([finding(4, group="")], [comment(1, f"{GROUP}.0", 4)])) == ["engine-4"]


def test_identities_of_both_versions_are_told_apart() -> None:
    assert parse_identity(f"{GROUP}.12") == (GROUP, 12)
    assert parse_identity("9dea6680c40b491c7d6b") is None
    assert parse_identity(".3") is None and parse_identity(f"{GROUP}.x") is None
