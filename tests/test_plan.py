"""The engine's read plan and the path rules behind it (pure: no GitHub)."""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import given, settings
from hypothesis import strategies as st

from faultline.analyzers.core.changes import ChangeSet, FileChange, FileStatus
from faultline.analyzers.core.config import Config
from faultline.analyzers.core.context import Context
from faultline.analyzers.core.engine import Engine
from faultline.analyzers.core.findings import Hit, Severity
from faultline.analyzers.core.paths import context_entry, inside_repository, unsafe_reason
from faultline.analyzers.core.plan import MAX_FILE_BYTES, FileRead, Skipped
from faultline.analyzers.core.repo import MemoryRepoView
from faultline.analyzers.core.rule import Rule
from faultline.analyzers.core.source import SourceFile


class PyRule(Rule):
    """## What it does
    Reads Python files and the settings."""

    code = "FL960"
    slug = "plan-py"
    severity = Severity.WARNING
    summary = "Python"
    production_only = True
    context_paths = ("settings.toml", "conf/", "../outside.toml", "./conf/../setup.cfg")

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        yield Hit(1, "seen")


class NamingRule(Rule):
    """## What it does
    Names context paths from file contents, as a workflow's working-directory does."""

    code = "FL961"
    slug = "plan-naming"
    severity = Severity.WARNING
    summary = "Naming"
    patterns = ("*.yml",)

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        yield from ()

    def more_context(self, ctx: Context) -> Iterator[str]:
        source = ctx.source("ci.yml")
        yield from (source.text.splitlines() if source else ())


ENGINE = Engine(Config(exclude=("vendor/**",)), [PyRule, NamingRule])


def change(path: str, status: FileStatus = FileStatus.MODIFIED, old_path: str | None = None) -> FileChange:
    return FileChange(
        path=path, status=status, old_path=old_path, added_lines=frozenset({1}), hunks=((1, 1),)
    )


def changes(*items: FileChange) -> ChangeSet:
    return ChangeSet({item.path: item for item in items})


def test_the_plan_reads_what_the_rules_look_at_with_their_base_paths() -> None:
    plan = ENGINE.plan(
        changes(
            change("app/a.py"),
            change("app/new.py", FileStatus.ADDED),
            change("app/moved.py", FileStatus.RENAMED, "app/old.py"),
            change("app/gone.py", FileStatus.REMOVED),
            change("vendor/lib.py"),
            change("tests/test_a.py"),
            change("app/blob.py", FileStatus.BINARY),
            change("README.md"),
        )
    )
    assert plan.files == (
        FileRead("app/a.py", "app/a.py"),
        FileRead("app/new.py", None),
        FileRead("app/moved.py", "app/old.py"),
    )
    assert plan.max_file_bytes == MAX_FILE_BYTES and plan.skipped == ()


def test_the_plan_names_the_context_of_the_rules_that_run_normalised() -> None:
    plan = ENGINE.plan(changes(change("app/a.py")))
    # "../outside.toml" leaves the repository: dropped; "./conf/../setup.cfg" is "setup.cfg".
    assert plan.context == ("conf/", "settings.toml", "setup.cfg")
    assert plan.context_files == ["settings.toml", "setup.cfg"] and plan.context_folders == ["conf"]
    assert ENGINE.plan(changes(change("ci.yml"))).context == ()


def test_unsafe_changed_paths_are_skipped_never_planned() -> None:
    plan = ENGINE.plan(
        changes(
            change("app/../../other/contents/x.py"),
            change("app//x.py"),
            change("/etc/x.py"),
            change("app/ok.py", FileStatus.RENAMED, "app/../../x.py"),
            change("app/a#b?c d%20\t\x7fé.py"),
        )
    )
    assert [read.path for read in plan.files] == ["app/a#b?c d%20\t\x7fé.py"]
    assert [(s.path, s.reason) for s in plan.skipped] == [
        ("app/../../other/contents/x.py", "its path cannot be read safely (a '.' or '..' segment)"),
        ("app//x.py", "its path cannot be read safely (an empty segment)"),
        ("/etc/x.py", "its path cannot be read safely (absolute)"),
        ("app/ok.py", "its path cannot be read safely (a '.' or '..' segment)"),
    ]
    assert plan.paths == ["app/a#b?c d%20\t\x7fé.py", *(s.path for s in plan.skipped)]


def test_rule_named_context_is_normalised_and_stays_inside() -> None:
    named = "\n".join(
        [
            "../../other/contents/pyproject.toml",
            "backend/./tools/../setup.cfg",
            "/etc/passwd",
            "a/../../b",
            "..",
            ".",
            "nul\0byte",
            "ci/",
        ]
    )
    view = MemoryRepoView({"ci.yml": named.encode()})
    assert ENGINE.more_context_paths(changes(change("ci.yml")), view) == ["backend/setup.cfg", "ci/"]


def test_files_the_caller_did_not_read_are_skipped_not_missing() -> None:
    view = MemoryRepoView({"app/a.py": b"x = 1\n"})
    unread = [Skipped("app/big.py", "larger than 2048 KiB (3,000,000 bytes)")]
    report = ENGINE.run(changes(change("app/a.py"), change("app/big.py")), view, unread)
    assert report.skipped == unread
    assert report.files_checked == 1 and [f.path for f in report.findings] == ["app/a.py"]


def test_unsafe_reasons() -> None:
    assert unsafe_reason("app/x.py") is None
    assert unsafe_reason("a\nb/c d#?%.py") is None  # git allows any byte but NUL and "/"
    assert unsafe_reason("...") is None and unsafe_reason(".github/ci.yml") is None
    assert unsafe_reason("") == "empty"
    assert unsafe_reason("a\0b") == "a NUL byte"
    assert unsafe_reason("/a") == "absolute"
    assert unsafe_reason("a/") == "an empty segment"
    assert unsafe_reason("./a") == unsafe_reason("a/..") == "a '.' or '..' segment"


def test_context_entries_keep_a_folders_slash() -> None:
    assert context_entry(".github/workflows/") == ".github/workflows/"
    assert context_entry("a/../b/") == "b/"
    assert context_entry("../b/") is None and context_entry("/") is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["..", ".", "", "a", "b c", "#", "%2e%2e", "\n"]), max_size=6))
def test_a_normalised_path_is_safe_and_inside(segments: list[str]) -> None:
    normal = inside_repository("/".join(segments))
    if normal is not None:
        assert unsafe_reason(normal) is None
        assert not normal.startswith("..")
