"""A language is one registry entry: a test double of a second language, with a rule for it,
goes through the engine, suppressions, test-file globs and renderers, none of them changed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest

from faultline.analyzers.core.changes import ChangeSet, diff_texts
from faultline.analyzers.core.config import Config
from faultline.analyzers.core.context import Context
from faultline.analyzers.core.engine import Engine
from faultline.analyzers.core.findings import Hit, Severity
from faultline.analyzers.core.repo import MemoryRepoView
from faultline.analyzers.core.rule import Rule
from faultline.analyzers.core.source import ParseError, SourceFile
from faultline.analyzers.languages import Language, fence_for, language_for, register


def parse_toy(text: str, path: str) -> list[str]:
    """A toy language: one statement a line, ``;`` ends each."""
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if line and not line.endswith(";") and not line.startswith("//"):
            raise ParseError(f"missing ';' on line {number}", number)
    return lines


TOY = Language(
    name="toy",
    suffixes=(".toy",),
    comment_prefixes=("//",),
    test_globs=("*_spec.toy",),
    fence="toy",
    parse=parse_toy,
)


class NoRetry(Rule):
    """## What it does
    Checks for ``retry 0;``.
    """

    code = "FL990"
    slug = "toy-no-retry"
    severity = Severity.WARNING
    summary = "A toy statement turns retries off"
    patterns: ClassVar[tuple[str, ...]] = ("*.toy",)
    production_only = True

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        for number, line in enumerate(source.tree, start=1):
            if line.strip() == "retry 0;":
                yield Hit(number, "retries are off")


@pytest.fixture(autouse=True)
def toy_language() -> Iterator[None]:
    unregister = register(TOY)
    yield
    unregister()


def findings(files: dict[str, str]) -> list[tuple[str, str, int]]:
    changes = ChangeSet({path: diff_texts(path, None, text) for path, text in files.items()})
    view = MemoryRepoView({path: text.encode() for path, text in files.items()})
    report = Engine(Config(), [NoRetry]).run(changes, view)
    return [(f.code, f.path, f.line) for f in report.findings]


def test_the_registry_knows_the_new_language() -> None:
    assert language_for("jobs/nightly.toy") is TOY
    assert fence_for("jobs/nightly.toy") == "toy"
    assert language_for("app/main.py") is not TOY


def test_the_engine_runs_a_rule_of_the_new_language_with_its_comments_and_test_globs() -> None:
    files = {
        "jobs/nightly.toy": "start;\nretry 0;\n// faultline: ignore[toy-no-retry]\nretry 0;\n",
        "jobs/nightly_spec.toy": "retry 0;\n",  # its test files: a production-only rule skips them
        "jobs/broken.toy": "retry 0\n",
    }
    assert findings(files) == [
        ("FL000", "jobs/broken.toy", 1),
        ("FL990", "jobs/nightly.toy", 2),
    ]
