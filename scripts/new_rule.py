"""Start a new rule: allocate its code and write its skeleton, its test file and its docs.

    python scripts/new_rule.py errors swallowed-cancel --severity warning \
        --summary "A handler swallows task cancellation"

writes ``analyzers/rules/errors/swallowed_cancel.py`` (the class with the rationale's headings,
two VALID and two INVALID examples to replace, and an empty ``check``),
``tests/analyzers/rules/errors/test_swallowed_cancel.py``, then regenerates ``docs/rules/`` and
the README's rules table. The INVALID examples fail until ``check`` reports it: write the
examples first, then the rule.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLUG = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
FAMILY = re.compile(r"^[a-z][a-z0-9_]*$")
CODE = re.compile(r"""^\s+code = "FL(\d{3})"$""", re.MULTILINE)

RULE_TEMPLATE = '''"""{code} {slug}: {summary_lower}."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from faultline.analyzers.core.context import Context
from faultline.analyzers.core.findings import Hit, Severity
from faultline.analyzers.core.rule import Invalid, Rule, Valid
from faultline.analyzers.core.source import SourceFile


class {class_name}(Rule):
    """
    ## What it does
    Checks for ... (one sentence).

    ## Why is this risky?
    What goes wrong in production, concretely.

    ## Example
    ```python
    risky_code()
    ```

    ## Use instead
    ```python
    safer_code()
    ```
    """

    code = "{code}"
    slug = "{slug}"
    severity = Severity.{severity}
    summary = "{summary}"
    patterns = ("*.py",)

    VALID: ClassVar[list[Valid]] = [
        Valid("safer_code()\\n"),
        Valid("# a near-miss that must not be reported\\nrisky_code  # not a call\\n"),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        Invalid("risky_code()\\n", line=1),
        Invalid("def handler():\\n    risky_code()\\n", line=2),
    ]

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        yield from ()
'''

TEST_TEMPLATE = '''"""{code} {slug} beyond its examples (near-misses, options, real-code cases)."""

from __future__ import annotations

from faultline.analyzers.core.rule import Valid
from faultline.analyzers.core.testing import run_example
from faultline.analyzers.rules.{family}.{module} import {class_name}


def test_a_near_miss_is_not_reported() -> None:
    assert run_example({class_name}, Valid("safer_code()\\n")) == []
'''


def next_code(root: Path) -> str:
    used = [
        int(n)
        for path in (root / "analyzers" / "rules").rglob("*.py")
        for n in CODE.findall(path.read_text())
    ]
    return f"FL{max(used, default=0) + 1:03d}"


def class_name(slug: str) -> str:
    return "".join(part.capitalize() for part in slug.split("-"))


def ensure_package(folder: Path, docstring: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    init = folder / "__init__.py"
    if not init.exists():
        init.write_text(f'"""{docstring}"""\n' if docstring else "")


def write_new(path: Path, text: str) -> None:
    if path.exists():
        raise SystemExit(f"new_rule: {path} exists already")
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("family", help="the rules/ folder it belongs to: errors, database, ci, ...")
    parser.add_argument("slug", help="kebab-case name, e.g. swallowed-cancel")
    parser.add_argument("--severity", choices=("error", "warning", "notice"), default="warning")
    parser.add_argument("--summary", default="", help="one line, no final full stop")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository (default: this one)")
    parser.add_argument("--code", help="the code to give it, e.g. FL012 (default: the next free one)")
    args = parser.parse_args()
    if args.code is not None and not re.fullmatch(r"FL\d{3}", args.code):
        parser.error("a code is FL and three digits, e.g. FL012")
    if not SLUG.match(args.slug) or not FAMILY.match(args.family):
        parser.error("the slug is kebab-case (a-z, 0-9, -) and the family a Python package name")
    root: Path = args.root
    module = args.slug.replace("-", "_")
    summary = args.summary.rstrip(".") or f"TODO: what {args.slug} catches"
    fields = {
        "code": args.code or next_code(root),
        "slug": args.slug,
        "class_name": class_name(args.slug),
        "severity": args.severity.upper(),
        "summary": summary.replace('"', "'"),
        "summary_lower": summary[:1].lower() + summary[1:],
        "family": args.family,
        "module": module,
    }
    rules = root / "analyzers" / "rules" / args.family
    tests = root / "tests" / "analyzers" / "rules" / args.family
    ensure_package(rules, f"Rules of the {args.family} family.")
    ensure_package(tests, "")
    write_new(rules / f"{module}.py", RULE_TEMPLATE.format(**fields))
    write_new(tests / f"test_{module}.py", TEST_TEMPLATE.format(**fields))
    print(f"{fields['code']} {args.slug}: now write its examples, then its check")
    # The docs come from the rule classes of ``root``'s own package, the new one included.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, str(root / "scripts" / "docs.py"), "--root", str(root)]
    docs = subprocess.run(command, env=env, check=False)
    return docs.returncode


if __name__ == "__main__":
    sys.exit(main())
