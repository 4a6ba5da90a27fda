"""FL005 on real git repositories through the CLI, and what the App reads for it."""

from __future__ import annotations

import json

import pytest

from faultline.analyzers.core.changes import ChangeSet, diff_texts
from faultline.analyzers.core.config import Config
from faultline.analyzers.core.engine import Engine
from faultline.analyzers.core.repo import MemoryRepoView
from faultline.analyzers.lib.python.alembic import Migration, read_migration, version_folders
from faultline.analyzers.rules.database.alembic_history import History
from faultline.analyzers.rules.database.alembic_multiple_heads import AlembicMultipleHeads
from faultline.app.cli.main import main
from tests.conftest import GitRepo

VERSIONS = "migrations/versions"


def migration(revision: str, down: str, labels: str = "None") -> str:
    return (
        f'"""revision {revision}"""\nfrom alembic import op\n\n'
        f'revision = "{revision}"\ndown_revision = {down}\nbranch_labels = {labels}\ndepends_on = None\n\n\n'
        "def upgrade():\n    pass\n"
    )


def check(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, list[dict[str, object]]]:
    monkeypatch.chdir(repo.root)
    config = repo.root.parent / "faultline.yml"
    config.write_text("enable: [FL005]\n")
    code = main(["check", "--format", "json", "--config", str(config), *args])
    out, _ = capsys.readouterr()
    return code, json.loads(out)["findings"]


@pytest.fixture
def history(git_repo: GitRepo) -> GitRepo:
    git_repo.write("alembic.ini", "[alembic]\nscript_location = migrations\n")
    git_repo.write(f"{VERSIONS}/0001_base.py", migration("0001", "None"))
    git_repo.write(f"{VERSIONS}/0002_users.py", migration("0002", '"0001"'))
    git_repo.commit("base")
    return git_repo


def test_a_pull_request_that_forks_the_history_fails_the_check(
    history: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    history.write(f"{VERSIONS}/0003_email.py", migration("0003", '"0001"'))
    history.commit("add email")
    code, findings = check(history, monkeypatch, capsys, "--base", "HEAD~1")
    assert code != 0
    assert [(f["path"], f["line"], f["severity"]) for f in findings] == [
        (f"{VERSIONS}/0003_email.py", 5, "error")
    ]
    assert "`0003` (0003_email.py) and `0002` (0002_users.py) both revise `0001`" in str(
        findings[0]["message"]
    )


def test_re_pointing_or_merging_the_fork_clears_it(
    history: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    history.write(f"{VERSIONS}/0003_email.py", migration("0003", '"0002"'))
    history.commit("add email on the head")
    assert check(history, monkeypatch, capsys, "--base", "HEAD~1") == (0, [])
    history.write(f"{VERSIONS}/0004_phone.py", migration("0004", '"0002"'))
    history.write(f"{VERSIONS}/0005_merge.py", migration("0005", '("0003", "0004")'))
    history.commit("a fork and its merge in one change")
    assert check(history, monkeypatch, capsys, "--base", "HEAD~1") == (0, [])
    assert check(history, monkeypatch, capsys, "--all") == (0, [])


def test_two_new_migrations_on_one_parent_are_one_finding(
    history: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    history.write(f"{VERSIONS}/0003_a.py", migration("0003", '"0002"'))
    history.write(f"{VERSIONS}/0004_b.py", migration("0004", '"0002"'))
    history.commit("two features")
    for args in (["--base", "HEAD~1"], ["--all"]):
        _, findings = check(history, monkeypatch, capsys, *args)
        assert [f["path"] for f in findings] == [f"{VERSIONS}/0004_b.py"], args


def test_a_named_branch_and_a_second_tree_are_not_forks(
    history: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    history.write(f"{VERSIONS}/0003_billing.py", migration("0003", '"0001"', labels='("billing",)'))
    history.write(f"{VERSIONS}/a001_audit.py", migration("a001", "None", labels='("audit",)'))
    history.write(f"{VERSIONS}/a002_audit.py", migration("a002", '"a001"'))
    history.commit("branches")
    assert check(history, monkeypatch, capsys, "--base", "HEAD~1") == (0, [])


def test_a_fork_inside_a_named_branch_is_reported(
    history: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    history.write(f"{VERSIONS}/0003_billing.py", migration("0003", '"0001"', labels='("billing",)'))
    history.write(f"{VERSIONS}/0004_invoice.py", migration("0004", '"0003"'))
    history.commit("billing branch")
    history.write(f"{VERSIONS}/0005_refund.py", migration("0005", '"0003"'))
    history.commit("a second child of 0003")
    _, findings = check(history, monkeypatch, capsys, "--base", "HEAD~1")
    assert [f["path"] for f in findings] == [f"{VERSIONS}/0005_refund.py"]


def test_version_locations_make_one_history(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # As in a service that keeps its migrations in a package: `pkg:path` locations.
    git_repo.write(
        "src/shop/alembic.ini",
        "[alembic]\nscript_location = shop:db\n"
        "version_locations = shop:db/versions shop:plugins/versions\n"
        "[reports]\nscript_location = shop:reports\n",
    )
    git_repo.write("src/shop/db/versions/0001_base.py", migration("0001", "None"))
    git_repo.write("src/shop/db/versions/0002_users.py", migration("0002", '"0001"'))
    git_repo.write("src/shop/reports/versions/0002_other.py", migration("0002", '"0001"'))
    git_repo.commit("base")
    git_repo.write("src/shop/plugins/versions/p001_plugin.py", migration("p001", '"0001"'))
    git_repo.commit("plugin")
    _, findings = check(git_repo, monkeypatch, capsys, "--base", "HEAD~1")
    assert len(findings) == 1
    assert "and `0002` (src/shop/db/versions/0002_users.py) both revise `0001`" in str(findings[0]["message"])
    # The reports tree reuses an id of the main one: another history, not a duplicate.
    assert check(git_repo, monkeypatch, capsys, "--all", "src/shop/reports") == (0, [])


def test_a_merge_that_leaves_a_head(
    history: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    history.write(f"{VERSIONS}/0003_a.py", migration("0003", '"0001"'))
    history.write(f"{VERSIONS}/0004_b.py", migration("0004", '"0001"'))
    history.commit("three heads")
    history.write(f"{VERSIONS}/0005_merge.py", migration("0005", '("0002", "0003")'))
    history.commit("merge two of them")
    _, findings = check(history, monkeypatch, capsys, "--base", "HEAD~1")
    assert [(f["path"], f["line"]) for f in findings] == [(f"{VERSIONS}/0005_merge.py", 5)]
    assert "this merge leaves 2 heads (`0004`, `0005`)" in str(findings[0]["message"])


def test_a_reused_id(
    history: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    history.write(f"{VERSIONS}/0002_again.py", migration("0002", '"0001"'))
    history.commit("reuse an id")
    _, findings = check(history, monkeypatch, capsys, "--base", "HEAD~1")
    assert [(f["path"], f["line"]) for f in findings] == [(f"{VERSIONS}/0002_again.py", 4)]
    assert "revision id `0002` is also the id of 0002_users.py" in str(findings[0]["message"])


def test_the_app_reads_the_versions_folder_and_the_ini() -> None:
    engine = Engine(Config(), [AlembicMultipleHeads])
    path = f"{VERSIONS}/0003_email.py"
    changes = ChangeSet({path: diff_texts(path, None, migration("0003", '"0001"'))})
    assert engine.plan(changes).context == ()  # nothing for a pull request without a migration
    view = MemoryRepoView({path: migration("0003", '"0001"').encode()})
    assert engine.more_context_paths(changes, view) == [
        "alembic.ini",
        "migrations/alembic.ini",
        f"{VERSIONS}/",
    ]


def test_identifiers_in_every_form_alembic_accepts() -> None:
    text = (
        "from typing import Sequence, Union\n"
        'revision: str = "ab12"  # the id\n'
        "down_revision: Union[str, Sequence[str], None] = (\n"
        '    "cd34",  # one side\n'
        '    "ef56",\n)\n'
        "branch_labels = 'core'\n"
    )
    found = read_migration("v.py", text)
    assert found is not None
    assert (found.revision, found.down_revisions, found.branch_labels) == (
        "ab12",
        ("cd34", "ef56"),
        ("core",),
    )
    assert (found.revision_line, found.down_line) == (2, 3)
    assert read_migration("v.py", "revision = make_id()\ndown_revision = None\n") is None
    assert read_migration("v.py", "down_revision = None\n") is None


def test_a_broken_ini_is_no_location() -> None:
    assert version_folders("alembic.ini", "[alembic\nscript_location = x", "x/versions") == []
    assert version_folders("alembic.ini", "[alembic]\nscript_location = %(here)s/db\n", "db/versions") == [
        "db/versions"
    ]


def test_a_suppressed_fork(
    history: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = migration("0003", '"0001"').replace(
        '"0001"\n', '"0001"  # faultline: ignore[alembic-multiple-heads]\n'
    )
    history.write(f"{VERSIONS}/0003_email.py", text)
    history.commit("a deliberate fork")
    assert check(history, monkeypatch, capsys, "--base", "HEAD~1") == (0, [])


def _history(edges: dict[str, tuple[str, ...]]) -> History:
    return History([Migration(f"v/{rev}.py", rev, parents, (), 1, 2) for rev, parents in edges.items()])


@pytest.mark.parametrize(
    "edges",
    [
        {"a": (), "b": ("a",), "c": ("b",), "d": ("b",), "e": ("c", "d")},  # a fork merged again
        {"a": (), "b": ("a",), "c": ("a",), "d": ("c",)},  # two heads
        {"a": ("c",), "b": ("a",), "c": ("b",), "d": ("c",)},  # a cycle: no file is a root
        {"a": ("gone",), "b": ("a",), "b2": ("a",)},  # a parent no file defines
    ],
)
def test_heads_after_each_revision_are_those_of_a_walk(edges: dict[str, tuple[str, ...]]) -> None:
    for order in (sorted(edges), sorted(edges, reverse=True)):
        history = _history(edges)
        assert {rev: history.heads_after(rev) for rev in order} == {
            rev: _history(edges)._walk_heads(rev) for rev in order
        }
