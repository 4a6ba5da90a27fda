"""FL004 hardcoded-pool-size: a connection pool sized by an integer literal in the code."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from faultline.analyzers.core.config import STRICT, matches_any
from faultline.analyzers.core.context import Context
from faultline.analyzers.core.findings import Hit, Severity, Suggestion
from faultline.analyzers.core.rule import Invalid, Rule, Valid, replace_span
from faultline.analyzers.core.source import SourceFile
from faultline.analyzers.languages import python
from faultline.analyzers.lib.python.imports import imported_names
from faultline.analyzers.lib.python.nodes import span, statements
from faultline.analyzers.rules.database.pool_sizes import PoolSizeScan, Sizing
from faultline.analyzers.rules.database.pools import (
    may_call_a_pool,
    may_size_a_pool,
    may_size_without_a_call,
)

# Module constants named like a pool size. ``DEFAULT_*`` names are defaults that
# something else overrides; thread, process and worker pools are not connection pools.
CONSTANT_PATTERN = (
    r"^(?!.*DEFAULT)(?:\w*_)?"
    r"(?:DB|DATABASE|SQL|SQLALCHEMY|PG|PSQL|POSTGRES|POSTGRESQL|MYSQL|MARIADB|ASYNCPG|REDIS|MONGO|MONGODB"
    r"|CONN|CONNECTION|ENGINE)_"
    r"(?:POOL_SIZE|POOL_(?:MIN|MAX)(?:_SIZE)?|(?:MIN|MAX)_POOL_SIZE|MAX_CONNECTIONS|(?:POOL_)?MAX_OVERFLOW)$"
    r"|^(?:POOL_)?MAX_OVERFLOW$"
)
# Every name CONSTANT_PATTERN finds holds one of these.
CONSTANT_WORDS = ("POOL_", "MAX_CONNECTIONS", "MAX_OVERFLOW")

# Code that runs once rather than in every replica: its pool does not grow with the deployment.
ONE_OFF_PATHS = ("scripts", "migrations", "alembic")

HARD_CODED = "`{name}` is hard-coded to {value}{where}; every environment gets the same pool"
SUGGESTION_TITLE = "Read the pool size from the environment"
# How a module reads a variable, by the unaliased top-level import that allows it, best first.
ENV_READERS = {"os": "os.getenv", "os.getenv": "getenv", "os.environ": "environ.get"}


@dataclass(frozen=True)
class PoolSizeOptions:
    __pydantic_config__: ClassVar[dict[str, Any]] = STRICT

    # A module constant whose name this regular expression finds (re.search) is reported when
    # it holds an integer, even if no pool call in its file uses it. Only files that mention a
    # pool, an overflow or a min/max size are read.
    constant_pattern: str = CONSTANT_PATTERN

    def __post_init__(self) -> None:
        try:
            re.compile(self.constant_pattern)
        except re.error as err:
            raise ValueError(f"constant_pattern: not a regular expression: {err}") from None


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
    A variable of that name already set somewhere changes the pool size, so
    `faultline fix` leaves it to review.
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
        pattern = re.compile(self.options.constant_pattern)
        # A pattern of the config's own: no word is known to be in the names it finds.
        words = CONSTANT_WORDS if self.options.constant_pattern == CONSTANT_PATTERN else None
        if not may_size_a_pool(source.text, pattern, words):
            return
        tree = python.module(source)
        # The gate reads import lines in docstrings too (``from sqlalchemy import create_engine``
        # in an example), and any call named like a pool API (``engine.connect()``): without an
        # import that reaches a pool API nor a named size there is nothing to walk for.
        if (
            words is not None
            and not may_size_without_a_call(source.text, words, pattern)
            and not may_call_a_pool(_imported(tree), source.text)
        ):
            return
        change = ctx.changes.get(source.path)
        sizings = PoolSizeScan(tree, change, pattern).sizings()
        reader = _env_reader(tree) if sizings else None
        for sizing in sizings:
            yield _hit(source, sizing, reader)


def _imported(tree: ast.Module) -> Iterator[str]:
    """The qualified names the module's absolute imports bind, from its statements alone."""
    return (imported.qualified for imported in imported_names(statements(tree)) if not imported.relative)


def _hit(source: SourceFile, sizing: Sizing, env_reader: str | None) -> Hit:
    value = sizing.value
    line, end_line = span(value)
    return Hit(
        line=line,
        end_line=end_line,
        column=source.offset_to_column(line, value.col_offset) + 1,
        message=HARD_CODED.format(name=sizing.name, value=sizing.size, where=sizing.where),
        severity=sizing.severity,
        suggestion=_suggestion(source, sizing, env_reader),
        statement=sizing.span,
        from_change=sizing.from_change,
    )


def _suggestion(source: SourceFile, sizing: Sizing, env_reader: str | None) -> Suggestion | None:
    if env_reader is None:
        return None
    value = sizing.value
    text = f'int({env_reader}("{sizing.env_name}", "{sizing.size}"))'
    end_line, end_col = value.end_lineno or value.lineno, value.end_col_offset or value.col_offset
    return replace_span(source, value.lineno, value.col_offset, end_line, end_col, text, SUGGESTION_TITLE)


def _env_reader(tree: ast.Module) -> str | None:
    """How the module can read a variable: ``os.getenv``, ``getenv`` or
    ``environ.get``, from its top-level imports; None when it cannot."""
    readers = {
        ENV_READERS[imported.qualified]
        for imported in imported_names(tree.body)
        if not imported.aliased and not imported.relative and imported.qualified in ENV_READERS
    }
    return next((reader for reader in ENV_READERS.values() if reader in readers), None)
