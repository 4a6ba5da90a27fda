"""What a failure of a try block would be, from the calls it makes: a database
outage, a Redis outage, a network failure, or nothing that calls out."""

from __future__ import annotations

import ast

from faultline.analyzers.lib.python.nodes import all_nodes, dotted_name

# A call on one of these receivers (the last word of ``self.db_session``)
# reaches a database; a call whose receiver or name holds a network word
# reaches another service.
DATABASE_RECEIVERS = frozenset(
    {"session", "db", "conn", "connection", "cursor", "redis", "engine", "dao", "store"}
)
NETWORK_WORDS = frozenset(
    {"requests", "httpx", "aiohttp", "urlopen", "urllib", "http", "client", "grpc", "api"}
)
# Calls that release a resource: ``db.close()`` does not reach the database.
CLEANUP_METHODS = frozenset({"close", "rollback", "remove", "expunge", "dispose", "release", "disconnect"})
SEND_VERBS = ("post", "put", "patch", "delete", "send", "publish", "upload", "notify", "enqueue", "push")
STORE_VERBS = ("write", "create", "update", "insert", "save", "commit", "charge")
DATABASE_OUTAGE = "a database outage"
NETWORK_FAILURE = "a network failure"


def outage(body: list[ast.stmt]) -> str | None:
    """What an unexpected failure of the try block would be, if it calls out."""
    reached = {
        _reaches(dotted_name(node.func))
        for stmt in body
        for node in all_nodes(stmt)
        if isinstance(node, ast.Call)
    }
    if "redis" in reached:
        return "a Redis outage"
    # A ``session`` next to an HTTP client is the client's.
    if "database" in reached or ("session" in reached and "network" not in reached):
        return DATABASE_OUTAGE
    return NETWORK_FAILURE if "network" in reached else None


def _reaches(callee: str) -> str:
    """``database``, ``redis``, ``session``, ``network`` or ``""`` for one call."""
    # The receiver and the method; a CONSTANT's name says nothing about a call.
    parts = [part.lower() for part in callee.split(".")[-2:] if not part.isupper()]
    if len(parts) == 2 and parts[1] not in CLEANUP_METHODS:
        receiver = parts[0].split("_")
        if receiver[-1] in DATABASE_RECEIVERS and "spark" not in receiver:
            return receiver[-1] if receiver[-1] in ("session", "redis") else "database"
    words = {word for part in parts for word in part.split("_")}
    if words & NETWORK_WORDS or any(part.endswith("client") for part in parts):
        return "network"
    return ""


def writes(body: list[ast.stmt]) -> bool:
    """The try block sends or stores something: losing that silently loses data."""
    return any(
        isinstance(node, ast.Call)
        and dotted_name(node.func).rsplit(".", 1)[-1].lower().startswith(SEND_VERBS + STORE_VERBS)
        for stmt in body
        for node in ast.walk(stmt)
    )
