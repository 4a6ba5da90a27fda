"""How Python code makes network calls that wait on another service: the functions of
``requests``, ``httpx``, ``urllib`` and ``smtplib``, and the client objects
(``requests.Session()``, ``httpx.Client()``, ``aiohttp.ClientSession()``) a scope
binds to a name, by qualified name (see ``imports.import_map``)."""

from __future__ import annotations

import ast
from collections.abc import Iterable

from faultline.analyzers.lib.python.imports import qualified_name

# The HTTP verbs of requests' module-level API, of a Session and of an httpx client.
HTTP_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request"})
REQUESTS_FUNCTIONS = frozenset(
    {f"requests.{verb}" for verb in HTTP_METHODS} | {f"requests.api.{verb}" for verb in HTTP_METHODS}
)
HTTPX_FUNCTIONS = frozenset({f"httpx.{verb}" for verb in HTTP_METHODS} | {"httpx.stream"})
# Constructors of client objects, by the library they belong to.
CLIENT_CLASSES = {
    "requests.Session": "requests",
    "requests.session": "requests",
    "requests.sessions.Session": "requests",
    "httpx.Client": "httpx",
    "httpx.AsyncClient": "httpx",
    "aiohttp.ClientSession": "aiohttp",
    "aiohttp.client.ClientSession": "aiohttp",
}
AIOHTTP_METHODS = HTTP_METHODS | {"ws_connect"}
LIBRARIES = frozenset({"requests", "httpx", "aiohttp", "urllib", "smtplib"})


def client_library(value: ast.expr | None, imports: dict[str, str]) -> str | None:
    """ "requests", "httpx" or "aiohttp" when ``value`` constructs one of their clients."""
    if not isinstance(value, ast.Call):
        return None
    return CLIENT_CLASSES.get(qualified_name(value.func, imports) or "")


def bound_clients(nodes: Iterable[ast.AST], imports: dict[str, str]) -> dict[str, tuple[str, ast.Call]]:
    """The names (``s``, ``self.session``) that statements among ``nodes`` bind to a new
    client, with its library and the constructor call: ``s = requests.Session()``,
    ``with httpx.Client() as client``, ``self.session = aiohttp.ClientSession()``."""
    found: dict[str, tuple[str, ast.Call]] = {}
    for node in nodes:
        pairs: list[tuple[ast.expr, ast.expr | None]] = []
        if isinstance(node, ast.Assign):
            pairs = [(target, node.value) for target in node.targets]
        elif isinstance(node, ast.AnnAssign):
            pairs = [(node.target, node.value)]
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            pairs = [(item.optional_vars, item.context_expr) for item in node.items if item.optional_vars]
        for target, value in pairs:
            library = client_library(value, imports)
            name = target_name(target)
            if library and name and isinstance(value, ast.Call):
                found[name] = (library, value)
    return found


def target_name(node: ast.expr | None) -> str:
    """``s`` or ``self.session`` for a plain name or an attribute of ``self``; "" otherwise."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return f"self.{node.attr}"
    return ""
