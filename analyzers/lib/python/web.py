"""How Python web code shows itself: the frameworks a module imports, and the
route a view function is served on (``@router.get("/items")``, ``@bp.route(...)``)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from faultline.analyzers.lib.python.imports import imported_names
from faultline.analyzers.lib.python.nodes import find_keyword, string_value, string_values

# Top-level packages whose import says a module serves HTTP or WebSocket clients.
WEB_PACKAGES = frozenset(
    {
        "fastapi", "starlette", "flask", "flask_restx", "flask_restful", "flask_smorest", "flask_socketio",
        "flask_sock", "socketio", "channels",
        "django", "rest_framework", "websockets", "sse_starlette", "aiohttp", "quart", "sanic",
        "tornado", "litestar", "falcon", "simple_websocket", "engineio",
    }
)  # fmt: skip
# ``@app.get(...)`` and friends; ``route``/``api_route`` take ``methods=``.
HTTP_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options"})
ROUTE_DECORATORS = frozenset({"route", "api_route"})
# ``{item_id}`` (FastAPI, Starlette), ``<int:item_id>`` (Flask), ``(?P<pk>...)`` (Django).
PATH_PARAMETER = re.compile(r"\{(\w+)(?::[^}]*)?\}|<(?:\w+:)?(\w+)>|\(\?P<(\w+)>")


@dataclass(frozen=True)
class Route:
    """Where a view is served: its path and its HTTP methods (upper case)."""

    path: str  # for a resource registered elsewhere, its class name
    methods: frozenset[str]
    decorator: ast.Call | None

    @property
    def parameters(self) -> frozenset[str]:
        """The names of the path's parameters: ``/items/{item_id}`` → {"item_id"}."""
        return frozenset(
            name for match in PATH_PARAMETER.finditer(self.path) for name in match.groups() if name
        )


def web_imports(body: list[ast.stmt]) -> set[str]:
    """The web frameworks (top-level package names) that the module's own imports name."""
    found = set()
    for imported in imported_names(_import_statements(body)):
        if imported.relative:
            continue
        package = (imported.name if imported.module is None else imported.module).split(".")[0]
        if package in WEB_PACKAGES:
            found.add(package)
    return found


def _import_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """Top-level imports, and those one block down (``try: import flask``, ``if TYPE_CHECKING:``)."""
    found: list[ast.stmt] = []
    for stmt in body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            found.append(stmt)
        elif isinstance(stmt, (ast.If, ast.Try)):
            found.extend(inner for inner in stmt.body if isinstance(inner, (ast.Import, ast.ImportFrom)))
    return found


def route_of(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Route | None:
    """The route a decorator serves ``function`` on, or None when it is no view."""
    return _decorated_route(function.decorator_list)


def resource_get(cls: ast.ClassDef) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef, Route] | None:
    """The ``get`` method of a Flask-RESTX/Flask-RESTful resource or a ``MethodView``, with its
    route: the class's ``@ns.route(path)``, else the class name (it is registered elsewhere)."""
    method = next(
        (
            stmt
            for stmt in cls.body
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == "get"
        ),
        None,
    )
    if method is None:
        return None
    route = _decorated_route(cls.decorator_list)
    if route is not None:
        return method, Route(route.path, frozenset({"GET"}), route.decorator)
    bases = [ast.unparse(base) for base in cls.bases]
    if any(base.endswith(("Resource", "MethodView")) for base in bases):
        return method, Route(cls.name, frozenset({"GET"}), None)
    return None


def _decorated_route(decorators: list[ast.expr]) -> Route | None:
    for decorator in decorators:
        if not isinstance(decorator, ast.Call) or not isinstance(decorator.func, ast.Attribute):
            continue
        name = decorator.func.attr
        path = string_value(decorator.args[0]) if decorator.args else None
        if path is None:
            keyword = find_keyword(decorator, "path") or find_keyword(decorator, "rule")
            path = string_value(keyword.value) if keyword else None
        if path is None:
            continue
        if name in HTTP_METHODS:
            return Route(path, frozenset({name.upper()}), decorator)
        if name in ROUTE_DECORATORS:
            methods = find_keyword(decorator, "methods")
            listed = string_values(methods.value) if methods else ["GET"]
            return Route(path, frozenset(method.upper() for method in listed), decorator)
    return None
