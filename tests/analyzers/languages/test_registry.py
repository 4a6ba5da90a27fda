"""A language added from outside the engine: a test double with its own suffix, comment
syntax, parser and test files. The engine, suppressions and docs handle it unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest

from faultline.analyzers.core.changes import ChangeSet, diff_texts
from faultline.analyzers.core.config import Config
from faultline.analyzers.core.context import Context
from faultline.analyzers.core.engine import Engine
from faultline.analyzers.core.findings import Finding, Hit, Severity
from faultline.analyzers.core.repo import MemoryRepoView
from faultline.analyzers.core.rule import Invalid, Rule, Valid
from faultline.analyzers.core.source import SourceFile
from faultline.analyzers.languages import Language, ParseError, fence_for, language_for, register
from faultline.app.render.rule_docs import rule_page


def parse_settings(text: str, path: str) -> dict[int, tuple[str, str]]:
    """``key = value`` lines by line number; anything else but comments is an error."""
    entries: dict[int, tuple[str, str]] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        body = line.split("//", 1)[0].strip()
        if not body:
            continue
        if "=" not in body:
            raise ParseError(f"expected key = value in {path}", number)
        key, value = body.split("=", 1)
        entries[number] = (key.strip(), value.strip())
    return entries


SETTINGS = Language(
    name="settings",
    suffixes=(".settings",),
    comment_prefixes=("//",),
    test_globs=("*.test.settings",),
    fence="ini",
    parse=parse_settings,
)


class PoolSetting(Rule):
    """
    ## What it does
    Checks for `pool = N` in a `.settings` file.

    ## Why is this risky?
    A test double of a rule.

    ## Example
    ```
    pool = 20
    ```

    ## Use instead
    ```
    pool = ${POOL}
    ```
    """

    code = "FL900"
    slug = "pool-setting"
    severity = Severity.WARNING
    summary = "A pool size in a settings file"
    patterns = ("*.settings",)
    production_only = True
    VALID: ClassVar[list[Valid]] = [Valid("pool = ${POOL}\n", path="app.settings")]
    INVALID: ClassVar[list[Invalid]] = [Invalid("pool = 20\n", path="app.settings", line=1)]

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        for number, (key, value) in source.tree.items():
            if key == "pool" and value.split()[0].isdigit():
                yield Hit(number, f"`pool` is hard-coded to {value.split()[0]}")


@pytest.fixture(autouse=True)
def settings_language() -> Iterator[None]:
    unregister = register(SETTINGS)
    yield
    unregister()


def check(files: dict[str, str]) -> list[Finding]:
    changes = ChangeSet({path: diff_texts(path, None, text) for path, text in files.items()})
    repo = MemoryRepoView({path: text.encode() for path, text in files.items()})
    return Engine(Config(), [PoolSetting]).run(changes, repo).findings


def test_the_registry_knows_the_new_language() -> None:
    assert language_for("deploy/app.settings") is SETTINGS
    assert fence_for("deploy/app.settings") == "ini"
    assert language_for("app.py") is not SETTINGS


def test_the_engine_runs_a_rule_of_the_new_language() -> None:
    found = check({"deploy/app.settings": "// pools\nname = shop\npool = 20\n"})
    assert [(f.code, f.line, f.message) for f in found] == [("FL900", 3, "`pool` is hard-coded to 20")]


def test_its_comment_syntax_suppresses() -> None:
    assert check({"app.settings": "pool = 20  // faultline: ignore[pool-setting]\n"}) == []
    # The other languages' comment syntax means nothing here.
    assert len(check({"app.settings": "pool = 20  # faultline: ignore[pool-setting]\n"})) == 1


def test_its_test_files_are_skipped_by_production_only_rules() -> None:
    assert check({"deploy/app.test.settings": "pool = 20\n"}) == []


def test_its_parse_errors_are_fl000() -> None:
    found = check({"app.settings": "pool = 20\nnot a setting\n"})
    assert [(f.code, f.line) for f in found] == [("FL000", 2)]


def test_its_rule_docs_use_its_fence() -> None:
    assert "```ini\npool = 20\n```" in rule_page(PoolSetting)


def test_removed_again_it_is_unknown() -> None:
    unregister = register(Language(name="other", suffixes=(".other",)))
    unregister()
    assert language_for("x.other") is None


def test_a_name_asked_about_before_it_was_registered_gets_the_new_answer() -> None:
    assert language_for("conf/app.other") is None
    unregister = register(Language(name="other", suffixes=(".other",)))
    try:
        language = language_for("conf/app.other")
        assert language is not None and language.name == "other"
    finally:
        unregister()
    assert language_for("conf/app.other") is None
