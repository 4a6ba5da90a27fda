"""FL007 sqlite-test-database: tests run on SQLite while production runs PostgreSQL or MySQL."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import ClassVar

from faultline.analyzers.core.config import matches_any
from faultline.analyzers.core.context import Context
from faultline.analyzers.core.findings import Hit, Severity
from faultline.analyzers.core.rule import Invalid, RemoteHit, Rule, Valid
from faultline.analyzers.core.source import ParseError, SourceFile
from faultline.analyzers.lib.github_actions.workflows import WORKFLOW_FOLDER
from faultline.analyzers.rules.database.database_evidence import (
    COMPOSE_FILES,
    DEPENDENCY_FILES,
    SERVER_URL,
    URL_FILES,
    Evidence,
    Runtime,
    SqliteSetting,
    defaults_to_sqlite,
    evidence_paths,
    folders_up,
    runtime_of,
    section_lines,
    settings_paths,
    sqlite_settings,
)

SLUG = "sqlite-test-database"
TESTS_ON_SQLITE = (
    "the tests run on SQLite (`{url}`) but the application runs on {server} ({what} in {path}): "
    "SQL that {server} rejects or treats differently passes here. Run the tests on {server} "
    "(a CI service container or Testcontainers)"
)
RUNTIME_ADDED = (
    "{what} makes {server} the runtime database, but {test_path}:{test_line} runs the tests on "
    "SQLite (`{url}`): run them on {server} (a CI service container or Testcontainers)"
)
# Config files whose test settings live in one section: pytest's env (pytest-env) and tox's.
SHARED_CONFIGS = ("pyproject.toml", "setup.cfg", "pytest.ini", "tox.ini")
TEST_SECTIONS = re.compile(r"pytest|testenv", re.IGNORECASE)
TEST_FILES = (
    "conftest.py",
    "**/tests/**/*.py",
    "**/test/**/*.py",
    "test_*.py",
    "*test*settings*.py",
    "**/settings/test*.py",
    ".env.test",
    ".env.testing",
    ".env.ci",
    f"{WORKFLOW_FOLDER}*.yml",
    f"{WORKFLOW_FOLDER}*.yaml",
)
# Where a test config may sit beside the runtime's files.
TEST_CONFIG_NAMES = ("conftest.py", "tests/conftest.py", "test/conftest.py", *SHARED_CONFIGS, ".env.test")
# A workflow or test config that also runs the tests on a server: SQLite is one entry of several.
SERVER_SERVICE = re.compile(
    r"^[^\S\n]*image:\s*[\"']?(?:[\w.-]+/)*(postgres|postgis|mysql|mariadb)\b", re.I | re.M
)

_PYPROJECT = '[project]\nname = "api"\ndependencies = [\n    "fastapi",\n    "asyncpg>=0.29",\n]\n'


class SqliteTestDatabase(Rule):
    """
    ## What it does
    Checks test configuration (`conftest.py`, test settings, pytest's `env` in
    `pytest.ini`/`pyproject.toml`/`setup.cfg`, tox's `setenv`, a workflow's `env:`,
    `.env.test`) that points the tests at a SQLite database while the application runs
    on PostgreSQL or MySQL: a driver among the runtime dependencies (`psycopg`,
    `psycopg2`, `asyncpg`, `pymysql`, `mysqlclient`...), a database service in
    `docker-compose.yml`, or a server URL in `alembic.ini` or `.env`. The finding says
    which evidence it found. A change that adds that evidence while the tests are on
    SQLite is reported on the evidence, naming the test file.

    Not reported: projects that support SQLite for real (a SQLite driver among the runtime
    dependencies, a SQLite URL in `.env` or `alembic.ini`, a server driver only among the
    optional extras), test configs that choose between SQLite and a server in the same
    file, and repositories whose CI also runs the tests on a server (a `postgres` or
    `mysql` service in a workflow or in the test config).

    ## Why is this risky?
    SQLite accepts what PostgreSQL and MySQL refuse, and refuses what they accept: it
    ignores declared column types and lengths, does not enforce most `ALTER TABLE`
    changes, has no `JSONB`, arrays, `ILIKE`, sequences or row locks (`SELECT ... FOR
    UPDATE` is silently dropped), and compares text with other collation rules. A test
    suite on SQLite passes on code whose queries or migrations fail on the first deploy,
    and misses the concurrency bugs the production database would show.

    ## Example
    ```python
    # conftest.py - SQLite for tests, PostgreSQL in production
    TEST_DATABASE_URL = "sqlite+aiosqlite:///:memory:"
    ```

    ## Use instead
    ```python
    # conftest.py - the same database as production
    TEST_DATABASE_URL = os.environ["TEST_DATABASE_URL"]  # postgresql+asyncpg://... from CI's service
    ```
    or start one with Testcontainers (`PostgresContainer("postgres:16")`).
    """

    code = "FL007"
    slug = SLUG
    severity = Severity.WARNING
    summary = "Tests run on SQLite while production runs PostgreSQL or MySQL"
    patterns = (
        *TEST_FILES,
        *SHARED_CONFIGS,
        *DEPENDENCY_FILES,
        *COMPOSE_FILES,
        *URL_FILES,
        "requirements/*.txt",
    )
    needles = (b"sqlite", b"psycopg", b"asyncpg", b"pg8000", b"mysql", b"postgres", b"postgis", b"mariadb")
    context_paths = (
        *DEPENDENCY_FILES,
        *COMPOSE_FILES,
        *URL_FILES,
        *TEST_CONFIG_NAMES,
        "requirements/",
        WORKFLOW_FOLDER,
    )

    VALID: ClassVar[list[Valid]] = [
        Valid(
            'TEST_DATABASE_URL = "postgresql+asyncpg://test:test@localhost/test"\n',
            path="tests/conftest.py",
            files={"pyproject.toml": _PYPROJECT},
        ),
        Valid(
            # No sign of another database: SQLite may be what the application runs on.
            'TEST_DATABASE_URL = "sqlite+aiosqlite:///:memory:"\n',
            path="tests/conftest.py",
            files={"pyproject.toml": '[project]\ndependencies = ["fastapi", "sqlalchemy"]\n'},
        ),
        Valid(
            # SQLite is a supported backend: its driver is a runtime dependency too.
            'TEST_DATABASE_URL = "sqlite+aiosqlite:///:memory:"\n',
            path="tests/conftest.py",
            files={"pyproject.toml": _PYPROJECT.replace('"fastapi",', '"fastapi",\n    "aiosqlite",')},
        ),
        Valid(
            # The server driver is an optional extra: the database is the user's choice.
            'TEST_DATABASE_URL = "sqlite://"\n',
            path="tests/conftest.py",
            files={
                "pyproject.toml": '[project]\ndependencies = ["sqlalchemy"]\n'
                '[project.optional-dependencies]\npostgres = ["psycopg2"]\n'
            },
        ),
        Valid(
            # The suite runs on PostgreSQL in CI too: SQLite is a quick local default.
            'DATABASE_URL = os.getenv("TEST_DATABASE_URL", "sqlite://")\n',
            path="tests/conftest.py",
            files={
                "requirements.txt": "flask\npsycopg2-binary==2.9.9\n",
                ".github/workflows/test.yml": "jobs:\n  test:\n    services:\n      db:\n"
                "        image: postgres:16\n",
            },
        ),
        Valid(
            # The application itself falls back to SQLite: a supported backend.
            'from app.main import app\n\nTEST_DB_URL = "sqlite+pysqlite://"\n',
            path="tests/conftest.py",
            files={
                "requirements.txt": "fastapi\npsycopg2-binary==2.9.10\n",
                "app/database.py": 'DATABASE_URL = os.getenv("DATABASE_URL", "sqlite:///./app.db")\n',
            },
        ),
        Valid(
            # Not a database setting: a cache on a local file.
            'CACHE_URL = "sqlite:///tmp/cache.db"\n',
            path="tests/conftest.py",
            files={"requirements.txt": "psycopg2\n"},
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        Invalid(
            # The report's own conftest.py.
            "# conftest.py - SQLite for tests, PostgreSQL in production\n"
            'TEST_DATABASE_URL = "sqlite+aiosqlite:///:memory:"\n'
            "# This creates major parity issues - schema supported in PG might fail in SQLite\n",
            path="tests/conftest.py",
            files={"pyproject.toml": _PYPROJECT},
            line=2,
            message=(
                "the tests run on SQLite (`sqlite+aiosqlite:///:memory:`) but the application runs on "
                "PostgreSQL (`asyncpg` in the dependencies in pyproject.toml)"
            ),
        ),
        Invalid(
            "[pytest]\nenv =\n    DATABASE_URL=sqlite:///test.db\n",
            path="pytest.ini",
            files={"docker-compose.yml": "services:\n  db:\n    image: postgres:15-alpine\n"},
            line=3,
            message="(a `postgres:15-alpine` service in docker-compose.yml)",
        ),
        Invalid(
            "jobs:\n  test:\n    runs-on: ubuntu-latest\n    env:\n"
            "      SQLALCHEMY_DATABASE_URI: sqlite://\n    steps:\n      - run: pytest\n",
            path=".github/workflows/ci.yml",
            files={"alembic.ini": "[alembic]\nsqlalchemy.url = mysql+pymysql://app@db/app\n"},
            line=5,
            message="MySQL (a `mysql://` URL in alembic.ini)",
        ),
        Invalid(
            # The change adds the driver while the tests are on SQLite: reported on the driver.
            "flask\npsycopg2-binary==2.9.9\n",
            path="requirements.txt",
            base="flask\n",
            files={"tests/conftest.py": 'app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"\n'},
            line=2,
            message="`psycopg2-binary` in the dependencies makes PostgreSQL the runtime database, "
            "but tests/conftest.py:1 runs the tests on SQLite (`sqlite://`)",
        ),
    ]

    def applies_to(self, path: str) -> bool:
        return matches_any(path, self.patterns)

    def more_context(self, ctx: Context) -> Iterator[str]:
        """The runtime's files and the test configs in the folders above each changed file."""
        for path in ctx.changes.paths:
            if not self.applies_to(path):
                continue
            for directory in folders_up(posixpath.dirname(path))[:-1]:
                yield from evidence_paths(None, directory)
                yield f"{posixpath.join(directory, 'requirements')}/"
                yield from (posixpath.join(directory, name) for name in TEST_CONFIG_NAMES)
            source = ctx.source(path)
            if source is not None and path.endswith(".py"):
                yield from settings_paths(_text(source))

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit | RemoteHit]:
        settings = _test_settings(source)
        if settings:
            yield from self._check_tests(source, ctx, settings)
        elif _is_evidence_file(source.path):
            yield from self._check_evidence(source, ctx)

    def _check_tests(self, source: SourceFile, ctx: Context, settings: list[SqliteSetting]) -> Iterator[Hit]:
        runtime = _runtime(ctx, source.path)
        if not runtime.servers or runtime.sqlite_supported or _tests_run_on_a_server(ctx, source.path):
            return
        if source.path.endswith(".py") and _settings_default_to_sqlite(ctx, source):
            return
        evidence = runtime.servers[0]
        for setting in settings:
            yield Hit(setting.line, _tests_message(setting, evidence))

    def _check_evidence(self, source: SourceFile, ctx: Context) -> Iterator[Hit | RemoteHit]:
        runtime = _runtime(ctx, source.path)
        mine = [e for e in runtime.servers if e.path == source.path]
        if not mine or runtime.sqlite_supported or _tests_run_on_a_server(ctx, source.path):
            return
        for setting in _sqlite_tests(ctx, posixpath.dirname(source.path)):
            change = ctx.changes.get(setting.path)
            if change is not None and change.any_added(setting.line, setting.line):
                return  # reported on the test side
            for evidence in mine:
                yield Hit(evidence.line, _runtime_message(evidence, setting))
            return


def _tests_message(setting: SqliteSetting, evidence: Evidence) -> str:
    return TESTS_ON_SQLITE.format(
        url=setting.url, server=evidence.server, what=evidence.what, path=evidence.path
    )


def _runtime_message(evidence: Evidence, setting: SqliteSetting) -> str:
    return RUNTIME_ADDED.format(
        what=evidence.what[:1].upper() + evidence.what[1:]
        if evidence.what.startswith("a ")
        else evidence.what,
        server=evidence.server,
        test_path=setting.path,
        test_line=setting.line,
        url=setting.url,
    )


def _test_settings(source: SourceFile) -> list[SqliteSetting]:
    """The SQLite settings of a test-side file (pytest's or tox's section of a shared config)."""
    if not matches_any(source.path, TEST_FILES) and posixpath.basename(source.path) not in SHARED_CONFIGS:
        return []
    settings = sqlite_settings(source)
    if posixpath.basename(source.path) in SHARED_CONFIGS and settings:
        inside = section_lines(source.text, TEST_SECTIONS)
        settings = [setting for setting in settings if setting.line in inside]
    return settings


def _is_evidence_file(path: str) -> bool:
    name = posixpath.basename(path)
    return name in (*DEPENDENCY_FILES, *COMPOSE_FILES, *URL_FILES) or path.endswith(".txt")


def _runtime(ctx: Context, path: str) -> Runtime:
    folder = posixpath.dirname(path)
    return ctx.memo((SLUG, "runtime", folder), lambda: runtime_of(ctx, folder))


def _sqlite_tests(ctx: Context, folder: str) -> Iterator[SqliteSetting]:
    """The SQLite settings of the test configs beside ``folder`` and above it, and of the workflows."""
    paths = [posixpath.join(d, name) for d in folders_up(folder) for name in TEST_CONFIG_NAMES]
    paths.extend(ctx.listing(WORKFLOW_FOLDER))
    for path in dict.fromkeys(paths):
        source = ctx.source(path)
        if source is not None:
            yield from _test_settings(source)


def _tests_run_on_a_server(ctx: Context, path: str) -> bool:
    """Whether CI or a test config also runs the tests on PostgreSQL or MySQL."""

    def find() -> bool:
        paths = [p for p in ctx.listing(WORKFLOW_FOLDER) if p.endswith((".yml", ".yaml"))]
        paths += [
            posixpath.join(d, name) for d in folders_up(posixpath.dirname(path)) for name in TEST_CONFIG_NAMES
        ]
        for candidate in paths:
            source = ctx.source(candidate)
            if source is None:
                continue
            try:
                text = source.text
            except ParseError:
                continue
            if SERVER_SERVICE.search(text) or (
                candidate.startswith(WORKFLOW_FOLDER) and SERVER_URL.search(text)
            ):
                return True
        return False

    return ctx.memo((SLUG, "server tests", posixpath.dirname(path)), find)


def _settings_default_to_sqlite(ctx: Context, source: SourceFile) -> bool:
    """Whether the application the tests import can run on SQLite itself: its settings
    module falls back to a SQLite URL (``os.getenv("DATABASE_URL", "sqlite:///app.db")``)."""
    for path in settings_paths(_text(source)):
        found = ctx.source(path)
        if found is not None and defaults_to_sqlite(found):
            return True
    return False


def _text(source: SourceFile) -> str:
    try:
        return source.text
    except ParseError:
        return ""
