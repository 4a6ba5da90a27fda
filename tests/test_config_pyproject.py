"""``[tool.faultline]`` in pyproject.toml, its precedence beside ``.github/faultline.yml``, and
``faultline config``: the configuration in force with where each value came from."""

from __future__ import annotations

import json

import pytest

from faultline.analyzers.core.engine import Engine
from faultline.analyzers.core.registry import all_rules
from faultline.app.cli.config_files import load_config
from faultline.app.cli.main import main
from faultline.app.cli.selection import apply_selection, parse_selection
from tests.conftest import GitRepo
from tests.test_config_files import RISKY

PYPROJECT = """\
[project]
name = "shop"

[tool.faultline]
fail_on = "warning"
exclude = ["vendor/**"]

[tool.faultline.rules.broad-except]
severity = "notice"
"""


@pytest.fixture
def repo(git_repo: GitRepo) -> GitRepo:
    git_repo.write("app/prices.py", RISKY)
    return git_repo


def check(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, list[str], str]:
    monkeypatch.chdir(repo.root)
    code = main(["check", "--all", "--format", "json", *args])
    out, err = capsys.readouterr()
    return code, [f["severity"] for f in json.loads(out)["findings"]] if out else [], err


def config(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], repo: GitRepo, *args: str
) -> dict[str, object]:
    monkeypatch.chdir(repo.root)
    assert main(["config", "--format", "json", *args]) == 0
    document: dict[str, object] = json.loads(capsys.readouterr().out)
    return document


def test_pyproject_table_is_read_with_the_yaml_keys(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check(repo, monkeypatch, capsys) == (0, ["warning"], "")
    repo.write("pyproject.toml", PYPROJECT)
    assert check(repo, monkeypatch, capsys) == (0, ["notice"], "")
    repo.write("pyproject.toml", PYPROJECT.replace('"notice"', '"error"'))
    assert check(repo, monkeypatch, capsys) == (1, ["error"], "")


def test_a_pyproject_without_the_table_or_broken_elsewhere_is_not_a_config(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write("pyproject.toml", '[project]\nname = "shop"\n[tool.ruff]\nline-length = 100\n')
    assert check(repo, monkeypatch, capsys) == (0, ["warning"], "")
    repo.write("pyproject.toml", "[project\nname = \n")  # invalid, and no word of Faultline
    # Not a config error: the run goes on, and reports the file as any other it cannot read (FL000).
    assert check(repo, monkeypatch, capsys) == (0, ["warning", "notice"], "")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("[tool.faultline]\nmax_coments = 3\n", "pyproject.toml [tool.faultline]: max_coments: unknown key"),
        ("[tool.faultline]\nfail_on = 3\n", "pyproject.toml [tool.faultline]: fail_on: "),
        (
            "[tool.faultline.rules.nonsense]\nseverity = 'error'\n",
            "pyproject.toml [tool.faultline]: unknown rule 'nonsense'",
        ),
        (
            "[tool.faultline.rules.broad-except.options]\nnope = 1\n",
            "pyproject.toml [tool.faultline]: rules.broad-except.options",
        ),
        ("[tool.faultline]\nfail_on = \n", "pyproject.toml: invalid TOML: "),
        ("[tool]\nfaultline = 3\n", "pyproject.toml: tool.faultline must be a table, got int"),
    ],
)
def test_pyproject_errors_name_the_table_and_the_key(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], text: str, said: str
) -> None:
    repo.write("pyproject.toml", text)
    code, severities, err = check(repo, monkeypatch, capsys)
    assert (code, severities) == (2, [])
    assert err.startswith(f"faultline: {said}") and err.count("\n") == 1, err


def test_the_github_file_wins_and_the_table_is_named(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write("pyproject.toml", PYPROJECT)
    repo.write(".github/faultline.yml", "rules:\n  broad-except: {severity: error}\n")
    code, severities, err = check(repo, monkeypatch, capsys)
    assert (code, severities) == (1, ["error"])
    assert err == (
        "faultline: pyproject.toml [tool.faultline] is not read: .github/faultline.yml is, "
        "and only one config file is\n"
    )


def test_explicit_toml_config(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write("ci/faultline.toml", PYPROJECT)
    assert check(repo, monkeypatch, capsys, "--config", "ci/faultline.toml") == (0, ["notice"], "")
    repo.write("ci/other.toml", "[tool.ruff]\n")
    code, _, err = check(repo, monkeypatch, capsys, "--config", "ci/other.toml")
    assert code == 2 and err == "faultline: ci/other.toml: no [tool.faultline] table\n"


def _setting(document: dict[str, object], key: str) -> dict[str, object]:
    settings = document["settings"]
    assert isinstance(settings, list)
    (found,) = [setting for setting in settings if setting["key"] == key]
    return dict(found)


def _rule(document: dict[str, object], code: str) -> dict[str, object]:
    rules = document["rules"]
    assert isinstance(rules, list)
    (found,) = [rule for rule in rules if rule["code"] == code]
    return dict(found)


def test_config_names_the_source_of_every_value(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    document = config(monkeypatch, capsys, repo)
    assert document["config_file"] is None
    assert _setting(document, "fail_on") == {"key": "fail_on", "value": "error", "source": "default"}
    repo.write(
        "pyproject.toml",
        PYPROJECT.replace('exclude = ["vendor/**"]', 'exclude = ["vendor/**"]\ndisable = ["FL002"]'),
    )
    document = config(monkeypatch, capsys, repo)
    table = "pyproject.toml [tool.faultline]"
    assert document["config_file"] == table
    assert _setting(document, "fail_on")["source"] == f"{table}: fail_on"
    assert _setting(document, "max_comments") == {"key": "max_comments", "value": 25, "source": "default"}
    assert _setting(document, "rules.broad-except.severity") == {
        "key": "rules.broad-except.severity",
        "value": "notice",
        "source": f"{table}: rules.broad-except.severity",
    }
    assert _rule(document, "FL001") | {"source": ""} == {
        "code": "FL001",
        "slug": "broad-except",
        "enabled": True,
        "severity": "notice",
        "source": "",
    }
    assert (_rule(document, "FL002")["enabled"], _rule(document, "FL002")["source"]) == (
        False,
        f"{table}: disable",
    )
    assert _rule(document, "FL003")["source"] == "default"


def test_config_shows_what_the_command_line_changes(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write(".github/faultline.yml", "disable: [FL002]\nrules:\n  query-in-loop: {enabled: false}\n")
    document = config(
        monkeypatch, capsys, repo, "--fail-on", "never", "--select", "FL00", "--ignore", "FL003"
    )
    assert _setting(document, "fail_on") == {
        "key": "fail_on",
        "value": "never",
        "source": "command line: --fail-on",
    }
    assert _setting(document, "enable")["source"] == "command line: --select"
    assert _setting(document, "disable") == {
        "key": "disable",
        "value": ["FL003"],
        "source": "command line: --ignore",
    }
    assert _rule(document, "FL002")["enabled"] is True  # --select replaces the file's disable
    assert (_rule(document, "FL003")["enabled"], _rule(document, "FL003")["source"]) == (
        False,
        "command line: --ignore",
    )
    assert (_rule(document, "FL012")["enabled"], _rule(document, "FL012")["source"]) == (
        False,
        "command line: --select",
    )
    document = config(monkeypatch, capsys, repo, "--ignore", "FL001")
    assert _setting(document, "disable") == {
        "key": "disable",
        "value": ["FL002", "FL001"],
        "source": ".github/faultline.yml: disable and command line: --ignore",
    }
    assert _rule(document, "FL012")["source"] == ".github/faultline.yml: rules.query-in-loop.enabled"


def test_config_agrees_with_what_check_runs(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write(
        ".github/faultline.yml", "enable: [FL001, FL002, FL012]\nrules:\n  cascade-delete: {enabled: false}\n"
    )
    for args in ([], ["--select", "FL01"], ["--ignore", "broad-except"]):
        document = config(monkeypatch, capsys, repo, *args)
        enabled = {rule["code"] for rule in document["rules"] if rule["enabled"]}
        select = [a for i, a in enumerate(args) if i and args[i - 1] == "--select"] or None
        ignore = [a for i, a in enumerate(args) if i and args[i - 1] == "--ignore"] or None
        loaded = load_config(repo.root)
        engine = Engine(apply_selection(loaded.config, parse_selection(select, ignore, all_rules())))
        assert enabled == {active.rule.code for active in engine.active}, args


def test_config_text(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write("pyproject.toml", PYPROJECT)
    repo.write("faultline.yml", "fail_on: never\n")
    monkeypatch.chdir(repo.root)
    assert main(["config", "--ignore", "FL002"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "config file: pyproject.toml [tool.faultline]"
    assert lines[1] == "  faultline.yml is not read: Faultline reads .github/faultline.yml; move it there"
    assert any(
        line.split() == ["fail_on", '"warning"', "pyproject.toml", "[tool.faultline]:", "fail_on"]
        for line in lines
    )
    assert any(
        line.split() == ["FL002", "cascade-delete", "off", "warning", "command", "line:", "--ignore"]
        for line in lines
    )


@pytest.mark.parametrize(
    ("yaml", "code", "state"),
    [
        ("enable: [FL001, FL002]\ndisable: [FL001]\n", "FL001", (False, "disable")),
        ("enable: [FL001, FL002]\ndisable: [FL001]\n", "FL002", (True, "enable")),
        ("enable: [FL001, FL002]\ndisable: [FL001]\n", "FL003", (False, "enable")),
        ("rules:\n  FL003: {enabled: false}\n", "FL003", (False, "rules.FL003.enabled")),
        ("disable: FL003\nrules:\n  coverage-gate: {enabled: true}\n", "FL003", (False, "disable")),
        ("rules:\n  coverage-gate: {enabled: true}\n", "FL003", (True, "rules.coverage-gate.enabled")),
        ("rules:\n  coverage-gate: {severity: error}\n", "FL003", (True, None)),
    ],
)
def test_config_names_the_setting_that_decided(
    repo: GitRepo,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    yaml: str,
    code: str,
    state: tuple[bool, str | None],
) -> None:
    repo.write(".github/faultline.yml", yaml)
    rule = _rule(config(monkeypatch, capsys, repo), code)
    enabled, key = state
    assert (rule["enabled"], rule["source"]) == (
        enabled,
        f".github/faultline.yml: {key}" if key else "default",
    )
