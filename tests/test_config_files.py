"""Where the config is found: ``.github/faultline.yml`` or ``.yaml``, and the files people put
elsewhere by mistake, named in the CLI's output and in the App's check run, never ignored in silence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from faultline.analyzers.core.config import choose_config
from faultline.app.cli.main import main
from tests.app.sim_fixtures import FULL_NAME, World, sim_world
from tests.conftest import GitRepo

RISKY = """\
def price(sku):
    try:
        return db.fetch_price(sku)
    except Exception:
        return None
"""


def test_yml_wins_over_yaml_and_both_are_named() -> None:
    choice = choose_config([".github/faultline.yaml", ".github/faultline.yml"])
    assert choice.path == ".github/faultline.yml"
    assert choice.notes == (
        ".github/faultline.yaml is not read: .github/faultline.yml is, and only one config file is",
    )


def test_yaml_alone_is_read_and_root_files_are_named() -> None:
    assert choose_config([".github/faultline.yaml"]).path == ".github/faultline.yaml"
    choice = choose_config(["faultline.yml", ".faultline.yml"])
    assert choice.path is None
    assert choice.notes == (
        "faultline.yml is not read: Faultline reads .github/faultline.yml; move it there",
        ".faultline.yml is not read: Faultline reads .github/faultline.yml; move it there",
    )
    assert choose_config([]).notes == ()


def check(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[list[str], str]:
    monkeypatch.chdir(repo.root)
    main(["check", "--all", "--format", "json", "--fail-on", "never"])
    out, err = capsys.readouterr()
    return [finding["severity"] for finding in json.loads(out)["findings"]], err


def test_cli_reads_yaml_and_warns_about_the_others(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git_repo.write("app/prices.py", RISKY)
    assert check(git_repo, monkeypatch, capsys) == (["warning"], "")
    git_repo.write(".github/faultline.yaml", "rules:\n  broad-except: {severity: error}\n")
    assert check(git_repo, monkeypatch, capsys) == (["error"], "")
    git_repo.write("faultline.yml", "disable: [broad-except]\n")
    severities, err = check(git_repo, monkeypatch, capsys)
    assert severities == ["error"]
    assert (
        "faultline: faultline.yml is not read: Faultline reads .github/faultline.yaml; move it there" in err
    )
    git_repo.write(".github/faultline.yml", "rules:\n  broad-except: {severity: notice}\n")
    severities, err = check(git_repo, monkeypatch, capsys)
    assert severities == ["notice"]
    assert ".github/faultline.yaml is not read: .github/faultline.yml is" in err


def test_cli_names_the_yaml_file_in_its_errors(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git_repo.write(".github/faultline.yaml", "max_coments: 3\n")
    monkeypatch.chdir(git_repo.root)
    assert main(["check", "--all"]) == 2
    assert ".github/faultline.yaml: max_coments: unknown key" in capsys.readouterr().err


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with sim_world(tmp_path) as made:
        yield made


def app_run(world: World, main_files: dict[str, str]) -> tuple[str, str]:
    world.main_sha = world.commit(main_files)
    world.sim.set_branch(FULL_NAME, "main", world.main_sha)
    pull = world.open_pull({"app/prices.py": RISKY})
    world.run(pull)
    (run,) = world.sim.check_runs(FULL_NAME, pull.head_sha)
    return run.conclusion or "", run.summary or ""


def test_app_reads_the_yaml_spelling(world: World) -> None:
    conclusion, summary = app_run(world, {".github/faultline.yaml": "fail_on: warning\n"})
    assert conclusion == "failure"  # the warning fails the check: fail_on came from the .yaml file
    assert "not read" not in summary


def test_app_names_a_root_file_in_the_summary(world: World) -> None:
    conclusion, summary = app_run(world, {"faultline.yml": "fail_on: warning\n"})
    assert conclusion == "success"
    assert "### Config files not read" in summary
    assert "faultline.yml is not read: Faultline reads .github/faultline.yml; move it there" in summary
