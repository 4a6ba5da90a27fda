"""Applying suggestions: every rule's fixes on its own examples, and the text editing
(overlaps, line endings, encodings) that ``faultline fix`` rests on."""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterator

import libcst
import pytest

from faultline.analyzers.core.changes import ChangeSet, diff_texts
from faultline.analyzers.core.config import Config
from faultline.analyzers.core.engine import Engine
from faultline.analyzers.core.findings import Finding, Hit, Severity, Suggestion
from faultline.analyzers.core.fixes import (
    BREAKS_PARSING,
    MAX_PASSES,
    NOT_SETTLED,
    NOT_UTF8,
    apply_suggestions,
    fix_file,
)
from faultline.analyzers.core.registry import all_rules
from faultline.analyzers.core.repo import MemoryRepoView
from faultline.analyzers.core.rule import Invalid, Rule
from faultline.analyzers.core.source import SourceFile
from faultline.analyzers.core.testing import FixSafety, example_suggestions, fix_safety, run_example
from faultline.analyzers.languages.typescript import Script


def _suggesting() -> list[tuple[type[Rule], Invalid]]:
    return [
        (rule, example) for rule in all_rules() for example in rule.INVALID if example.suggestion is not None
    ]


def _safe() -> list[tuple[type[Rule], Invalid]]:
    """The examples whose suggestion the rule marks safe: what ``faultline fix`` applies."""
    return [(rule, example) for rule, example in _suggesting() if _suggestion_of(rule, example).safe]


def _id(value: object) -> str:
    return value.code if isinstance(value, type) else ""


def assert_parses(path: str, text: str) -> None:
    """Parsed by the language's own parser; Python by libcst too (it round-trips every
    byte), TypeScript with no ERROR node anywhere in tree-sitter's tree."""
    source = SourceFile(path, text.encode())
    tree = source.tree
    if isinstance(tree, ast.Module):
        assert libcst.parse_module(text).code == text
    if isinstance(tree, Script):
        assert tree.root is None or not tree.root.has_error, f"{path}: ERROR nodes after the fix"


def _suggestion_of(rule: type[Rule], example: Invalid) -> Suggestion:
    findings = [f for f in run_example(rule, example) if f.suggestion is not None]
    assert len(findings) == 1, findings
    suggestion = findings[0].suggestion
    assert suggestion is not None
    return suggestion


@pytest.mark.parametrize(("rule", "example"), _suggesting(), ids=_id)
def test_a_suggestion_applied_to_its_example_parses(rule: type[Rule], example: Invalid) -> None:
    suggestion = _suggestion_of(rule, example)
    fixed, applied = apply_suggestions(example.code, [suggestion])
    assert applied == [suggestion] and fixed != example.code
    assert_parses(example.path, fixed)
    # Safe or not, one pass is enough: what the rule still says (FL001 on a bare
    # `except:` made `except Exception:`) comes without a further suggestion.
    again = run_example(rule, dataclasses.replace(example, code=fixed))
    assert [f for f in again if f.suggestion is not None] == [], f"{rule.code} suggests again on:\n{fixed}"


@pytest.mark.parametrize(("rule", "example"), _safe(), ids=_id)
def test_a_safe_fix_leaves_no_finding(rule: type[Rule], example: Invalid) -> None:
    engine = Engine(Config(), [rule])
    files = {path: text.encode() for path, text in example.files.items()}
    base = dict(files) | ({example.path: example.base.encode()} if example.base is not None else {})
    repo = MemoryRepoView({**files, example.path: example.code.encode()}, base)
    changes = ChangeSet({example.path: diff_texts(example.path, example.base, example.code)})
    findings = engine.run(changes, repo).findings
    result = fix_file(engine, example.path, example.code.encode(), findings, changes=changes, repo=repo)
    assert result.problem == "" and result.fixed == 1
    assert_parses(example.path, result.data.decode())
    again = run_example(rule, dataclasses.replace(example, code=result.data.decode()))
    assert again == [], f"{rule.code} still reports the fixed code:\n{result.data.decode()}"
    assert result.remaining == []


@pytest.mark.parametrize("rule", all_rules(), ids=lambda rule: rule.code)
def test_fix_safety_section_agrees_with_the_suggestions(rule: type[Rule]) -> None:
    """Whether a fix is safe is said once, where the suggestion is made; the docs' line is
    derived from the examples, and the prose of "Fix safety" must not say otherwise."""
    safety = fix_safety(rule)
    section = rule.section("Fix safety")
    if safety is FixSafety.NONE:
        assert "`faultline fix` applies" not in section
        return
    assert section, f"{rule.code} suggests fixes: its docstring needs a '## Fix safety' section"
    applies, leaves = (
        "`faultline fix`\napplies" in _joined(section),
        "`faultline fix`\nleaves" in _joined(section),
    )
    assert (applies, leaves) == (safety is FixSafety.SAFE, safety is FixSafety.UNSAFE), (
        f"{rule.code}: the suggestions are {safety.name}, the Fix safety section says otherwise"
    )


def _joined(section: str) -> str:
    """The section with its line breaks as spaces, and a break after "`faultline fix`"."""
    return " ".join(section.split()).replace("`faultline fix` ", "`faultline fix`\n")


def test_every_rule_that_fixes_is_seen_fixing() -> None:
    for rule in all_rules():
        assert bool(example_suggestions(rule)) == rule.can_fix(), rule.code


# The text editing.


def test_lines_keep_their_crlf_endings() -> None:
    text = "a\r\nb\r\nc\r\n"
    fixed, _ = apply_suggestions(text, [Suggestion(2, 2, "x\ny")])
    assert fixed == "a\r\nx\r\ny\r\nc\r\n"


def test_a_last_line_without_ending_stays_without() -> None:
    fixed, _ = apply_suggestions("a\nb", [Suggestion(2, 2, "c\nd")])
    assert fixed == "a\nc\nd"


def test_overlapping_suggestions_apply_the_first_only() -> None:
    first, second, apart = Suggestion(1, 2, "x"), Suggestion(2, 2, "y"), Suggestion(3, 3, "z")
    fixed, applied = apply_suggestions("a\nb\nc\n", [second, apart, first])
    assert fixed == "x\nz\n" and applied == [first, apart]


def test_identical_suggestions_apply_once_and_bad_lines_not_at_all() -> None:
    same = Suggestion(1, 1, "x")
    fixed, applied = apply_suggestions("a\nb\n", [same, same, Suggestion(5, 6, "y"), Suggestion(2, 1, "z")])
    assert fixed == "x\nb\n" and applied == [same]


def test_an_empty_suggestion_deletes_the_lines() -> None:
    fixed, _ = apply_suggestions("a\nb\nc\n", [Suggestion(2, 2, "")])
    assert fixed == "a\nc\n"


def _engine_and_findings(path: str, code: bytes) -> tuple[Engine, list[Finding], ChangeSet, MemoryRepoView]:
    engine = Engine(Config())
    changes = ChangeSet.whole([path])
    repo = MemoryRepoView({path: code})
    return engine, engine.run(changes, repo).findings, changes, repo


JWT = "import jwt\n\n\ndef claims(token):\n    return jwt.decode(token, KEY, algorithm='HS256')\n"


def test_a_bom_and_crlf_file_is_fixed_in_place() -> None:
    code = b"\xef\xbb\xbf" + JWT.replace("\n", "\r\n").encode()
    engine, findings, changes, repo = _engine_and_findings("app/auth.py", code)
    result = fix_file(engine, "app/auth.py", code, findings, changes=changes, repo=repo)
    assert result.fixed == 1
    assert result.data == code.replace(b"algorithm='HS256'", b"algorithms=['HS256']")


def test_a_file_in_another_encoding_is_left_alone() -> None:
    code = b"# -*- coding: latin-1 -*-\n# caf\xe9\n" + JWT.encode()
    engine, findings, changes, repo = _engine_and_findings("app/auth.py", code)
    assert any(f.suggestion for f in findings)
    result = fix_file(engine, "app/auth.py", code, findings, changes=changes, repo=repo)
    assert (result.problem, result.changed, result.fixed) == (NOT_UTF8, False, 0)


def test_a_fix_that_would_break_parsing_is_not_made() -> None:
    code = b"x = 1\ny = 2\n"
    broken = Finding(
        "FL999",
        "made-up",
        Severity.WARNING,
        "app/a.py",
        1,
        1,
        1,
        "m",
        "f",
        Suggestion(1, 1, "x = (", safe=True),
    )
    engine, _, changes, repo = _engine_and_findings("app/a.py", code)
    result = fix_file(engine, "app/a.py", code, [broken], changes=changes, repo=repo)
    assert (result.problem, result.changed) == (BREAKS_PARSING, False)


def test_overlapping_fixes_settle_over_passes() -> None:
    # Two safe fixes on one line: chaining the error, and the misspelt suppression.
    code = (
        b"def charge(order):\n    try:\n        return client.charge(order)\n"
        b"    except ConnectionError as err:\n"
        b"        raise ChargeFailed(order.id)  # faultline: ignore[broad-excpt]\n"
    )
    engine, findings, changes, repo = _engine_and_findings("app/pay.py", code)
    assert sorted(f.code for f in findings if f.suggestion) == ["FL009", "FL090"]
    result = fix_file(engine, "app/pay.py", code, findings, changes=changes, repo=repo)
    assert result.fixed == 2 and result.remaining == []
    assert result.data.endswith(b"raise ChargeFailed(order.id) from err  # faultline: ignore[broad-except]\n")


def test_unsafe_fixes_only_when_asked() -> None:
    code = b"import requests\n\n\ndef get(url):\n    return requests.get(url)\n"
    engine, findings, changes, repo = _engine_and_findings("app/net.py", code)
    kept = fix_file(engine, "app/net.py", code, findings, changes=changes, repo=repo)
    assert not kept.changed and [f.code for f in kept.left] == ["FL010"]
    made = fix_file(engine, "app/net.py", code, findings, changes=changes, repo=repo, unsafe=True)
    assert made.fixed == 1 and made.data.endswith(b"requests.get(url, timeout=10)\n")


class _Restless(Rule):
    """A rule whose fix never satisfies it: each pass adds to the line it reports."""

    code, slug, severity, summary = "FL998", "restless", Severity.NOTICE, "Never satisfied"

    def check(self, source: SourceFile, ctx: object) -> Iterator[Hit]:
        yield Hit(1, "again", suggestion=Suggestion(1, 1, source.line(1) + " #", safe=True))


def test_fixes_that_never_settle_stop_after_the_last_pass() -> None:
    engine = Engine(Config(), [_Restless])
    changes, repo = ChangeSet.whole(["a.py"]), MemoryRepoView({"a.py": b"x = 1\n"})
    findings = engine.run(changes, repo).findings
    result = fix_file(engine, "a.py", b"x = 1\n", findings, changes=changes, repo=repo)
    assert result.problem == NOT_SETTLED and result.fixed == MAX_PASSES
    assert result.data == b"x = 1" + b" #" * MAX_PASSES + b"\n"


def test_the_parse_check_sees_an_error_deep_in_typescript() -> None:
    assert_parses("web/a.tsx", "export const A = () => <div>{items.map((i) => i.name)}</div>;\n")
    # The engine reads this file (the error is not at the top level); a fix must not leave it.
    with pytest.raises(AssertionError, match="ERROR nodes"):
        assert_parses("web/a.ts", "function f() {\n  const x = (1 + ;\n}\n")


def test_a_fix_that_breaks_an_expression_in_typescript_is_not_made() -> None:
    code = b"export function f() {\n  return fetch(url);\n}\n"
    bad = Finding(
        "FL999",
        "made-up",
        Severity.WARNING,
        "web/a.ts",
        2,
        2,
        1,
        "m",
        "f",
        Suggestion(2, 2, "  return fetch(url;", safe=True),
    )
    engine, _, changes, repo = _engine_and_findings("web/a.ts", code)
    result = fix_file(engine, "web/a.ts", code, [bad], changes=changes, repo=repo)
    assert (result.problem, result.changed) == (BREAKS_PARSING, False)
