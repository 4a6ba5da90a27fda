"""What a failure of a try block would be, from the calls it makes: a database
outage, a Redis outage, a network failure, or nothing that calls out."""

from __future__ import annotations

import ast
from collections.abc import Mapping

from faultline.analyzers.lib.python.nodes import all_nodes, dotted_name

# A call on one of these receivers (the last word of ``self.db_session``)
# reaches a database; a call whose receiver or name holds a network word
# reaches another service.
DATABASE_RECEIVERS = frozenset(
    {"session", "db", "conn", "con", "connection", "cursor", "redis", "engine", "dao", "store"}
)
# A helper handed one of these (``fix_migration_data(session)``) works on the database;
# one handed a ``client`` calls another service.
DATABASE_ARGUMENTS = frozenset({"session", "db", "conn", "connection", "cursor", "engine"})
NETWORK_WORDS = frozenset(
    {"requests", "httpx", "aiohttp", "urlopen", "urllib", "http", "client", "grpc", "api", "smtplib", "smtp"}
)
# Receivers that send e-mail: ``mailer.send(msg)``, ``email_service.send_welcome(user)``.
MAIL_WORDS = frozenset({"mail", "email", "mailer", "smtp", "sendgrid", "ses"})
# The project's own modules whose names say what they reach: ``from app.database import load``.
DATABASE_MODULE_WORDS = frozenset({"database", "db", "sql", "dao", "crud", "repository", "repositories"})
NETWORK_MODULE_WORDS = frozenset({"http", "api", "client", "clients", "rest", "webhook", "webhooks"})
# Calls that release a resource: ``db.close()`` does not reach the database.
CLEANUP_METHODS = frozenset({"close", "rollback", "remove", "expunge", "dispose", "release", "disconnect"})
SEND_VERBS = ("post", "put", "patch", "delete", "send", "publish", "upload", "notify", "enqueue", "push")
STORE_VERBS = ("write", "create", "update", "insert", "save", "commit", "charge")
DATABASE_OUTAGE = "a database outage"
NETWORK_FAILURE = "a network failure"


def outage(body: list[ast.stmt], modules: Mapping[str, str] | None = None) -> str | None:
    """What an unexpected failure of the try block would be, if it calls out.
    ``modules``: local name → the project module it was imported from, for calls
    of the project's own database or HTTP helpers."""
    reached = {
        _reaches(node, modules or {})
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


def _reaches(call: ast.Call, modules: Mapping[str, str]) -> str:
    """``database``, ``redis``, ``session``, ``network`` or ``""`` for one call."""
    callee = dotted_name(call.func)
    # The receiver and the method; a CONSTANT's name says nothing about a call.
    parts = [part.lower() for part in callee.split(".")[-2:] if not part.isupper()]
    if len(parts) == 2 and parts[1] not in CLEANUP_METHODS:
        receiver = parts[0].split("_")
        if receiver[-1] in DATABASE_RECEIVERS and "spark" not in receiver:
            return receiver[-1] if receiver[-1] in ("session", "redis") else "database"
    words = {word for part in parts for word in part.split("_")}
    if words & NETWORK_WORDS or any(part.endswith("client") for part in parts):
        return "network"
    if parts and _sends_mail(parts):
        return "network"
    return _by_argument(call) or _by_module(callee, modules)


def _sends_mail(parts: list[str]) -> bool:
    """``send_email(...)``, ``server.sendmail(...)``, ``mailer.send(...)``,
    ``email_service.send_reset(...)``."""
    method = parts[-1]
    if not method.startswith("send"):
        return False
    receiver = set(parts[0].split("_")) if len(parts) == 2 else set()
    return "mail" in method or bool(receiver & MAIL_WORDS)


def _by_argument(call: ast.Call) -> str:
    """A helper handed the session or the connection: ``fix_migration_data(session)``."""
    for arg in (*call.args, *(keyword.value for keyword in call.keywords)):
        name = (
            dotted_name(arg).rsplit(".", 1)[-1].lower() if isinstance(arg, (ast.Name, ast.Attribute)) else ""
        )
        last = name.split("_")[-1]
        if last in DATABASE_ARGUMENTS:
            return "session" if last == "session" else "database"
        if last == "client":
            return "network"
    return ""


def _by_module(callee: str, modules: Mapping[str, str]) -> str:
    """A call of a name imported from the project's ``database`` or ``http_client`` module."""
    local, _, rest = callee.partition(".")
    origin = modules.get(local)
    if origin is None:
        return ""
    # ``db_utils.fetch()``: the local name is the module; ``load()``: only the modules above it.
    parts = origin.lower().split(".") if rest else origin.lower().split(".")[:-1]
    words = {word for part in parts for word in part.split("_")}
    if words & DATABASE_MODULE_WORDS:
        return "database"
    return "network" if words & NETWORK_MODULE_WORDS else ""


def project_modules(tree: ast.Module, path: str) -> dict[str, str]:
    """Local name → where it was imported from, for the top-level ``from`` imports
    of the project's own modules: relative ones, and absolute ones whose package is
    a folder of ``path`` (``from dispatch.database.core import get`` in ``src/dispatch/...``)."""
    folders = set(path.split("/")[:-1])
    found: dict[str, str] = {}
    for node in tree.body:
        if not isinstance(node, ast.ImportFrom) or not (node.level > 0 or _own(node.module, folders)):
            continue
        for alias in node.names:
            found[alias.asname or alias.name] = f"{node.module or ''}.{alias.name}".lstrip(".")
    return found


def _own(module: str | None, folders: set[str]) -> bool:
    return module is not None and module.split(".", 1)[0] in folders


def writes(body: list[ast.stmt]) -> bool:
    """The try block sends or stores something: losing that silently loses data."""
    return any(
        isinstance(node, ast.Call)
        and dotted_name(node.func).rsplit(".", 1)[-1].lower().startswith(SEND_VERBS + STORE_VERBS)
        for stmt in body
        for node in ast.walk(stmt)
    )
