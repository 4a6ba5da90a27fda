"""FL000 parse-error: what the engine itself reports when a file a rule needs cannot be read.

It is no rule of the registry: no module under ``analyzers/rules/`` checks for it, the engine
reports it (``Engine.add_parse_error``) whichever rule asked for the file. The class is here
so that it is documented, listed and linked like the rules: ``faultline rules FL000``, its page
under docs/rules/, the README's table, SARIF's rule list. Its examples are run by the test
suite with every rule enabled (tests/analyzers/core/test_parse_error.py).
"""

from __future__ import annotations

from typing import ClassVar

from faultline.analyzers.core.findings import Severity
from faultline.analyzers.core.rule import Invalid, Rule, Valid

PARSE_ERROR_CODE = "FL000"
PARSE_ERROR_SLUG = "parse-error"


class ParseErrorNotice(Rule):
    """
    ## What it does
    Reports a changed file that a rule needed and Faultline could not read: Python or
    TypeScript with a syntax error, YAML, TOML or INI its tool would refuse, bytes that do
    not decode in the file's encoding (a coding cookie, else UTF-8). One notice per file, on
    the line of the error; no rule looks at that file in this run.

    Python is read with the `ast` module of the interpreter that runs Faultline, whatever
    version the project targets: code that interpreter reads is checked, and the syntax of
    Python 3.12 to 3.14 (PEP 695 type parameters and `type` statements, PEP 701 f-strings,
    PEP 750 t-strings, PEP 758 `except A, B:`) is read under 3.11 too, on the same lines
    and columns. Syntax newer than both is a parse error: run Faultline on a newer Python
    (see the README, *Python versions*).

    ## Why is this risky?
    A file Faultline cannot read is a file none of its rules checked: a broad `except` or
    a call without a timeout in it goes unreported. Saying so is better than a silent pass
    that reads as "no risk found". A syntax error is usually also a broken build; a
    parse error on code that runs is a version mismatch to fix in how Faultline is run.

    ## Example
    ```python
    def load(path):
        with open(path) as f
            return f.read()
    ```

    ## Use instead
    ```python
    def load(path):
        with open(path) as f:
            return f.read()
    ```

    It is a notice: it never fails the check unless `fail_on: notice`, and it cannot be
    silenced by a `faultline: ignore` comment (the comment is in the file that could not be
    read). To stop Faultline reading a file, list it under `exclude:` in the config.
    """

    code = PARSE_ERROR_CODE
    slug = PARSE_ERROR_SLUG
    severity = Severity.NOTICE
    summary = "A changed file could not be parsed, so no rule checked it"
    # Any file a rule reads: the engine reports it whichever rule asked.
    patterns = ()

    VALID: ClassVar[list[Valid]] = [
        # Python 3.12 syntax, read whatever interpreter runs Faultline.
        Valid(
            "type Rows = list[dict[str, object]]\n\n\n"
            "def first[T](rows: list[T]) -> T:\n    try:\n        return rows[0]\n"
            "    except Exception:\n        return None\n"
        ),
        # Python 3.14 syntax (PEP 758).
        Valid("try:\n    db.commit()\nexcept ValueError, TypeError:\n    raise\n"),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        Invalid(
            "def load(path):\n    with open(path) as f\n        try:\n            return f.read()\n"
            "        except Exception:\n            return None\n",
            line=2,
            severity=Severity.NOTICE,
            message="Faultline could not check this file: syntax error",
        ),
        Invalid(
            "jobs:\n  test:\n    steps:\n      - run: pytest\n     - run: coverage report\n",
            path=".github/workflows/ci.yml",
            line=5,
            message="invalid YAML",
        ),
        # A merge conflict left in the file: its markers are no TypeScript.
        Invalid(
            "export async function load(url: string) {\n  const res = await fetch(url);\n"
            "  return res.json();\n}\n<<<<<<< HEAD\nexport const retries = 3;\n=======\n"
            "export const retries = 5;\n>>>>>>> feature\n",
            path="src/load.ts",
            line=5,
            message="syntax error",
        ),
    ]
