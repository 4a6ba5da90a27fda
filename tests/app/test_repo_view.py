"""Reading a pull request through GitHub: which files are fetched, hunks, base
versions, missing patches, binary files, context paths (against the simulator)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from faultline.analyzers.core.changes import ChangeSet, FileStatus, file_change_from_patch
from faultline.analyzers.core.config import Config
from faultline.analyzers.core.context import Context
from faultline.analyzers.core.engine import Engine
from faultline.analyzers.core.findings import Hit, Severity
from faultline.analyzers.core.rule import Rule
from faultline.analyzers.core.source import SourceFile
from faultline.app.github.client import InstallationClient
from faultline.app.github.reader import PullContents, PullReader, PullRef
from faultline.app.github.reads import is_binary, rebuilt_base
from tests.app.sim_fixtures import FULL_NAME, OWNER, REPO, World, sim_world
from tests.github_sim import PullRequest


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with sim_world(tmp_path) as made:
        # Each file over REST, as for contents GraphQL cannot send (batched reads: test_batch_reads.py).
        made.settings = made.settings.model_copy(update={"github_read_batch": 0})
        yield made


class PyRule(Rule):
    """## What it does
    Reads Python files and the settings."""

    code = "FL950"
    slug = "py-rule"
    severity = Severity.WARNING
    summary = "Python"
    production_only = True
    context_paths = ("settings.toml", "conf/")

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        yield from ()


class YamlRule(Rule):
    """## What it does
    Reads YAML files."""

    code = "FL951"
    slug = "yaml-rule"
    severity = Severity.WARNING
    summary = "YAML"
    patterns = ("*.yml",)
    context_paths = ("never-fetched.toml",)

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        yield from ()


ENGINE = Engine(Config(), [PyRule, YamlRule])
BASE = "".join(f"line {n}\n" for n in range(1, 31))
HEAD = BASE.replace("line 5\n", "changed 5\n").replace("line 25\n", "changed 25\n")


def load(world: World, pull: PullRequest, engine: Engine = ENGINE) -> PullContents:
    ref = PullRef(OWNER, REPO, pull.number, pull.head_sha, pull.base_sha, len(pull_files(world, pull)))

    async def go() -> PullContents:
        async with InstallationClient(world.settings, world.installation.id) as client:
            return await PullReader(client, ref).load(engine)

    return asyncio.run(go())


def pull_files(world: World, pull: PullRequest) -> list[str]:
    return [change.filename for change in world.sim.diff(pull.base_sha, pull.head_sha)]


def fetched(world: World, under: str = "") -> list[str]:
    prefix = f"/repos/{FULL_NAME}/contents/"
    paths = (r.path.removeprefix(prefix) for r in world.sim.requests_matching("GET", prefix + "*"))
    return sorted(path for path in paths if path.startswith(under))


def on_main(world: World, files: dict[str, str | bytes | None]) -> None:
    world.main_sha = world.commit(files)
    world.sim.set_branch(FULL_NAME, "main", world.main_sha)


def test_only_wanted_files_and_their_rules_context_are_fetched(world: World) -> None:
    on_main(world, {"conf/a.ini": "a", "conf/b.ini": "b", "conf/sub/c.ini": "c", "settings.toml": "s"})
    pull = world.open_pull({"app/x.py": "x = 1\n", "README.md": "words\n", "tests/test_x.py": "y = 2\n"})
    contents = load(world, pull)
    assert contents.wanted == ["app/x.py"]  # README: no rule; tests/: a production-only rule
    assert sorted(contents.view.new) == ["app/x.py", "conf/a.ini", "conf/b.ini", "settings.toml"]
    # The folder's listing and the sizes came from one GraphQL query: no contents request.
    assert fetched(world) == ["app/x.py", "conf/a.ini", "conf/b.ini", "settings.toml"]
    assert sorted(contents.changes.paths) == ["README.md", "app/x.py", "tests/test_x.py"]


def test_nothing_is_fetched_when_no_file_is_wanted(world: World) -> None:
    pull = world.open_pull({"README.md": "words\n"})
    contents = load(world, pull)
    assert contents.wanted == [] and fetched(world) == []


def test_hunks_come_from_the_patch_and_the_base_is_rebuilt_from_it(world: World) -> None:
    on_main(world, {"app/x.py": BASE})
    pull = world.open_pull({"app/x.py": HEAD})
    contents = load(world, pull)
    change = contents.changes.files["app/x.py"]
    assert change.status is FileStatus.MODIFIED
    assert change.added_lines == frozenset({5, 25}) and change.hunks == ((2, 8), (22, 28))
    assert contents.view.new["app/x.py"] == HEAD.encode()
    assert contents.view.base["app/x.py"] == BASE.encode()
    assert fetched(world, "app/") == ["app/x.py"]  # the base needed no request


def test_base_moved_on_after_the_branch_point(world: World) -> None:
    on_main(world, {"app/x.py": BASE})
    branch_point = world.main_sha
    pull_head = world.commit({"app/x.py": HEAD}, parent=branch_point)
    on_main(world, {"app/x.py": BASE + "added on main later\n"})  # main moves on
    pull = world.sim.open_pull(FULL_NAME, pull_head)
    contents = load(world, pull)
    assert contents.view.base["app/x.py"] == BASE.encode()  # the merge base, not main's tip


def test_missing_patch_is_diffed_from_both_versions(world: World) -> None:
    on_main(world, {"app/x.py": BASE})
    pull = world.open_pull({"app/x.py": HEAD})
    pull.omit_patch.add("app/x.py")
    contents = load(world, pull)
    change = contents.changes.files["app/x.py"]
    assert change.added_lines == frozenset({5, 25}) and change.hunks == ((2, 8), (22, 28))
    assert contents.view.base["app/x.py"] == BASE.encode()
    assert fetched(world, "app/") == ["app/x.py", "app/x.py"]  # head, then base


def test_binary_file_without_patch(world: World) -> None:
    pull = world.open_pull({"app/blob.py": b"\x00\x01\x02"})
    contents = load(world, pull)
    assert contents.changes.files["app/blob.py"].status is FileStatus.BINARY


def test_added_and_removed_and_renamed_files(world: World) -> None:
    on_main(world, {"app/old.py": BASE, "app/gone.py": "bye\n"})
    pull = world.open_pull(
        {"app/old.py": None, "app/new.py": HEAD, "app/gone.py": None, "app/fresh.py": "a\nb\n"}
    )
    contents = load(world, pull)
    renamed = contents.changes.files["app/new.py"]
    assert (renamed.status, renamed.old_path) == (FileStatus.RENAMED, "app/old.py")
    assert contents.view.base["app/old.py"] == BASE.encode()
    fresh = contents.changes.files["app/fresh.py"]
    assert (fresh.status, fresh.added_lines) == (FileStatus.ADDED, frozenset({1, 2}))
    assert contents.changes.files["app/gone.py"].status is FileStatus.REMOVED
    assert "app/gone.py" not in contents.wanted and "app/gone.py" not in fetched(world)


def test_fork_files_are_read_from_the_base_repository(world: World) -> None:
    world.sim.add_repo("bob/shop", fork_of=FULL_NAME)
    pull = world.open_pull({"app/x.py": HEAD}, user="bob", head_repo="bob/shop")
    contents = load(world, pull)
    assert contents.view.new["app/x.py"] == HEAD.encode()


def test_more_than_3000_files_are_cut_and_said(world: World) -> None:
    pull = world.open_pull({f"data/{n:04d}.txt": "x\n" for n in range(3001)})
    ref = PullRef(OWNER, REPO, pull.number, pull.head_sha, pull.base_sha, 3001)

    async def go() -> PullContents:
        async with InstallationClient(world.settings, world.installation.id) as client:
            return await PullReader(client, ref).load(ENGINE)

    contents = asyncio.run(go())
    assert len(contents.changes) == 3000 and contents.truncated
    assert [(s.path, s.reason) for s in contents.skipped] == [
        ("1 more files", "the pull request changes 3001 files; GitHub lists only the first 3000")
    ]


def test_the_plan_respects_the_config() -> None:
    config = Config(exclude=("vendor/**",))
    engine = Engine(config, [PyRule, YamlRule])
    changes = ChangeSet.whole(["app/a.py", "vendor/b.py", "ci.yml", "x.txt"])
    assert engine.plan(changes).paths == ["app/a.py", "ci.yml"]


def test_the_plan_names_the_context_of_running_rules_only() -> None:
    assert ENGINE.plan(ChangeSet.whole(["app/a.py"])).context == ("conf/", "settings.toml")
    assert ENGINE.plan(ChangeSet.whole(["ci.yml"])).context == ("never-fetched.toml",)
    assert ENGINE.plan(ChangeSet.whole(["README.md"])).context == ()


def test_is_binary() -> None:
    assert is_binary(b"a\x00b") and not is_binary(b"text") and not is_binary(None)
    assert not is_binary(b"a" * 9000 + b"\x00")  # git looks at the first 8000 bytes only


def test_base_rebuilt_keeps_crlf_and_bytes_that_are_not_utf8() -> None:
    lines = [b"\xff latin-1 line\r\n", *(f"line {n}\r\n".encode() for n in range(2, 11))]
    base = b"".join(lines)
    new = base.replace(b"line 7\r\n", b"LINE 7\r\n")
    patch = "@@ -4,7 +4,7 @@\n" + "\n".join(
        [
            " line 4\r",
            " line 5\r",
            " line 6\r",
            "-line 7\r",
            "+LINE 7\r",
            " line 8\r",
            " line 9\r",
            " line 10\r",
        ]
    )
    change = file_change_from_patch("a.py", patch, FileStatus.MODIFIED)
    assert change.added_lines == frozenset({7})
    assert rebuilt_base(change, new) == base
