"""The calls that open a connection pool, and the arguments that size it."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache

from faultline.analyzers.lib.python.nodes import find_keyword, span, string_value


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
POOL_MODULES = frozenset({name.split(".")[0] for name in POOL_APIS} | {"flask_sqlalchemy"})
_POOL_MODULES = "|".join(sorted(POOL_MODULES))
# The module names without those that hold another (``aioredis``, ``redis``): a text with
# none of them cannot match the import pattern, and ``in`` tells it many times faster.
_MODULE_WORDS = tuple(
    sorted(name for name in POOL_MODULES if not any(o != name and o in name for o in POOL_MODULES))
)
_IMPORTS_POOL_MODULE = re.compile(
    rf"^[ \t]*(?:from[ \t]+(?:{_POOL_MODULES})\b|import[ \t][^\n]*\b(?:{_POOL_MODULES})\b)", re.MULTILINE
)
_CALL_NAMES = sorted({name.rsplit(".", 1)[-1] for name in (*POOL_APIS, "flask_sqlalchemy.SQLAlchemy")})
_CALL_NAME_SET = frozenset(_CALL_NAMES)
_WORD_CHARACTER = re.compile(r"\w")
_OPENS_CALL = re.compile(r"\s*\(")
# Flask's app.config["SQLALCHEMY_POOL_SIZE"] and Django's DATABASES OPTIONS {"pool": {...}}:
# a "pool" key alone is common (Airflow's task pools), so the Django one needs "OPTIONS" too.
_FLASK_POOL = "SQLALCHEMY_"
_DJANGO_POOL = re.compile(r"[\"']pool[\"']\s*:")
_MODULE_INT_CONSTANT = re.compile(r"^(_?[A-Za-z][A-Za-z0-9_]*)[ \t]*(?::[^=\n]*)?=[ \t]*-?\d", re.MULTILINE)


def may_size_a_pool(
    text: str, constant_pattern: re.Pattern[str], constant_words: tuple[str, ...] | None = None
) -> bool:
    """A cheap look at the text before any tree walk: a file that imports no
    pool library, configures no framework pool and defines no module constant
    the pattern names cannot have a finding. ``constant_words``: one of them is in
    every name the pattern finds, when the caller knows such words."""
    present, calls = _words_in(text, constant_words or ())
    if calls and not present.isdisjoint(_MODULE_WORDS) and _IMPORTS_POOL_MODULE.search(text):
        return True
    if _FLASK_POOL in present or ("OPTIONS" in present and _DJANGO_POOL.search(text)):
        return True
    if constant_words is not None and present.isdisjoint(constant_words):
        return False
    return any(constant_pattern.search(match.group(1)) for match in _MODULE_INT_CONSTANT.finditer(text))


def _words_in(text: str, constant_words: tuple[str, ...]) -> tuple[set[str], bool]:
    """The words of the gate that ``text`` holds, and whether it calls one of the pool
    calls' names (``\\b(?:names)\\s*\\(``): one Aho-Corasick pass instead of a scan of
    the text per word and a regular expression that tries every name at every position."""
    find, words = _automaton(constant_words)
    present: set[str] = set()
    calls = False
    for index, start, end in find(text, overlapping=True):
        word = words[index]
        present.add(word)
        if not calls and word in _CALL_NAME_SET:
            calls = (start == 0 or not _WORD_CHARACTER.match(text, start - 1)) and bool(
                _OPENS_CALL.match(text, end)
            )
    return present, calls


@cache
def _automaton(
    constant_words: tuple[str, ...],
) -> tuple[Callable[..., list[tuple[int, int, int]]], list[str]]:
    from ahocorasick_rs import AhoCorasick  # built once, when a file first gets this far

    words = sorted({*_MODULE_WORDS, *_CALL_NAMES, _FLASK_POOL, "OPTIONS", *constant_words})
    return AhoCorasick(words).find_matches_as_indexes, words


def may_size_without_a_call(
    text: str, constant_words: tuple[str, ...], constant_pattern: re.Pattern[str]
) -> bool:
    """Whether the module may size a pool other than in a pool call: a mapping of engine
    options, Django's database OPTIONS, or a name the pattern finds (a constant, or a config
    key written with a literal), which holds one of ``constant_words``."""
    if ENGINE_OPTIONS_NAME in text or ("OPTIONS" in text and _DJANGO_POOL.search(text)):
        return True
    return any(constant_pattern.search(name) for name in _names_with(text, constant_words))


def _names_with(text: str, words: tuple[str, ...]) -> Iterator[str]:
    """The whole words (runs of name characters: an identifier, or a key in quotes) of
    ``text`` that hold one of ``words``: ``DEFAULT_POOL_NAME`` for ``POOL_``."""
    for word in words:
        at = text.find(word)
        while at >= 0:
            start, end = at, at + len(word)
            while start and _WORD_CHARACTER.match(text, start - 1):
                start -= 1
            while end < len(text) and _WORD_CHARACTER.match(text, end):
                end += 1
            yield text[start:end]
            at = text.find(word, end)


def may_call_a_pool(imported: Iterable[str], text: str) -> bool:
    """Whether a call in the module may resolve to a pool API, from the qualified names its
    imports bind (``imports.imported_names``): an API can only be reached through an import
    of it or of a module above it, and its last name is then in the text (in the call, or in
    the import of the API itself). ``engine.connect()`` in a module that imports no MySQL
    connector is no pool call."""
    names = set(imported)
    tails = {
        api.rsplit(".", 1)[-1]
        for api in (*POOL_APIS, *ENGINE_OPTIONS_CALLS)
        if any(api == name or api.startswith(f"{name}.") for name in names)
    }
    return any(_word_in(text, tail) for tail in tails)


def _word_in(text: str, word: str) -> bool:
    at = text.find(word)
    while at >= 0:
        end = at + len(word)
        if not (at and _WORD_CHARACTER.match(text, at - 1)) and not _WORD_CHARACTER.match(text, end):
            return True
        at = text.find(word, end)
    return False


ENGINE_OPTIONS_CALLS = frozenset({"flask_sqlalchemy.SQLAlchemy"})
ENGINE_OPTIONS_NAME = "SQLALCHEMY_ENGINE_OPTIONS"
# A minimum of one connection keeps a single connection warm: not a scaling risk.
MINIMUMS = frozenset({"min_size", "minsize", "minconn", "minPoolSize"})


def is_size(name: str, node: ast.Constant) -> bool:
    """A positive int: 0 and -1 mean "none" or "no limit"; a minimum of 1 only keeps one connection."""
    number = node.value
    if type(number) is not int:
        return False
    return number > 1 if name in MINIMUMS else number > 0


def sizing_arguments(call: ast.Call, api: PoolApi) -> Iterator[tuple[str, ast.expr, tuple[int, int]]]:
    """(argument, value, lines) per size argument; "" for a ``**mapping``."""
    for index, name in enumerate(api.positional):
        if index >= len(call.args) or any(isinstance(arg, ast.Starred) for arg in call.args[: index + 1]):
            break
        arg = call.args[index]
        yield name, arg, span(arg)
    for kw in call.keywords:
        if kw.arg is None or kw.arg in api.keywords:
            yield kw.arg or "", kw.value, span(kw)


def is_sqlite(call: ast.Call) -> bool:
    """An in-process database: its pool does not grow with the deployment."""
    url_keyword = find_keyword(call, "url")
    url = call.args[0] if call.args else (url_keyword.value if url_keyword else None)
    return (string_value(url) or "").startswith("sqlite")
