"""FL090 unknown-suppression beyond its examples: codes, other languages, real engine runs."""

from __future__ import annotations

from faultline.analyzers.core.rule import Valid
from faultline.analyzers.core.testing import run_example
from faultline.analyzers.rules.meta.unknown_suppression import UnknownSuppression


def findings(code: str, path: str = "app/service.py") -> list[tuple[int, str, str | None]]:
    found = run_example(UnknownSuppression, Valid(code, path=path))
    return [(f.line, f.message, f.suggestion.replacement if f.suggestion else None) for f in found]


def test_a_code_close_to_several_codes_gets_no_guess_and_case_does_not_matter() -> None:
    ((line, message, replacement),) = findings("x = 1  # faultline: ignore[fl0001]\n")
    assert (line, replacement) == (1, None)
    assert message.startswith("`fl0001` names no Faultline rule")
    assert findings("x = 1  # Faultline: ignore[fl001, Broad-Except]\n") == []


def test_sql_comments_and_ini_semicolons_are_read() -> None:
    assert findings("SELECT 1;  -- faultline: ignore[cascade-delet]\n", path="db/0001.sql")
    assert findings("[coverage:report]\n; faultline: ignore[coverage-gat]\n", path="setup.cfg")


def test_a_name_far_from_every_rule_has_no_suggestion() -> None:
    ((_, message, replacement),) = findings("x = 1  # faultline: ignore[everything-please]\n")
    assert replacement is None and "did you mean" not in message


def test_python_that_does_not_tokenize_still_gets_its_comment_read() -> None:
    assert findings('x = """  # faultline: ignore[nope]\n')
