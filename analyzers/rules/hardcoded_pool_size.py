"""FL004 hardcoded-pool-size: a connection pool sized by an integer literal in the code."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from analyzers.changes import FileChange
from analyzers.config import matches_any
from analyzers.context import Context
from analyzers.findings import Hit, Severity, Suggestion
from analyzers.rule import Invalid, Rule, Valid, replace_span
from analyzers.source import SourceFile

# Module constants named like a pool size. ``DEFAULT_*`` names are defaults that
# something else overrides; thread, process and worker pools are not connection pools.
CONSTANT_PATTERN = (
    r"^(?!.*DEFAULT)(?:\w*_)?"
    r"(?:DB|DATABASE|SQL|SQLALCHEMY|PG|PSQL|POSTGRES|POSTGRESQL|MYSQL|MARIADB|ASYNCPG|REDIS|MONGO|MONGODB"
    r"|CONN|CONNECTION|ENGINE)_"
    r"(?:POOL_SIZE|POOL_(?:MIN|MAX)(?:_SIZE)?|(?:MIN|MAX)_POOL_SIZE|MAX_CONNECTIONS|(?:POOL_)?MAX_OVERFLOW)$"
    r"|^(?:POOL_)?MAX_OVERFLOW$"
)

# Code that runs once rather than in every replica: its pool does not grow with the deployment.
ONE_OFF_PATHS = ("scripts", "migrations", "alembic")

HARD_CODED = "`{name}` is hard-coded to {value}{where}; every environment gets the same pool"
SUGGESTION_TITLE = "Read the pool size from the environment"


@dataclass(frozen=True)
class PoolApi:
    """A call that opens a connection pool and the arguments that size it."""

    env_prefix: str  # DB, REDIS, MONGO: the suggested variable is PREFIX_SUFFIX
    keywords: tuple[str, ...]
    positional: tuple[str, ...] = ()  # leading positional arguments, by name


SQLALCHEMY = PoolApi("DB", ("pool_size", "max_overflow"))
MIN_MAX_SIZE = PoolApi("DB", ("min_size", "max_size"))
PSYCOPG2 = PoolApi("DB", ("minconn", "maxconn"), positional=("minconn", "maxconn"))
MINSIZE_MAXSIZE = PoolApi("DB", ("minsize", "maxsize"))
MYSQL_CONNECTOR = PoolApi("DB", ("pool_size",))
PEEWEE = PoolApi("DB", ("max_connections",))
REDIS = PoolApi("REDIS", ("max_connections",))
AIOREDIS_V1 = PoolApi("REDIS", ("minsize", "maxsize"))
MONGO = PoolApi("MONGO", ("maxPoolSize", "minPoolSize"))

ENV_SUFFIX = {
    "pool_size": "POOL_SIZE",
    "max_overflow": "MAX_OVERFLOW",
    "min_size": "POOL_MIN_SIZE",
    "max_size": "POOL_MAX_SIZE",
    "minsize": "POOL_MIN_SIZE",
    "maxsize": "POOL_MAX_SIZE",
    "minconn": "POOL_MIN_SIZE",
    "maxconn": "POOL_MAX_SIZE",
    "max_connections": "MAX_CONNECTIONS",
    "maxPoolSize": "MAX_POOL_SIZE",
    "minPoolSize": "MIN_POOL_SIZE",
}

# The calls that open a pool, by the arguments that size it: "module: name ...".
POOL_CALLS: dict[PoolApi, str] = {
    SQLALCHEMY: """
        sqlalchemy: create_engine engine_from_config pool.QueuePool pool.AsyncAdaptedQueuePool
        sqlalchemy.engine: create_engine engine_from_config
        sqlalchemy.ext.asyncio: create_async_engine async_engine_from_config
        sqlmodel: create_engine
    """,
    MIN_MAX_SIZE: """
        asyncpg: create_pool pool.create_pool
        psycopg_pool: ConnectionPool AsyncConnectionPool
        databases: Database
    """,
    PSYCOPG2: "psycopg2.pool: SimpleConnectionPool ThreadedConnectionPool PersistentConnectionPool",
    MINSIZE_MAXSIZE: "aiomysql: create_pool sa.create_engine\naiopg: create_pool sa.create_engine",
    MYSQL_CONNECTOR: "mysql.connector: connect pooling.MySQLConnectionPool",
    PEEWEE: "playhouse.pool: PooledPostgresqlDatabase PooledPostgresqlExtDatabase PooledMySQLDatabase",
    REDIS: "\n".join(
        f"{root}: ConnectionPool BlockingConnectionPool Redis StrictRedis RedisCluster from_url"
        " Redis.from_url StrictRedis.from_url ConnectionPool.from_url BlockingConnectionPool.from_url"
        " client.Redis cluster.RedisCluster connection.ConnectionPool connection.BlockingConnectionPool"
        for root in ("redis", "redis.asyncio", "aioredis")
    ),
    AIOREDIS_V1: "aioredis: create_redis_pool create_pool",
    MONGO: """
        pymongo: MongoClient AsyncMongoClient
        motor.motor_asyncio: AsyncIOMotorClient
        motor.motor_tornado: MotorClient
    """,
}
POOL_APIS = {
    f"{module.strip()}.{name}": api
    for api, spec in POOL_CALLS.items()
    for module, names in (line.split(":") for line in spec.strip().splitlines())
    for name in names.split()
}
# Flask-SQLAlchemy takes the engine's arguments as a dict.
ENGINE_OPTIONS_CALLS = frozenset({"flask_sqlalchemy.SQLAlchemy"})
ENGINE_OPTIONS_NAME = "SQLALCHEMY_ENGINE_OPTIONS"
# A minimum of one connection keeps a single connection warm: not a scaling risk.
MINIMUMS = frozenset({"min_size", "minsize", "minconn", "minPoolSize"})


class PoolSizeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    constant_pattern: str = Field(
        CONSTANT_PATTERN,
        description="A module constant whose name this regular expression finds (re.search) is "
        "reported when it holds an integer, even if no pool call in its file uses it. Only files "
        "that mention a pool, an overflow or a min/max size are read.",
    )

    @field_validator("constant_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as err:
            raise ValueError(f"not a regular expression: {err}") from None
        return value


@dataclass(frozen=True)
class Sizing:
    """One integer literal that sizes a pool."""

    name: str  # the argument, key or constant
    value: ast.Constant
    where: str  # " in create_engine()", or ""
    env_name: str
    span: tuple[int, int]  # the lines of the keyword or assignment
    severity: Severity = Severity.WARNING
    from_change: bool = False  # defined elsewhere, used by a call the change adds

    @property
    def size(self) -> int:
        number = self.value.value
        return number if isinstance(number, int) else 0

    @property
    def key(self) -> tuple[int, int]:
        return (self.value.lineno, self.value.col_offset)


class HardcodedPoolSize(Rule):
    """
    ## What it does
    Checks for connection pools sized by an integer literal: `pool_size=` and
    `max_overflow=` of SQLAlchemy's `create_engine`, `min_size=`/`max_size=` of
    `asyncpg.create_pool` and `psycopg_pool`, the sizes of `psycopg2.pool`,
    `aiomysql` and `aiopg` pools, `max_connections=` of redis clients and pools,
    `maxPoolSize=` of `MongoClient`; and module constants named like a pool size
    (`DB_POOL_SIZE = 20`, `DB_MAX_OVERFLOW = 10`, `REDIS_MAX_CONNECTIONS = 50`).

    ## Why is this risky?
    Every process opens its own pool. A size fixed in the code is the same for one
    replica in staging and for forty in production, where forty pools of 20 plus 10
    overflow ask for 1,200 connections from a database that accepts a few hundred:
    requests then fail with "too many connections" as soon as the service scales
    out. A size that is too small instead makes requests queue for a connection.
    The right value depends on the deployment, and changing a literal takes a
    release.

    Not reported: values read from the environment or from settings, fields of a
    settings class or any class attribute, default parameter values, constants
    handed to other code (such as the default of `os.getenv`), `0` and `-1`
    ("none" or "no limit"), a minimum of one connection, SQLite engines, tests,
    and one-off code under `scripts/`, `migrations/` or `alembic/`. A constant
    that only its name ties to a pool is a notice.

    ## Example
    ```python
    DB_POOL_SIZE = 20
    DB_MAX_OVERFLOW = 10

    engine = create_async_engine(url, pool_size=DB_POOL_SIZE, max_overflow=DB_MAX_OVERFLOW)
    ```

    ## Use instead
    ```python
    DB_POOL_SIZE = int(os.getenv("DB_POOL_SIZE", "20"))
    DB_MAX_OVERFLOW = int(os.getenv("DB_MAX_OVERFLOW", "10"))

    engine = create_async_engine(url, pool_size=DB_POOL_SIZE, max_overflow=DB_MAX_OVERFLOW)
    ```

    ## Fix safety
    The suggestion replaces the literal with `int(os.getenv(NAME, "20"))`, which
    keeps today's value while the variable is unset. It is offered only when the
    module already imports `os` (or `getenv` or `environ` from it) at the top
    level, since a suggestion cannot add an import. The variable name comes from
    the constant or the argument (`pool_size` gives `DB_POOL_SIZE`): rename it to
    match your deployment. A value that is not an integer then fails at start-up.
    """

    code = "FL004"
    slug = "hardcoded-pool-size"
    severity = Severity.WARNING
    summary = "A connection pool size is hard-coded"
    production_only = True
    needles = (
        b"pool",
        b"Pool",
        b"POOL",
        b"max_connections",
        b"MAX_CONNECTIONS",
        b"overflow",
        b"OVERFLOW",
        b"min_size",
        b"max_size",
        b"minsize",
        b"maxsize",
        b"minconn",
        b"maxconn",
    )
    Options = PoolSizeOptions

    VALID: ClassVar[list[Valid]] = [
        Valid(
            "import os\nfrom sqlalchemy import create_engine\n\n"
            'engine = create_engine(URL, pool_size=int(os.getenv("DB_POOL_SIZE", "20")))\n'
        ),
        # The constant is the default of an environment read.
        Valid('import os\n\nDB_POOL_SIZE = 20\npool_size = int(os.getenv("DB_POOL_SIZE", DB_POOL_SIZE))\n'),
        Valid(
            "from pydantic_settings import BaseSettings\nfrom sqlalchemy import create_engine\n\n\n"
            "class Settings(BaseSettings):\n    DB_POOL_SIZE: int = 20\n    db_max_overflow: int = 10\n\n\n"
            "settings = Settings()\nengine = create_engine(settings.url, pool_size=settings.DB_POOL_SIZE)\n"
        ),
        # Sizes of things that are not database pools.
        Valid(
            "import httpx\nfrom cachetools import TTLCache\n\nTHREAD_POOL_SIZE = 8\n"
            "cache = TTLCache(maxsize=1000, ttl=60)\nlimits = httpx.Limits(max_connections=100)\n"
            "thumbnail = resize(image, max_size=512)\n"
        ),
        # Neither is asyncpg's create_pool nor SQLAlchemy's create_engine.
        Valid(
            "import asyncpg\nfrom .db import create_engine\n\n\ndef create_pool(min_size, max_size):\n"
            "    return Pool(min_size, max_size)\n\n\npool = create_pool(min_size=5, max_size=20)\n"
            "engine = create_engine(pool_size=20)\n"
        ),
        Valid(
            "from sqlalchemy import create_engine\n\nengine = create_engine(URL, pool_size=20)\n",
            path="tests/test_db.py",
        ),
        # A default parameter value is the caller's to change.
        Valid(
            "from sqlalchemy import create_engine\n\n\ndef make_engine(url, pool_size=5, max_overflow=10):\n"
            "    return create_engine(url, pool_size=pool_size, max_overflow=max_overflow)\n"
        ),
        # "None", "no limit", one warm connection, and an in-process database.
        Valid(
            "from psycopg2 import pool\nfrom sqlalchemy import create_engine\n\n"
            "engine = create_engine(URL, max_overflow=0)\n"
            'local = create_engine("sqlite:///app.db", pool_size=1)\n'
            "readers = pool.SimpleConnectionPool(1, DB_MAX, dsn=DSN)\n"
        ),
        # The change touches the URL, not the pool size.
        Valid(
            "from sqlalchemy import create_engine\n\n"
            "engine = create_engine(\n    NEW_URL,\n    pool_size=20,\n)\n",
            base="from sqlalchemy import create_engine\n\n"
            "engine = create_engine(\n    URL,\n    pool_size=20,\n)\n",
        ),
        # A class attribute: a config object the deployment picks or overrides.
        Valid("class ProductionConfig(Config):\n    SQLALCHEMY_POOL_SIZE = 20\n"),
        # A one-off script runs once, not in every replica.
        Valid(
            "import asyncpg\n\n\nasync def main(dsn):\n"
            "    pool = await asyncpg.create_pool(dsn, max_size=5)\n",
            path="scripts/backfill.py",
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        Invalid(
            "from sqlalchemy.ext.asyncio import create_async_engine\n\n"
            "engine = create_async_engine(URL, pool_size=20)\n",
            line=3,
            message="`pool_size` is hard-coded to 20 in create_async_engine()",
        ),
        Invalid(
            "import os\nimport sqlalchemy as sa\n\n"
            'engine = sa.create_engine(os.environ["DB_URL"], max_overflow=10)  # burst\n',
            line=4,
            message="`max_overflow` is hard-coded to 10 in sa.create_engine()",
            suggestion='engine = sa.create_engine(os.environ["DB_URL"], '
            'max_overflow=int(os.getenv("DB_MAX_OVERFLOW", "10")))  # burst',
        ),
        Invalid(
            "import os\n\nDB_POOL_SIZE = 20  # connections per worker\n",
            line=3,
            severity=Severity.NOTICE,
            message="`DB_POOL_SIZE` is hard-coded to 20",
            suggestion='DB_POOL_SIZE = int(os.getenv("DB_POOL_SIZE", "20"))  # connections per worker',
        ),
        Invalid(
            "import os\n\nREDIS_MAX_CONNECTIONS: int = 100\n",
            line=3,
            suggestion='REDIS_MAX_CONNECTIONS: int = int(os.getenv("REDIS_MAX_CONNECTIONS", "100"))',
        ),
        Invalid(
            "import asyncpg\n\nMAX_CONNECTIONS = 50\n\n\nasync def connect(dsn):\n"
            "    return await asyncpg.create_pool(dsn, max_size=MAX_CONNECTIONS)\n",
            line=3,
            severity=Severity.WARNING,
            message="`MAX_CONNECTIONS` is hard-coded to 50 (max_size in asyncpg.create_pool())",
        ),
        Invalid(
            "from psycopg2 import pool\n\ndb_pool = pool.ThreadedConnectionPool(1, 20, dsn=DSN)\n",
            line=3,
            message="`maxconn` is hard-coded to 20 in pool.ThreadedConnectionPool()",
        ),
        Invalid(
            "import os\nimport redis.asyncio as aioredis\n\n"
            'redis = aioredis.from_url(os.environ["REDIS_URL"], max_connections=50)\n',
            line=4,
            message="`max_connections` is hard-coded to 50 in aioredis.from_url()",
            suggestion='redis = aioredis.from_url(os.environ["REDIS_URL"], '
            'max_connections=int(os.getenv("REDIS_MAX_CONNECTIONS", "50")))',
        ),
        Invalid(
            "from os import environ\nfrom psycopg_pool import AsyncConnectionPool\n\n"
            'pool = AsyncConnectionPool(environ["DB_CONN"], min_size=1, max_size=4)\n',
            line=4,
            message="`max_size` is hard-coded to 4 in AsyncConnectionPool()",
            suggestion='pool = AsyncConnectionPool(environ["DB_CONN"], min_size=1, '
            'max_size=int(environ.get("DB_POOL_MAX_SIZE", "4")))',
        ),
        Invalid(
            "from flask_sqlalchemy import SQLAlchemy\n\n"
            'ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_size": 10}\n'
            "db = SQLAlchemy(engine_options=ENGINE_OPTIONS)\n",
            line=3,
            message="`pool_size` is hard-coded to 10 in ENGINE_OPTIONS",
        ),
        # Django 5.1's psycopg pool.
        Invalid(
            'DATABASES = {\n    "default": {\n        "ENGINE": "django.db.backends.postgresql",\n'
            '        "OPTIONS": {"pool": {"max_size": 16}},\n    },\n}\n',
            path="mysite/settings.py",
            line=4,
        ),
        # The change adds the engine; the constant it uses was already there.
        Invalid(
            "from sqlalchemy import create_engine\n\nPOOL = 30\n\n"
            "engine = create_engine(URL, pool_size=POOL)\n",
            base="from sqlalchemy import create_engine\n\nPOOL = 30\n",
            line=3,
            message="`POOL` is hard-coded to 30 (pool_size in create_engine())",
        ),
    ]

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        if matches_any(source.path, ONE_OFF_PATHS):
            return
        change = ctx.changes.get(source.path)
        scan = _Scan(source, change, re.compile(self.options.constant_pattern))
        for sizing in scan.sizings():
            yield scan.hit(sizing)


class _Scan:
    """One module: its imports and module-level values, and the literals that size pools."""

    def __init__(self, source: SourceFile, change: FileChange | None, pattern: re.Pattern[str]) -> None:
        self.source = source
        self.tree = source.python
        self.change = change
        self.pattern = pattern
        self.imports = _imports(self.tree)
        self.parents = {child: node for node in ast.walk(self.tree) for child in ast.iter_child_nodes(node)}
        self.constants, self.mappings = _module_values(self.tree)
        self.env_reader = _env_reader(self.tree)
        self.found: dict[tuple[int, int], Sizing] = {}

    def sizings(self) -> list[Sizing]:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call):
                self._call(node)
            elif isinstance(node, ast.Assign) and not isinstance(self.parents.get(node), ast.ClassDef):
                self._assignment(node)
            elif isinstance(node, ast.Dict):
                self._django_pool(node)
        for name, node in self.constants.items():
            if self.pattern.search(name) and not self._handed_on(name):
                env_name = name.lstrip("_").upper()
                self._add(Sizing(name, node, "", env_name, _statement(self.parents, node), Severity.NOTICE))
        return sorted(self.found.values(), key=lambda sizing: sizing.key)

    def _add(self, sizing: Sizing) -> None:
        """One finding per literal: a constant used by two calls is reported once."""
        earlier = self.found.get(sizing.key)
        if earlier is None or (sizing.from_change and not earlier.from_change):
            self.found[sizing.key] = sizing

    def _call(self, call: ast.Call) -> None:
        target = _qualified(call.func, self.imports) or ""
        where = f" in {ast.unparse(call.func)}()"
        if target in ENGINE_OPTIONS_CALLS:
            for keyword in call.keywords:
                if keyword.arg == "engine_options":
                    self._mapping(keyword.value, SQLALCHEMY, where, call)
            return
        api = POOL_APIS.get(target)
        if api is None or _is_sqlite(call):
            return
        for name, value, span in _sizing_arguments(call, api):
            if name:
                self._value(name, value, api, span, where=where, call=call)
            else:
                self._mapping(value, api, where, call)

    def _value(
        self,
        name: str,
        value: ast.expr,
        api: PoolApi,
        span: tuple[int, int],
        *,
        where: str,
        call: ast.Call | None,
        remote: bool = False,
    ) -> None:
        """A literal, or a module constant, given as the ``name`` size of a pool;
        ``remote``: the literal sits in a mapping defined away from ``call``."""
        derived = f"{api.env_prefix}_{ENV_SUFFIX[name]}"
        if isinstance(value, ast.Name) and value.id in self.constants:
            constant = self.constants[value.id]
            if _is_size(name, constant):
                env_name = value.id.lstrip("_") if value.id.isupper() else derived
                statement = _statement(self.parents, constant)
                place = f" ({name}{where})"
                self._add(
                    Sizing(value.id, constant, place, env_name, statement, from_change=self._added(call))
                )
        elif isinstance(value, ast.Constant) and _is_size(name, value):
            self._add(Sizing(name, value, where, derived, span, from_change=remote and self._added(call)))

    def _mapping(self, node: ast.expr, api: PoolApi, where: str, call: ast.Call | None) -> None:
        """Sizes given as a dict: ``**{"pool_size": 10}``, ``engine_options=OPTIONS``."""
        remote = isinstance(node, ast.Name)
        if isinstance(node, ast.Name):
            if node.id not in self.mappings:
                return
            where, node = f" in {node.id}", self.mappings[node.id]
        for key, value, span in _mapping_items(node):
            if key in api.keywords:
                self._value(key, value, api, span, where=where, call=call, remote=remote)

    def _added(self, call: ast.Call | None) -> bool:
        """Whether the change adds ``call``: a value defined elsewhere then counts as new."""
        if call is None or self.change is None:
            return False
        return self.change.any_added(call.lineno, call.end_lineno or call.lineno)

    def _assignment(self, node: ast.Assign) -> None:
        """``app.config["SQLALCHEMY_POOL_SIZE"] = 10`` and ``SQLALCHEMY_ENGINE_OPTIONS = {...}``."""
        target = node.targets[0] if len(node.targets) == 1 else None
        name = _target_name(target) if target is not None else None
        if name is None:
            return
        if name == ENGINE_OPTIONS_NAME:
            self._mapping(node.value, SQLALCHEMY, f" in {ENGINE_OPTIONS_NAME}", None)
        elif (
            isinstance(target, ast.Subscript)
            and isinstance(node.value, ast.Constant)
            and self.pattern.search(name)
            and _is_size(name, node.value)
        ):
            statement = (node.lineno, node.end_lineno or node.lineno)
            self._add(Sizing(name, node.value, "", name, statement, Severity.NOTICE))

    def _django_pool(self, node: ast.Dict) -> None:
        """Django's ``"OPTIONS": {"pool": {"min_size": 2, "max_size": 4}}``."""
        options = _dict_value(node, "OPTIONS")
        pool = _dict_value(options, "pool") if isinstance(options, ast.Dict) else None
        if isinstance(pool, ast.Dict):
            self._mapping(pool, MIN_MAX_SIZE, " in the database OPTIONS", None)

    def _handed_on(self, name: str) -> bool:
        """True when the constant is a default for something else: an argument
        of a call other than as a pool size (``os.getenv("X", NAME)``), a
        parameter default, or a value in a class body (a settings field)."""
        for node in ast.walk(self.tree):
            loaded = isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load)
            if loaded and self._feeds_other_code(node):
                return True
        return False

    def _feeds_other_code(self, node: ast.AST) -> bool:
        child, parent = node, self.parents.get(node)
        while parent is not None and not isinstance(
            parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Module)
        ):
            if isinstance(parent, (ast.arguments, ast.ClassDef)):
                return True
            if isinstance(parent, ast.keyword) and parent.arg in ENV_SUFFIX:
                return False  # ``pool_size=NAME``, even to a wrapper of the project's own
            if isinstance(parent, ast.Call) and child is not parent.func:
                target = _qualified(parent.func, self.imports)
                return target not in POOL_APIS and target not in ENGINE_OPTIONS_CALLS
            child, parent = parent, self.parents.get(parent)
        return False

    def hit(self, sizing: Sizing) -> Hit:
        value = sizing.value
        line, end_line = value.lineno, value.end_lineno or value.lineno
        return Hit(
            line=line,
            end_line=end_line,
            column=self.source.offset_to_column(line, value.col_offset) + 1,
            message=HARD_CODED.format(name=sizing.name, value=sizing.size, where=sizing.where),
            severity=sizing.severity,
            suggestion=self._suggestion(sizing),
            statement=sizing.span,
            from_change=sizing.from_change,
        )

    def _suggestion(self, sizing: Sizing) -> Suggestion | None:
        if self.env_reader is None:
            return None
        value = sizing.value
        text = f'int({self.env_reader}("{sizing.env_name}", "{sizing.size}"))'
        end_line, end_col = value.end_lineno or value.lineno, value.end_col_offset or value.col_offset
        return replace_span(
            self.source, value.lineno, value.col_offset, end_line, end_col, text, SUGGESTION_TITLE
        )


def _imports(tree: ast.Module) -> dict[str, str]:
    """Local name → the qualified name it was imported as; names the module
    also binds otherwise (a local ``def create_pool``, an argument) are dropped."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                names[alias.asname or top] = alias.name if alias.asname else top
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.pop(node.name, None)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.pop(node.id, None)
        elif isinstance(node, ast.arg):
            names.pop(node.arg, None)
    return names


def _qualified(node: ast.expr, imports: dict[str, str]) -> str | None:
    if isinstance(node, ast.Name):
        return imports.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _qualified(node.value, imports)
        return f"{base}.{node.attr}" if base else None
    return None


def _env_reader(tree: ast.Module) -> str | None:
    """How the module can read a variable: ``os.getenv``, ``getenv`` or
    ``environ.get``, from its top-level imports; None when it cannot."""
    readers = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            readers |= {"os.getenv" for a in node.names if a.asname is None and a.name.split(".")[0] == "os"}
        elif isinstance(node, ast.ImportFrom) and node.module == "os" and node.level == 0:
            unaliased = {a.name for a in node.names if a.asname is None}
            readers |= {"getenv"} & unaliased | {"environ.get" for name in unaliased if name == "environ"}
    return next((reader for reader in ("os.getenv", "getenv", "environ.get") if reader in readers), None)


def _module_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements that run at import, through ``if``/``try``/``with`` blocks."""
    for node in body:
        yield node
        if isinstance(node, (ast.If, ast.With, ast.AsyncWith)):
            yield from _module_statements(node.body)
            yield from _module_statements(getattr(node, "orelse", []))
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _module_statements(block)


def _module_values(tree: ast.Module) -> tuple[dict[str, ast.Constant], dict[str, ast.expr]]:
    """Module-level names bound once and never changed: to a positive int
    literal (constants), or to a dict display or ``dict(...)`` (mappings)."""
    changes = _change_counts(tree)
    constants: dict[str, ast.Constant] = {}
    mappings: dict[str, ast.expr] = {}
    for node in _module_statements(tree.body):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if not isinstance(target, ast.Name) or changes.get(target.id) != 1:
            continue
        if isinstance(value, ast.Constant) and type(value.value) is int and value.value > 0:
            constants[target.id] = value
        elif _mapping_items(value):
            mappings[target.id] = value
    return constants, mappings


def _change_counts(tree: ast.Module) -> dict[str, int]:
    """How often each name is bound (or, for a dict, written into) anywhere in the module."""
    counts: dict[str, int] = {}
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            name = node.id
        elif isinstance(node, ast.arg):
            name = node.arg
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
        ):
            name = node.value.id
        elif isinstance(node, ast.Attribute) and node.attr in ("update", "setdefault", "pop"):
            name = node.value.id if isinstance(node.value, ast.Name) else None
        if name is not None:
            counts[name] = counts.get(name, 0) + 1
    return counts


def _is_size(name: str, node: ast.Constant) -> bool:
    """A positive int: 0 and -1 mean "none" or "no limit"; a minimum of 1 only keeps one connection."""
    number = node.value
    if type(number) is not int:
        return False
    return number > 1 if name in MINIMUMS else number > 0


def _statement(parents: dict[ast.AST, ast.AST], node: ast.AST) -> tuple[int, int]:
    statement = parents.get(node)
    while statement is not None and not isinstance(statement, ast.stmt):
        statement = parents.get(statement)
    anchor = statement if statement is not None else node
    first = getattr(anchor, "lineno", 1)
    return (first, getattr(anchor, "end_lineno", None) or first)


def _sizing_arguments(call: ast.Call, api: PoolApi) -> Iterator[tuple[str, ast.expr, tuple[int, int]]]:
    """(argument, value, lines) per size argument; "" for a ``**mapping``."""
    for index, name in enumerate(api.positional):
        if index >= len(call.args) or any(isinstance(arg, ast.Starred) for arg in call.args[: index + 1]):
            break
        arg = call.args[index]
        yield name, arg, (arg.lineno, arg.end_lineno or arg.lineno)
    for keyword in call.keywords:
        span = (keyword.lineno, keyword.end_lineno or keyword.lineno)
        if keyword.arg is None or keyword.arg in api.keywords:
            yield keyword.arg or "", keyword.value, span


def _mapping_items(node: ast.expr) -> list[tuple[str, ast.expr, tuple[int, int]]]:
    """The string keys of ``{"pool_size": 10}`` or ``dict(pool_size=10)``, with values and lines."""
    items = []
    if isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                items.append((key.value, value, (key.lineno, value.end_lineno or value.lineno)))
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        for keyword in node.keywords:
            if keyword.arg is not None:
                items.append(
                    (keyword.arg, keyword.value, (keyword.lineno, keyword.end_lineno or keyword.lineno))
                )
    return items


def _dict_value(node: ast.Dict, key: str) -> ast.expr | None:
    for k, value in zip(node.keys, node.values, strict=True):
        if isinstance(k, ast.Constant) and k.value == key:
            return value
    return None


def _target_name(target: ast.expr) -> str | None:
    """``NAME`` or ``anything["NAME"]``."""
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
        key = target.slice.value
        return key if isinstance(key, str) else None
    return None


def _is_sqlite(call: ast.Call) -> bool:
    """An in-process database: its pool does not grow with the deployment."""
    url = call.args[0] if call.args else next((kw.value for kw in call.keywords if kw.arg == "url"), None)
    return isinstance(url, ast.Constant) and isinstance(url.value, str) and url.value.startswith("sqlite")
