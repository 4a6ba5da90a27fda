"""FL004 hardcoded-pool-size beyond its examples: options, constants, mappings, positions."""

from __future__ import annotations

import textwrap

import pytest

from faultline.analyzers.core.changes import ChangeSet, diff_texts
from faultline.analyzers.core.config import ConfigError, parse_config
from faultline.analyzers.core.engine import Engine
from faultline.analyzers.core.findings import Finding, Severity
from faultline.analyzers.core.repo import MemoryRepoView
from faultline.analyzers.core.rule import Valid
from faultline.analyzers.core.testing import run_example
from faultline.analyzers.rules.database.hardcoded_pool_size import HardcodedPoolSize


def check(code: str, path: str = "app/db.py") -> list[Finding]:
    return run_example(HardcodedPoolSize, Valid(textwrap.dedent(code), path=path))


def check_with_config(config_text: str, code: str, path: str = "app/db.py") -> list[Finding]:
    engine = Engine(parse_config(config_text), [HardcodedPoolSize])
    changes = ChangeSet({path: diff_texts(path, None, code)})
    return engine.run(changes, MemoryRepoView({path: code.encode()}, {})).findings


def lines(findings: list[Finding]) -> list[int]:
    return [finding.line for finding in findings]


def test_both_sizes_of_one_engine_are_two_findings_at_their_literals() -> None:
    findings = check(
        """\
        from sqlalchemy import create_engine

        engine = create_engine(
            URL,
            pool_size=20,
            max_overflow=30,
        )
        """
    )
    assert lines(findings) == [5, 6]
    assert findings[0].column == 15
    assert findings[0].message == (
        "`pool_size` is hard-coded to 20 in create_engine(); every environment gets the same pool"
    )
    assert all(finding.severity is Severity.WARNING for finding in findings)


def test_a_constant_used_by_two_pools_is_reported_once_at_the_constant() -> None:
    findings = check(
        """\
        import redis

        REDIS_MAX_CONNECTIONS = 50
        cache = redis.ConnectionPool.from_url(CACHE_URL, max_connections=REDIS_MAX_CONNECTIONS)
        queue = redis.BlockingConnectionPool(max_connections=REDIS_MAX_CONNECTIONS)
        """
    )
    assert lines(findings) == [3]
    # Used by a pool, so a warning, not the notice a name alone gives.
    assert findings[0].severity is Severity.WARNING


def test_a_constant_overridden_from_the_environment_is_not_reported() -> None:
    assert not check(
        """\
        import os

        DB_POOL_SIZE = 20
        if "DB_POOL_SIZE" in os.environ:
            DB_POOL_SIZE = int(os.environ["DB_POOL_SIZE"])
        """
    )


@pytest.mark.parametrize(
    "code",
    [
        # A default, by its name and by its use.
        "DEFAULT_DB_POOL_SIZE = 10\n",
        "DB_POOL_SIZE = 10\n\n\ndef connect(url, pool_size=DB_POOL_SIZE):\n    return url, pool_size\n",
        "DB_POOL_SIZE = 10\n\n\nclass Settings(BaseSettings):\n    db_pool_size: int = DB_POOL_SIZE\n",
        "REDIS_MAX_CONNECTIONS = 10\nparser.add_argument('--redis-max', default=REDIS_MAX_CONNECTIONS)\n",
        # Not connection pools, and not integers.
        "WORKER_POOL_SIZE = 4\nHTTP_MAX_CONNECTIONS = 100\nTHREADPOOL_SIZE = 8\n",
        "DB_POOL_SIZE = '20'\nDB_MAX_OVERFLOW = True\n",
        # A local variable in a function is not a module setting.
        "def connect():\n    DB_POOL_SIZE = 5\n    return DB_POOL_SIZE\n",
    ],
)
def test_constants_that_are_defaults_or_not_pool_sizes_are_not_reported(code: str) -> None:
    assert not check(code)


def test_a_default_constant_passed_to_a_pool_is_reported() -> None:
    findings = check(
        "import asyncpg\n\nDEFAULT_POOL_MAX = 10\n"
        "pool = asyncpg.create_pool(DSN, max_size=DEFAULT_POOL_MAX)\n"
    )
    assert lines(findings) == [3]


def test_a_private_constant_given_as_pool_size_to_a_wrapper_is_a_notice() -> None:
    findings = check("import os\n\n_DB_POOL_SIZE = 4\nSqlEngine.init_engine(pool_size=_DB_POOL_SIZE)\n")
    assert [(f.line, f.severity) for f in findings] == [(3, Severity.NOTICE)]
    assert findings[0].suggestion is not None
    assert findings[0].suggestion.replacement == '_DB_POOL_SIZE = int(os.getenv("DB_POOL_SIZE", "4"))'
    # The wrapper's own literal is not reported: what it does with it is unknown.
    assert not check("SqlEngine.init_engine(pool_size=2)\n")


def test_mappings_passed_by_name_or_as_dict_calls_are_read() -> None:
    findings = check(
        """\
        from sqlalchemy import create_engine

        POOL_CONFIG = {"pool_pre_ping": True, "pool_size": 5}
        engine = create_engine(URL, **POOL_CONFIG)
        other = create_engine(URL, **dict(max_overflow=15))
        """
    )
    assert [(f.line, f.message.split(";")[0]) for f in findings] == [
        (3, "`pool_size` is hard-coded to 5 in POOL_CONFIG"),
        (5, "`max_overflow` is hard-coded to 15 in create_engine()"),
    ]


def test_a_mapping_changed_elsewhere_in_the_module_is_not_read() -> None:
    assert not check(
        """\
        import os
        from sqlalchemy import create_engine

        POOL_CONFIG = {"pool_size": 5}
        POOL_CONFIG["pool_size"] = int(os.environ["DB_POOL_SIZE"])
        engine = create_engine(URL, **POOL_CONFIG)
        """
    )


def test_flask_config_keys_are_notices() -> None:
    findings = check(
        """\
        app.config["SQLALCHEMY_POOL_SIZE"] = 10
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"max_overflow": 5}
        """
    )
    assert [(f.line, f.severity) for f in findings] == [(1, Severity.NOTICE), (2, Severity.WARNING)]


def test_imports_are_resolved_through_aliases_and_shadowing() -> None:
    findings = check(
        """\
        from redis import asyncio as aioredis
        from sqlalchemy import create_engine as make_engine
        import asyncpg as pg

        a = aioredis.Redis(max_connections=8)
        b = make_engine(URL, pool_size=4)
        c = pg.create_pool(DSN, min_size=2)


        def handler(asyncpg):
            return asyncpg.create_pool(DSN, max_size=3)
        """
    )
    assert lines(findings) == [5, 6, 7]


def test_a_psycopg2_pool_with_starred_arguments_is_not_guessed() -> None:
    assert not check("from psycopg2 import pool\n\np = pool.SimpleConnectionPool(*SIZES, dsn=DSN)\n")


def test_the_suggestion_uses_getenv_when_imported_from_os() -> None:
    (finding,) = check("from os import getenv\n\nDB_POOL_MAX_SIZE = 12\n")
    assert finding.suggestion is not None
    assert finding.suggestion.replacement == 'DB_POOL_MAX_SIZE = int(getenv("DB_POOL_MAX_SIZE", "12"))'


def test_a_lower_case_constant_is_suggested_an_upper_case_variable() -> None:
    (finding,) = check(
        "import os\nfrom psycopg2 import pool\n\n"
        "max_conn = 200\ndb = pool.ThreadedConnectionPool(1, max_conn)\n"
    )
    assert finding.line == 4
    assert finding.suggestion is not None
    assert finding.suggestion.replacement == 'max_conn = int(os.getenv("DB_POOL_MAX_SIZE", "200"))'


def test_test_files_are_skipped() -> None:
    assert not check(
        "from sqlalchemy import create_engine\ne = create_engine(U, pool_size=5)\n", "test_db.py"
    )


def test_the_constant_pattern_option_replaces_the_default() -> None:
    code = "POOL_CONNS = 5\nDB_POOL_SIZE = 20\n"
    config = "rules:\n  hardcoded-pool-size:\n    options: {constant_pattern: '^POOL_CONNS$'}\n"
    assert lines(check_with_config(config, code)) == [1]
    assert lines(check_with_config("", code)) == [2]


def test_an_invalid_constant_pattern_is_a_config_error() -> None:
    config = "rules:\n  hardcoded-pool-size:\n    options: {constant_pattern: '(POOL'}\n"
    with pytest.raises(ConfigError, match="constant_pattern"):
        check_with_config(config, "DB_POOL_SIZE = 20\n")


@pytest.mark.parametrize(
    "code",
    [
        "import sqlalchemy as sa\n\nengine = sa.create_engine(URL, pool_size=20)\n",
        "import sqlalchemy.engine\n\nengine = sqlalchemy.engine.create_engine(URL, pool_size=20)\n",
        "import mysql.connector as mc\n\ndb = mc.connect(host=HOST, pool_size=20)\n",
        "import redis\n\nDEFAULT_POOL_NAME = 'x'\nclient = redis.Redis(host=HOST, max_connections=20)\n",
    ],
)
def test_a_pool_call_is_found_through_any_import_that_reaches_it(code: str) -> None:
    assert [finding.code for finding in check(code)] == ["FL004"]


@pytest.mark.parametrize(
    "code",
    [
        # Airflow's task pools and an engine's connect(): no import reaches a pool API.
        "import sqlalchemy\n\nDEFAULT_POOL_NAME = 'default_pool'\n\n"
        "def rows(engine):\n    with engine.connect() as conn:\n        return conn.execute(Q)\n",
        "from sqlalchemy.orm import Session\n\n"
        "def pool_slots(db: Session):\n    return db.connect(pool_size=5)\n",
    ],
)
def test_names_like_pool_calls_without_a_pool_api_are_not_read(code: str) -> None:
    assert check(code) == []
