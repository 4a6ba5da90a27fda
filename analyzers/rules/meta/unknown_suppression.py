"""FL090 unknown-suppression: a suppression names no rule, so it hides nothing."""

from __future__ import annotations

import difflib
import io
import tokenize
from collections.abc import Iterator
from typing import ClassVar

from faultline.analyzers.core.context import Context
from faultline.analyzers.core.findings import Hit, Severity, Suggestion
from faultline.analyzers.core.rule import Invalid, Rule, Valid, replace_span
from faultline.analyzers.core.source import SourceFile
from faultline.analyzers.core.suppressions import SuppressionKey, suppression_keys
from faultline.analyzers.languages import language_for

# What the engine itself reports, beside the rules: a file it could not read.
ENGINE_NAMES = ("FL000", "parse-error")


class UnknownSuppression(Rule):
    """
    ## What it does
    Checks for `faultline: ignore[...]` comments that name a rule Faultline does
    not have, by slug or by code: `# faultline: ignore[broad-exept]`, `ignore[FL01]`.
    Like ruff's `RUF100`, in every file a language owns (Python, YAML, SQL, TOML, INI).

    ## Why is this risky?
    A misspelt suppression hides nothing: the finding it was written for is
    reported again on the next change, or, worse, the author believes a rule was
    consciously silenced here and a reviewer trusts the comment. Renamed rules leave
    such comments behind too. Names of rules that exist but are disabled in the
    config are not reported: they still say which rule was meant.

    ## Example
    ```python
    try:
        db.commit()
    except Exception:  # faultline: ignore[broad-exept] the audit row is optional
        pass
    ```

    ## Use instead
    ```python
    try:
        db.commit()
    except Exception:  # faultline: ignore[broad-except] the audit row is optional
        pass
    ```

    ## Fix safety
    The suggestion replaces the unknown name with the one rule name or code it is
    closest to, when exactly one is close. The suppression then works: the finding
    it was meant to hide is hidden, so check that it is the rule the author meant.
    Only a comment changes, to say what its author wrote it for: `faultline fix`
    applies it.
    """

    code = "FL090"
    slug = "unknown-suppression"
    severity = Severity.NOTICE
    summary = "A suppression names no rule, so it hides nothing"
    patterns = ()  # every file a language owns: see ``applies_to``
    needles = (b"faultline", b"Faultline", b"FAULTLINE")

    VALID: ClassVar[list[Valid]] = [
        Valid(
            "try:\n    db.commit()\nexcept Exception:  # faultline: ignore[broad-except] optional\n    pass\n"
        ),
        Valid("x = 1  # faultline: ignore[FL001, cascade-delete]\n"),
        Valid("x = 1  # faultline: ignore\n"),
        Valid("x = 1  # faultline: ignore[parse-error]\n"),
        # Written in a string, not a comment: documentation of the syntax.
        Valid('HELP = "write # faultline: ignore[your-rule] on the line"\n'),
        Valid("-- faultline: ignore[cascade-delete]\nSELECT 1;\n", path="db/0001.sql"),
        # An unknown name on a line the change did not add.
        Valid(
            "x = 1  # faultline: ignore[broad-exept]\ny = 2\n",
            base="x = 1  # faultline: ignore[broad-exept]\n",
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        Invalid(
            "try:\n    db.commit()\nexcept Exception:  # faultline: ignore[broad-exept] optional\n    pass\n",
            line=3,
            severity=Severity.NOTICE,
            message="`broad-exept` names no Faultline rule, so this suppression hides nothing; "
            "did you mean `broad-except`?",
            suggestion="except Exception:  # faultline: ignore[broad-except] optional",
        ),
        Invalid(
            "x = 1  # faultline: ignore[FL001, no-such-rule]\n",
            line=1,
            message="`no-such-rule` names no Faultline rule",
        ),
        Invalid(
            "jobs:\n  test:\n    runs-on: ubuntu-latest  # faultline: ignore[coverage-gates]\n",
            path=".github/workflows/ci.yml",
            line=3,
            message="did you mean `coverage-gate`?",
            suggestion="    runs-on: ubuntu-latest  # faultline: ignore[coverage-gate]",
        ),
    ]

    def applies_to(self, path: str) -> bool:
        return language_for(path) is not None

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        known = _known()
        unknown = [key for key in suppression_keys(source) if key.key.lower() not in known]
        if not unknown:
            return
        comments = _comment_lines(source)
        for key in unknown:
            if comments is None or key.line in comments:
                yield _hit(source, key, known)


def _known() -> dict[str, str]:
    """Every name a suppression may use, lower-cased, and how it is spelt."""
    from faultline.analyzers.core.registry import all_rules  # the registry imports this module

    names = {name.lower(): name for name in ENGINE_NAMES}
    names.update((name.lower(), name) for rule in all_rules() for name in (rule.code, rule.slug))
    return names


def _comment_lines(source: SourceFile) -> set[int] | None:
    """The lines of a Python file that hold a comment; None for other languages
    (or Python that does not tokenize), where every match counts."""
    if not source.path.endswith((".py", ".pyi")):
        return None
    try:
        tokens = tokenize.generate_tokens(io.StringIO(source.text).readline)
        return {token.start[0] for token in tokens if token.type == tokenize.COMMENT}
    except (tokenize.TokenError, SyntaxError):
        return None


def _hit(source: SourceFile, key: SuppressionKey, known: dict[str, str]) -> Hit:
    message = f"`{key.key}` names no Faultline rule, so this suppression hides nothing"
    close = difflib.get_close_matches(key.key.lower(), sorted(known), n=2, cutoff=0.8)
    suggestion: Suggestion | None = None
    if len(close) == 1:
        name = known[close[0]]
        message += f"; did you mean `{name}`?"
        line = source.line(key.line)
        start = len(line[: key.column].encode())
        end = start + len(key.key.encode())
        suggestion = replace_span(source, key.line, start, key.line, end, name, f"Suppress {name}", safe=True)
    return Hit(key.line, message, column=key.column + 1, severity=Severity.NOTICE, suggestion=suggestion)
