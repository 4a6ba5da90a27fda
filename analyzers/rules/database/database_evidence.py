"""Which database a project runs on, read from the files that say so: the drivers in its
runtime dependencies, a database service in docker-compose, a URL in ``alembic.ini`` or
``.env``; and which database its tests use (a SQLite URL in the test config).

Everything is read line by line with regular expressions: these files are small, and a
line number is what a finding needs.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass

from faultline.analyzers.core.context import Context
from faultline.analyzers.core.source import ParseError, SourceFile

SQLITE_URL = re.compile(r"\bsqlite(?:\+\w+)?:/{2,3}[^\s'\"]*|django\.db\.backends\.sqlite3")
SERVER_URL = re.compile(r"\b(postgres(?:ql)?|postgis|mysql|mariadb)(?:\+\w+)?://", re.IGNORECASE)
# Before the URL on its line: the setting is a database's (not a cache, a result backend).
DATABASE_SETTING = re.compile(
    r"database|\bdb\b|\bdb_|_db\b|_db_|sqlalchemy|engine|dsn|\bdb\w*url|\bdb\w*uri", re.IGNORECASE
)
DRIVERS = {
    "psycopg": "PostgreSQL",
    "psycopg2": "PostgreSQL",
    "psycopg2-binary": "PostgreSQL",
    "psycopg-binary": "PostgreSQL",
    "asyncpg": "PostgreSQL",
    "pg8000": "PostgreSQL",
    "pymysql": "MySQL",
    "mysqlclient": "MySQL",
    "mysql-connector-python": "MySQL",
    "aiomysql": "MySQL",
    "asyncmy": "MySQL",
}
SQLITE_DRIVERS = ("aiosqlite", "pysqlite3", "pysqlite3-binary")
_REQUIREMENT = re.compile(r"^\s*[\"']?([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?")
_SERVICE_IMAGE = re.compile(
    r"^\s*image:\s*[\"']?(?:[\w.-]+/)*(postgres|postgis|mysql|mariadb)\b[^\s\"']*", re.IGNORECASE
)
SERVERS = {"postgres": "PostgreSQL", "postgresql": "PostgreSQL", "postgis": "PostgreSQL"}

REQUIREMENT_FOLDER = "requirements"
DEPENDENCY_FILES = ("pyproject.toml", "requirements.txt", "setup.cfg", "setup.py", "Pipfile")
COMPOSE_FILES = ("docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml")
URL_FILES = ("alembic.ini", ".env", ".env.example", ".env.sample", ".env.template")
# Requirement files for tools, not for the running service.
_NOT_RUNTIME = re.compile(r"test|dev|lint|doc|ci\b|type|check|bench", re.IGNORECASE)
# Dependency sections that are not the runtime's (extras, dev groups, test envs).
_RUNTIME_SECTION = re.compile(
    r"^(project|tool\.poetry\.dependencies|tool\.poetry\.group\.main\.dependencies|packages|options)$"
)
_SECTION = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+")


@dataclass(frozen=True)
class Evidence:
    """A line that shows the runtime database: ``what`` says how."""

    path: str
    line: int
    server: str  # PostgreSQL or MySQL
    what: str


@dataclass(frozen=True)
class Runtime:
    servers: tuple[Evidence, ...]
    sqlite_supported: bool  # a SQLite driver or URL on the runtime side too


def runtime_of(ctx: Context, folder: str) -> Runtime:
    """What the files of ``folder`` and the folders above it say about the runtime database."""
    servers: list[Evidence] = []
    sqlite = False
    for directory in folders_up(folder):
        for path in evidence_paths(ctx, directory):
            source = ctx.source(path)
            if source is None:
                continue
            found, sqlite_here = _read_evidence(source)
            servers.extend(found)
            sqlite = sqlite or sqlite_here
    return Runtime(tuple(servers), sqlite)


def folders_up(folder: str) -> list[str]:
    """``folder`` and every folder above it, the root last."""
    out = []
    current = folder.strip("/")
    while current:
        out.append(current)
        current = posixpath.dirname(current)
    return [*out, ""]


def evidence_paths(ctx: Context | None, directory: str) -> list[str]:
    names = [*DEPENDENCY_FILES, *COMPOSE_FILES, *URL_FILES]
    paths = [posixpath.join(directory, name) for name in names]
    if ctx is not None:
        folder = posixpath.join(directory, REQUIREMENT_FOLDER)
        paths.extend(path for path in ctx.listing(folder) if path.endswith((".txt", ".in")))
    return paths


def _read_evidence(source: SourceFile) -> tuple[list[Evidence], bool]:
    try:
        text = source.text
    except ParseError:
        return [], False
    name = posixpath.basename(source.path)
    if name in COMPOSE_FILES:
        return list(_compose(source.path, text)), False
    if name in URL_FILES:
        return list(_urls(source.path, text)), SQLITE_URL.search(text) is not None
    return _dependencies(source.path, text)


def _compose(path: str, text: str) -> Iterator[Evidence]:
    for number, line in enumerate(text.splitlines(), 1):
        match = _SERVICE_IMAGE.match(line)
        if match:
            server = SERVERS.get(match.group(1).lower(), "MySQL")
            image = match.group(0).split(":", 1)[1].strip(" \"'")
            yield Evidence(path, number, server, f"a `{image}` service")


def _urls(path: str, text: str) -> Iterator[Evidence]:
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith(("#", ";")):
            continue
        match = SERVER_URL.search(line)
        if match:
            scheme = match.group(1).lower()
            yield Evidence(path, number, SERVERS.get(scheme, "MySQL"), f"a `{scheme}://` URL")


def _dependencies(path: str, text: str) -> tuple[list[Evidence], bool]:
    """Drivers among the runtime dependencies: requirement files outside dev/test ones,
    and the runtime sections of pyproject.toml, setup.cfg, setup.py and Pipfile."""
    name = posixpath.basename(path)
    if name.endswith((".txt", ".in")) and _NOT_RUNTIME.search(name):
        return [], False
    found: list[Evidence] = []
    sqlite = False
    for number, line in _runtime_lines(name, text):
        for candidate in _requirement_names(line):
            if candidate in SQLITE_DRIVERS or candidate.endswith("[aiosqlite]"):
                sqlite = True
            package, _, extras = candidate.partition("[")
            server = DRIVERS.get(package) or _sqlalchemy_extra(package, extras)
            if server:
                found.append(
                    Evidence(
                        path,
                        number,
                        server,
                        f"`{package if package in DRIVERS else candidate}` in the dependencies",
                    )
                )
    return found, sqlite


def _sqlalchemy_extra(package: str, extras: str) -> str | None:
    """``sqlalchemy[postgresql-asyncpg]`` installs the driver too."""
    if package != "sqlalchemy":
        return None
    if re.search(r"postgres|psycopg|asyncpg|pg8000", extras):
        return "PostgreSQL"
    return "MySQL" if re.search(r"mysql|mariadb", extras) else None


def _runtime_lines(name: str, text: str) -> Iterator[tuple[int, str]]:
    lines = text.splitlines()
    if name.endswith((".txt", ".in")):
        yield from ((n, line) for n, line in enumerate(lines, 1) if not line.lstrip().startswith(("#", "-")))
        return
    if name == "setup.py":
        yield from _setup_py_lines(lines)
        return
    section = ""
    key = ""
    for number, line in enumerate(lines, 1):
        header = _SECTION.match(line)
        if header and not line.lstrip().startswith(("'", '"')):
            section, key = header.group(1).strip(), ""
            continue
        assignment = re.match(r"^([A-Za-z_][\w.-]*)\s*=", line)
        if assignment:
            key = assignment.group(1)
        if not _RUNTIME_SECTION.match(section):
            continue
        if section in ("project", "options") and key not in ("dependencies", "install_requires"):
            continue
        yield number, line


def _setup_py_lines(lines: list[str]) -> Iterator[tuple[int, str]]:
    inside = False
    for number, line in enumerate(lines, 1):
        if "install_requires" in line:
            inside = True
        if inside:
            yield number, line
            if "]" in line:
                inside = False


def _requirement_names(line: str) -> Iterator[str]:
    """Package names on a dependency line: `"asyncpg>=0.29",`, `psycopg2 = "^2.9"`, `pymysql`."""
    for part in re.split(r"[,\[\]]\s*(?=[\"'])|=\s*\[", line):
        match = _REQUIREMENT.match(part.strip().lstrip("["))
        if match:
            extras = match.group(2) or ""
            yield (match.group(1).lower().replace("_", "-") + extras.lower()).strip()


@dataclass(frozen=True)
class SqliteSetting:
    """A test-side line that points the tests at SQLite."""

    path: str
    line: int
    url: str


def sqlite_settings(source: SourceFile) -> list[SqliteSetting]:
    """The lines of a test config that set a SQLite database; none when the same
    file also names a PostgreSQL or MySQL URL (the tests choose between them)."""
    try:
        text = source.text
    except ParseError:
        return []
    if SQLITE_URL.search(text) is None or SERVER_URL.search(text):
        return []
    found = []
    for number, line in enumerate(source.lines, 1):
        match = SQLITE_URL.search(line)
        if match is None or line.lstrip().startswith(("#", ";")):
            continue
        if match.group(0).startswith("django") or DATABASE_SETTING.search(line[: match.start()]):
            found.append(SqliteSetting(source.path, number, match.group(0)))
    return found


def section_lines(text: str, wanted: re.Pattern[str]) -> set[int]:
    """The lines of an ini or TOML file inside a section whose name ``wanted`` matches."""
    lines: set[int] = set()
    inside = False
    for number, line in enumerate(text.splitlines(), 1):
        header = _SECTION.match(line)
        if header and not line.lstrip().startswith(("'", '"')):
            inside = wanted.search(header.group(1)) is not None
            continue
        if inside:
            lines.add(number)
    return lines


# Where a service keeps its database setting, inside a package its tests import.
SETTINGS_MODULES = (
    "config.py",
    "settings.py",
    "database.py",
    "db.py",
    "core/config.py",
    "core/settings.py",
    "core/database.py",
    "db/session.py",
    "db/database.py",
    "db/config.py",
)
# Leading white space within the line only: ``^\s*`` would run over every blank line after it.
_IMPORT = re.compile(r"^[^\S\n]*(?:from|import)\s+([A-Za-z_]\w*)", re.MULTILINE)
MAX_PACKAGES = 4


def settings_paths(test_text: str) -> list[str]:
    """The settings modules of the packages a test file imports (at the root or under ``src/``)."""
    packages = list(dict.fromkeys(_IMPORT.findall(test_text)))[: MAX_PACKAGES * 4]
    paths: list[str] = []
    for package in packages:
        if package in _NOT_PROJECT:
            continue
        for prefix in ("", "src/"):
            paths.extend(f"{prefix}{package}/{module}" for module in SETTINGS_MODULES)
    return paths[: MAX_PACKAGES * 2 * len(SETTINGS_MODULES)]


_NOT_PROJECT = frozenset(
    {
        "os",
        "sys",
        "re",
        "json",
        "typing",
        "pathlib",
        "asyncio",
        "contextlib",
        "collections",
        "datetime",
        "uuid",
        "unittest",
        "__future__",
        "pytest",
        "pytest_asyncio",
        "sqlalchemy",
        "sqlmodel",
        "fastapi",
        "starlette",
        "flask",
        "django",
        "httpx",
        "requests",
        "alembic",
        "pydantic",
        "factory",
        "faker",
    }
)


def defaults_to_sqlite(source: SourceFile) -> bool:
    """Whether a runtime settings module falls back to, or picks, a SQLite URL."""
    try:
        text = source.text
    except ParseError:
        return False
    return any(
        not line.lstrip().startswith("#") and DATABASE_SETTING.search(line[: match.start()])
        for line in text.splitlines()
        for match in [SQLITE_URL.search(line)]
        if match is not None
    )
