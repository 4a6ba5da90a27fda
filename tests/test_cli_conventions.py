"""The command line's conventions: paths from the current folder, colour from the environment,
readable help, ruff's --select/--ignore/--statistics/-q, and a missing git said as such."""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
from pathlib import Path

import pytest

from faultline.app.cli.color import use_color
from faultline.app.cli.main import _parser, main
from tests.conftest import GitRepo
from tests.test_cli import FAULTLINE

SWALLOW = "def load(db, q):\n    try:\n        db.execute(q)\n    except Exception:\n        pass\n"
# FL001 broad-except, FL010 call-without-timeout and FL012 query-in-loop in one file.
THREE_RULES = """\
import requests


def teams(session):
    teams = session.scalars(select(Team)).all()
    for team in teams:
        team.members = session.scalars(select(User).where(User.team_id == team.id)).all()
    return teams


def ping(db, q):
    try:
        db.execute(q)
        requests.get("https://example.com")
    except Exception:
        pass
"""


@pytest.fixture
def repo(git_repo: GitRepo) -> GitRepo:
    git_repo.write("README.md", "x\n")
    git_repo.commit("base")
    git_repo.write("app/sub/jobs.py", SWALLOW)
    git_repo.write("top.py", SWALLOW)
    return git_repo


def check(
    where: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    monkeypatch.chdir(where)
    code = main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err


# Paths.


def test_text_paths_are_relative_to_the_current_folder(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = check(repo.root / "app", monkeypatch, capsys)
    places = [line.split(":")[0] for line in out.splitlines() if ": FL001 " in line]
    assert places == ["sub/jobs.py", "../top.py"]
    for place in places:  # each opens from where the command ran
        assert (repo.root / "app" / place).is_file()
    _, out, _ = check(repo.root, monkeypatch, capsys)
    assert [line.split(":")[0] for line in out.splitlines() if ": FL001 " in line] == [
        "app/sub/jobs.py",
        "top.py",
    ]


def test_machine_formats_keep_repository_paths_from_a_subfolder(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = check(repo.root / "app" / "sub", monkeypatch, capsys, "--format", "json")
    assert [f["path"] for f in json.loads(out)["findings"]] == ["app/sub/jobs.py", "top.py"]
    _, out, _ = check(repo.root / "app" / "sub", monkeypatch, capsys, "--format", "github")
    assert [line.split(",")[0] for line in out.splitlines()] == [
        "::warning file=app/sub/jobs.py",
        "::warning file=top.py",
    ]
    _, out, _ = check(repo.root / "app" / "sub", monkeypatch, capsys, "--format", "sarif")
    uris = [
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in json.loads(out)["runs"][0]["results"]
    ]
    assert uris == ["app/sub/jobs.py", "top.py"]


# Colour.


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("environ", "terminal", "expected"),
    [
        ({}, True, True),
        ({}, False, False),
        ({"NO_COLOR": "1"}, True, False),
        ({"NO_COLOR": ""}, True, True),  # set but empty: not a request (no-color.org)
        ({"FORCE_COLOR": "1"}, False, True),
        ({"FORCE_COLOR": "0"}, False, True),  # any non-empty value (force-color.org)
        ({"FORCE_COLOR": ""}, False, False),
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False),
        ({"TERM": "dumb"}, True, False),
        ({"TERM": "dumb", "FORCE_COLOR": "1"}, False, True),
    ],
)
def test_colour_follows_the_environment(environ: dict[str, str], terminal: bool, expected: bool) -> None:
    stdout = _Terminal() if terminal else io.StringIO()
    assert use_color("auto", to_file=False, stdout=stdout, environ=environ) is expected


def test_the_flag_wins_and_a_file_is_never_coloured_unless_asked() -> None:
    force = {"FORCE_COLOR": "1"}
    assert use_color("never", to_file=False, stdout=_Terminal(), environ=force) is False
    assert use_color("always", to_file=False, stdout=io.StringIO(), environ={"NO_COLOR": "1"}) is True
    assert use_color("auto", to_file=True, stdout=_Terminal(), environ=force) is False
    assert use_color("always", to_file=True, stdout=io.StringIO(), environ={}) is True


def test_force_color_colours_a_piped_report(repo: GitRepo) -> None:
    def piped(**extra: str) -> str:
        env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
        proc = subprocess.run(
            [FAULTLINE, "check"],
            cwd=repo.root,
            env={**env, **extra},
            capture_output=True,
            text=True,
            check=False,
        )
        return proc.stdout

    assert "\033[" not in piped()
    assert "\033[" in piped(FORCE_COLOR="1")
    assert "\033[" not in piped(FORCE_COLOR="1", NO_COLOR="1")


# Help.


def _parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found = {"faultline": parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found |= {f"faultline {name}": sub for name, sub in action.choices.items()}
    return found


def test_every_option_of_every_command_is_explained() -> None:
    for name, parser in _parsers(_parser()).items():
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help, f"{name} {'/'.join(action.option_strings) or action.dest} has no help"


@pytest.mark.parametrize(
    "command", [[], ["check"], ["config"], ["rules"], ["completion"], ["serve"], ["web"], ["worker"]]
)
def test_help_is_plain_text_with_examples_and_exit_codes(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main([*command, "--help"])
    assert stopped.value.code == 0
    text = capsys.readouterr().out
    assert "``" not in text and ":func:" not in text and "::\n" not in text
    if command in ([], ["check"], ["config"]):
        assert "examples:\n  faultline " in text
        assert "exit codes:\n  0  " in text and "\n  2  a usage or config error" in text
    if command in ([], ["check"]):
        assert "exit codes:\n  0  no finding reaches the fail level\n  1  a finding does" in text


# --select, --ignore.


@pytest.fixture
def three(git_repo: GitRepo) -> GitRepo:
    git_repo.write("README.md", "x\n")
    git_repo.commit("base")
    git_repo.write("app/sync.py", THREE_RULES)
    return git_repo


def codes(
    three: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> list[str]:
    code, out, err = check(three.root, monkeypatch, capsys, "--format", "json", "--fail-on", "never", *args)
    assert code == 0, err
    return sorted({f["code"] for f in json.loads(out)["findings"]})


def test_select_and_ignore_take_codes_slugs_and_prefixes(
    three: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert codes(three, monkeypatch, capsys) == ["FL001", "FL010", "FL012"]
    assert codes(three, monkeypatch, capsys, "--select", "FL01") == ["FL010", "FL012"]
    assert codes(three, monkeypatch, capsys, "--select", "broad-except,fl012") == ["FL001", "FL012"]
    assert codes(three, monkeypatch, capsys, "--select", "FL001", "--select", "FL010") == ["FL001", "FL010"]
    assert codes(three, monkeypatch, capsys, "--ignore", "query-in-loop") == ["FL001", "FL010"]
    assert codes(three, monkeypatch, capsys, "--select", "FL01", "--ignore", "FL012") == ["FL010"]


def test_select_overrides_the_config_file_and_ignore_adds_to_it(
    three: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    three.write(
        ".github/faultline.yml",
        "disable: [FL001]\n"
        "rules:\n  query-in-loop: {enabled: false}\n  call-without-timeout: {severity: error}\n",
    )
    assert codes(three, monkeypatch, capsys) == ["FL010"]
    # --select replaces the file's choice, its disable and enabled: false included.
    assert codes(three, monkeypatch, capsys, "--select", "FL001,FL012") == ["FL001", "FL012"]
    assert codes(three, monkeypatch, capsys, "--ignore", "FL010") == []
    _, out, _ = check(three.root, monkeypatch, capsys, "--format", "json", "--select", "FL010")
    assert [f["severity"] for f in json.loads(out)["findings"]] == ["error"]  # the file's severity stays


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--select", "FL99"], "--select: 'FL99' is no rule's code, slug or code prefix"),
        (["--ignore", "broad-exept"], "--ignore: 'broad-exept' is no rule's code, slug or code prefix"),
        (["--select", "F"], "--select: 'F' is no rule's code"),
    ],
)
def test_an_unknown_rule_is_a_usage_error_in_one_line(
    three: GitRepo,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    said: str,
) -> None:
    code, out, err = check(three.root, monkeypatch, capsys, *args)
    assert (code, out) == (2, "")
    assert err.startswith(f"faultline: {said}") and err.count("\n") == 1


# --statistics, -q.


def test_statistics_count_findings_per_rule(
    three: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    three.write("app/more.py", SWALLOW + SWALLOW.replace("load", "save"))
    code, out, _ = check(three.root, monkeypatch, capsys, "--statistics", "--fail-on", "warning")
    lines = out.splitlines()
    assert code == 1  # the exit code is the report's, as without --statistics
    assert lines[0].split()[:3] == ["3", "FL001", "broad-except"]
    assert [line.split()[1] for line in lines[1:3]] == ["FL010", "FL012"]
    assert lines[-1].startswith("5 risks found")
    _, out, _ = check(three.root, monkeypatch, capsys, "--statistics", "--format", "json")
    assert [(row["code"], row["count"]) for row in json.loads(out)] == [
        ("FL001", 3),
        ("FL010", 1),
        ("FL012", 1),
    ]
    code, out, err = check(three.root, monkeypatch, capsys, "--statistics", "--format", "sarif")
    assert (code, out) == (2, "") and "--statistics goes with --format text or json" in err


def test_quiet_prints_the_findings_only(
    three: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    three.write("faultline.yml", "fail_on: never\n")  # misplaced: a note on stderr
    code, out, err = check(three.root, monkeypatch, capsys)
    assert "risks found" in out and "faultline.yml is not read" in err
    code, out, err = check(three.root, monkeypatch, capsys, "-q", "--fail-on", "warning")
    assert code == 1 and err == ""
    assert all(line.startswith(("app/sync.py:", "    ")) for line in out.splitlines())
    assert sum(": FL0" in line for line in out.splitlines()) == 3
    _, out, _ = check(three.root, monkeypatch, capsys, "-q", "--fail-on", "never", "--select", "FL090")
    assert out == ""


# git.


def test_a_missing_git_is_named(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    no_git = tmp_path / "bin"
    no_git.mkdir()
    monkeypatch.setenv("PATH", str(no_git))
    for args in ([], ["--base", "main"], ["--base", "main", "--work-tree"]):
        code, out, err = check(repo.root, monkeypatch, capsys, *args)
        assert (code, out) == (2, ""), args
        assert (
            err == "faultline: git is not installed (no git on PATH): use --all to check files, or --diff\n"
        )
    code, out, _ = check(repo.root, monkeypatch, capsys, "--all", "--format", "json", "--fail-on", "warning")
    assert code == 1 and {f["path"] for f in json.loads(out)["findings"]} == {"app/sub/jobs.py", "top.py"}
    monkeypatch.undo()
    code, _, err = check(tmp_path, monkeypatch, capsys)
    assert code == 2 and "not inside a git repository" in err
