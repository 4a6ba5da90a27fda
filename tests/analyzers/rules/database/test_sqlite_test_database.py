"""FL007 on real git repositories through the CLI: either side of the change, and the
projects that support SQLite for real."""

from __future__ import annotations

import json

import pytest

from faultline.analyzers.core.changes import ChangeSet, diff_texts
from faultline.analyzers.core.config import Config
from faultline.analyzers.core.engine import Engine
from faultline.analyzers.core.repo import MemoryRepoView
from faultline.analyzers.rules.database.sqlite_test_database import SqliteTestDatabase
from faultline.app.cli.main import main
from tests.conftest import GitRepo

CONFTEST = 'import os\n\nTEST_DATABASE_URL = "sqlite+aiosqlite:///:memory:"\n'
PYPROJECT = '[project]\nname = "api"\ndependencies = [\n    "fastapi",\n    "asyncpg>=0.29",\n]\n'


def check(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> list[dict[str, object]]:
    monkeypatch.chdir(repo.root)
    config = repo.root.parent / "faultline.yml"
    config.write_text("enable: [FL007]\n")
    main(["check", "--format", "json", "--fail-on", "never", "--config", str(config), *args])
    out, _ = capsys.readouterr()
    findings: list[dict[str, object]] = json.loads(out)["findings"]
    return findings


def test_a_new_sqlite_conftest_in_a_postgres_service(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git_repo.write("backend/pyproject.toml", PYPROJECT)
    git_repo.commit("service")
    git_repo.write("backend/tests/conftest.py", CONFTEST)
    git_repo.commit("tests")
    findings = check(git_repo, monkeypatch, capsys, "--base", "HEAD~1")
    assert [(f["path"], f["line"], f["severity"]) for f in findings] == [
        ("backend/tests/conftest.py", 3, "warning")
    ]
    assert "(`asyncpg` in the dependencies in backend/pyproject.toml)" in str(findings[0]["message"])


def test_a_driver_added_while_the_tests_are_on_sqlite(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git_repo.write("requirements.txt", "flask\nsqlalchemy\n")
    git_repo.write("tests/conftest.py", 'app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"\n')
    git_repo.commit("on sqlite")
    git_repo.write("requirements.txt", "flask\nsqlalchemy\npsycopg2-binary==2.9.9\n")
    git_repo.write("docker-compose.yml", "services:\n  db:\n    image: postgres:16\n")
    git_repo.commit("move to postgres")
    findings = check(git_repo, monkeypatch, capsys, "--base", "HEAD~1")
    assert [(f["path"], f["line"]) for f in findings] == [("docker-compose.yml", 3), ("requirements.txt", 3)]
    assert "tests/conftest.py:1 runs the tests on SQLite (`sqlite://`)" in str(findings[1]["message"])


def test_both_sides_in_one_change_are_reported_on_the_tests(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git_repo.write("README.md", "x\n")
    git_repo.commit("base")
    git_repo.write("pyproject.toml", PYPROJECT)
    git_repo.write("tests/conftest.py", CONFTEST)
    git_repo.commit("service and tests")
    findings = check(git_repo, monkeypatch, capsys, "--base", "HEAD~1")
    assert [f["path"] for f in findings] == ["tests/conftest.py"]
    assert [f["path"] for f in check(git_repo, monkeypatch, capsys, "--all")] == ["tests/conftest.py"]


def test_an_untouched_side_is_not_reported_again(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git_repo.write("pyproject.toml", PYPROJECT)
    git_repo.write("tests/conftest.py", CONFTEST)
    git_repo.commit("base")
    git_repo.write("tests/conftest.py", CONFTEST + "\n\ndef helper():\n    return 1\n")
    git_repo.write("pyproject.toml", PYPROJECT.replace('"fastapi",', '"fastapi",\n    "httpx",'))
    git_repo.commit("unrelated lines")
    assert check(git_repo, monkeypatch, capsys, "--base", "HEAD~1") == []


@pytest.mark.parametrize(
    ("name", "text"),
    [
        # Both backends are runtime dependencies: SQLite is supported.
        ("pyproject.toml", PYPROJECT.replace('"fastapi",', '"fastapi",\n    "aiosqlite",')),
        # The server driver is only an extra.
        (
            "pyproject.toml",
            '[project]\ndependencies = ["sqlalchemy"]\n[project.optional-dependencies]\npg = ["asyncpg"]\n',
        ),
        # Dev-only requirements do not say what production runs.
        ("requirements-dev.txt", "psycopg2\n"),
        # A documented SQLite setup beside the server one.
        (".env.example", "# DATABASE_URL=postgresql://app@db/app\nDATABASE_URL=sqlite:///app.db\n"),
    ],
)
def test_projects_that_support_sqlite(
    git_repo: GitRepo,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    text: str,
) -> None:
    git_repo.write(name, text)
    git_repo.write("tests/conftest.py", CONFTEST)
    git_repo.commit("both")
    assert check(git_repo, monkeypatch, capsys, "--all") == []


def test_a_ci_matrix_that_also_runs_on_postgres(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git_repo.write("requirements.txt", "pymysql\n")
    git_repo.write(
        ".github/workflows/sqlite.yml", "jobs:\n  t:\n    env:\n      TESTING_DATABASE_URL: 'sqlite://'\n"
    )
    git_repo.commit("sqlite job")
    assert [f["path"] for f in check(git_repo, monkeypatch, capsys, "--all")] == [
        ".github/workflows/sqlite.yml"
    ]
    git_repo.write(
        ".github/workflows/mysql.yml", "jobs:\n  t:\n    services:\n      mysql:\n        image: mysql:8\n"
    )
    git_repo.commit("mysql job")
    assert check(git_repo, monkeypatch, capsys, "--all") == []


def test_pytest_env_outside_pytest_sections_is_not_test_config(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git_repo.write(
        "pyproject.toml",
        PYPROJECT + '[tool.pytest.ini_options]\nenv = ["DATABASE_URL=sqlite:///t.db"]\n'
        '[tool.other]\ndb_url = "sqlite:///x.db"\n',
    )
    git_repo.commit("config")
    findings = check(git_repo, monkeypatch, capsys, "--all")
    assert [(f["path"], f["line"]) for f in findings] == [("pyproject.toml", 8)]


def test_the_app_reads_the_runtime_files_above_a_changed_test() -> None:
    engine = Engine(Config(), [SqliteTestDatabase])
    path = "backend/tests/conftest.py"
    changes = ChangeSet({path: diff_texts(path, None, CONFTEST)})
    assert {"pyproject.toml", "docker-compose.yml", ".github/workflows/", "requirements/"} <= set(
        engine.plan(changes).context
    )
    extra = engine.more_context_paths(changes, MemoryRepoView({path: CONFTEST.encode()}))
    assert {"backend/pyproject.toml", "backend/requirements/", "backend/tests/pyproject.toml"} <= set(extra)


def test_a_suppressed_setting(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git_repo.write("pyproject.toml", PYPROJECT)
    git_repo.write(
        "tests/conftest.py",
        'DATABASE_URL = "sqlite://"  # faultline: ignore[sqlite-test-database] unit tests only\n',
    )
    git_repo.commit("suppressed")
    assert check(git_repo, monkeypatch, capsys, "--all") == []
