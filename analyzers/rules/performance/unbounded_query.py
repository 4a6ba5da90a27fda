"""FL011 unbounded-query: a collection endpoint returns every row of a query."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from faultline.analyzers.core.context import Context
from faultline.analyzers.core.findings import Hit, Severity
from faultline.analyzers.core.rule import Invalid, Rule, Valid
from faultline.analyzers.core.source import SourceFile
from faultline.analyzers.languages import python
from faultline.analyzers.lib.python.flow import assignments
from faultline.analyzers.lib.python.nodes import dotted_name, span, statements
from faultline.analyzers.lib.python.web import WEB_PACKAGES, Route, resource_get, route_of, web_imports

Function = ast.FunctionDef | ast.AsyncFunctionDef
# A parameter or a word of the view that says the caller chooses a window of rows.
PAGE_PARAMETERS = frozenset(
    {"limit", "offset", "page", "per_page", "page_size", "pagesize", "skip", "cursor", "size",
     "start", "after", "before", "max_results", "top", "take", "page_number", "pagination"}
)  # fmt: skip
PAGING_WORDS = re.compile(
    r"paginat|Paginator|\bPage\b|\bParams\b|\blimit\b|\boffset\b|per_page|page_size|\bskip\b|\bcursor\b"
    r"|\[\s*:\s*\w+\s*\]|\[\s*\w+\s*:\s*\w+\s*\]",
    re.IGNORECASE,
)
# Methods that keep a query to one row or a window of rows.
BOUNDING_METHODS = frozenset(
    {"limit", "offset", "slice", "paginate", "first", "one", "one_or_none", "scalar", "scalar_one",
     "scalar_one_or_none", "get", "count", "exists", "get_or_404", "first_or_404", "fetchmany",
     "distinct_count", "aggregate", "group_by"}
)  # fmt: skip
FILTER_METHODS = frozenset({"filter", "filter_by", "where", "having", "join", "exclude"})
# ``len(rows)``: the view returns a figure, not the rows.
SUMMARIES = frozenset({"len", "sum", "any", "all", "bool", "max", "min"})
# Executing a statement: ``session.execute(select(Item))``.
EXECUTE_METHODS = frozenset({"execute", "scalars", "exec"})
# Tables whose rows grow with use: a full list of them is a risk. Others (brackets,
# modules, audiences, challenges, ...) are often a few rows an admin made, and a
# reviewer would not page them: the rule stays quiet there.
GROWING_WORDS = re.compile(
    r"user|account|member|customer|order|transaction|payment|invoice|event|log|message|comment"
    r"|notification|submission|record|entr(?:y|ies)|post|ticket|incident|case|document|file|upload"
    r"|activit|histor|audit|request|job|task|run|result|alert|report|item|product|session|visit|click"
    r"|attempt|solve|finding|signal|trace|metric|sample|measurement|reading|response|answer|vote",
    re.IGNORECASE,
)
# Small lookup tables that nobody pages: roles, settings, enum-like kinds.
LOOKUP_WORDS = re.compile(
    r"role|setting|config|option|status|type|kind|permission|language|locale|country|currenc"
    r"|timezone|enum|choice|flag|feature|categor|plan|tier|scope|version",
    re.IGNORECASE,
)
MESSAGE = (
    "`{endpoint}` returns every row of `{model}` (`{query}`) and takes no limit or page: "
    "as the table grows, so do the response, the memory and the time of every call; "
    "take `limit`/`offset` (or a page) and apply them to the query"
)


@dataclass(frozen=True)
class Query:
    """An unbounded query in a view: the ``.all()`` call and what it selects."""

    call: ast.Call
    model: str
    filters: list[ast.expr]  # the arguments of its filter/where calls


class UnboundedQuery(Rule):
    """
    ## What it does
    Checks for a FastAPI or Flask view served on `GET` (`@router.get(...)`,
    `@app.route(...)`, `@bp.get(...)`, the `get` method of a Flask-RESTX or
    Flask-RESTful resource or a `MethodView`) that returns every row of a query:
    `session.query(Item).all()`, `session.execute(select(Item)).scalars().all()`,
    `Item.query.all()`, with no `limit`, `offset`, `page`, `per_page` or `skip`
    parameter and no `.limit(...)`, `.paginate(...)`, slice or paginator.

    ## Why is this risky?
    A list endpoint that returns the whole table is fast while the table is small.
    In production the table grows: each call reads, serialises and sends every
    row, the response takes seconds, the worker's memory spikes with each
    concurrent call, and one client polling the endpoint loads the database.
    Adding pagination later breaks the clients that expect the whole list.

    To stay quiet where a full list is fine, the rule reports only models whose
    name says their rows grow with use (users, orders, events, logs, messages,
    documents, items, tasks, ...): a table of brackets or modules that an admin
    fills by hand is left alone, since a reviewer would not page it. It also skips
    queries filtered by a parameter of the route's path (`/teams/{team_id}/members`:
    one parent's children), grouped queries, lookup tables whose model, path or
    view names a role, setting, status, type, category, ... and views that mention
    a limit, a page or a paginator anywhere. Django views and queries made in
    helper functions are not checked.

    ## Example
    ```python
    @router.get("/items")
    def read_items(session: SessionDep):
        return session.execute(select(Item)).scalars().all()
    ```

    ## Use instead
    ```python
    @router.get("/items")
    def read_items(session: SessionDep, skip: int = 0, limit: int = Query(100, le=1000)):
        return session.execute(select(Item).offset(skip).limit(limit)).scalars().all()
    ```
    """

    code = "FL011"
    slug = "unbounded-query"
    severity = Severity.NOTICE
    summary = "A collection endpoint returns every row of a query"
    production_only = True
    needles = (b".all()",)

    VALID: ClassVar[list[Valid]] = [
        Valid(
            "from fastapi import APIRouter\n\n@router.get('/items')\n"
            "def read_items(session, skip: int = 0, limit: int = 100):\n"
            "    return session.execute(select(Item).offset(skip).limit(limit)).scalars().all()\n"
        ),
        # One team's members: bounded by the parent in the path.
        Valid(
            "from fastapi import APIRouter\n\n@router.get('/teams/{team_id}/members')\n"
            "def members(team_id: int, session):\n"
            "    return session.query(Member).filter(Member.team_id == team_id).all()\n"
        ),
        # A few rows an admin made: nobody pages them.
        Valid(
            "from flask_restx import Resource\n\n@brackets_namespace.route('')\n"
            "class BracketList(Resource):\n"
            "    def get(self):\n        return BracketSchema(many=True).dump(Brackets.query.all()).data\n"
        ),
        # A lookup table.
        Valid(
            "from flask import Flask\n\n@app.route('/roles')\n"
            "def roles():\n    return jsonify(Role.query.all())\n"
        ),
        # Flask-SQLAlchemy pagination.
        Valid(
            "from flask import Blueprint, request\n\n@bp.get('/posts')\ndef posts():\n"
            "    page = request.args.get('page', 1, type=int)\n"
            "    return render(Post.query.paginate(page=page, per_page=20))\n"
        ),
        # Not returned: the rows are counted.
        Valid(
            "from fastapi import APIRouter\n\n@router.get('/stats')\ndef stats(session):\n"
            "    rows = session.query(Item).all()\n    return {'count': len(rows)}\n"
        ),
        # A write endpoint.
        Valid(
            "from fastapi import APIRouter\n\n@router.post('/items/reindex')\ndef reindex(session):\n"
            "    return session.query(Item).all()\n"
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        # A Flask-RESTX resource.
        Invalid(
            "from flask_restx import Namespace, Resource\n\n@users_namespace.route('')\n"
            "class UserList(Resource):\n    def get(self):\n"
            "        users = Users.query.filter_by(banned=False).all()\n"
            "        return {'data': UserSchema(many=True).dump(users).data}\n",
            line=6,
            message="`GET /` returns every row of `Users`",
        ),
        Invalid(
            "from fastapi import APIRouter\n\n@router.get('/items')\ndef read_items(session):\n"
            "    return session.execute(select(Item)).scalars().all()\n",
            line=5,
            message="`GET /items` returns every row of `Item`",
        ),
        Invalid(
            "from flask import Blueprint, jsonify\n\n@bp.route('/users')\ndef users():\n"
            "    users = User.query.filter(User.active.is_(True)).all()\n"
            "    return jsonify([user.to_dict() for user in users])\n",
            line=5,
            message="take `limit`/`offset`",
        ),
        Invalid(
            "from fastapi import APIRouter\n\n@router.get('/orders')\n"
            "async def orders(session, user=Depends(me)):\n"
            "    stmt = select(Order).where(Order.owner_id == user.id)\n"
            "    result = await session.execute(stmt)\n    return result.scalars().all()\n",
            line=7,
            message="every row of `Order`",
        ),
    ]

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        if not any(package in source.data for package in _WEB_PACKAGE_NAMES):
            return  # no framework's name, so no import of one: not parsed
        tree = python.module(source)
        if not web_imports(tree.body):
            return
        for node in statements(tree):
            view = _view(node)
            if view is not None and "GET" in view[1].methods and not _lookup(view[1], view[0].name):
                hit = _check_view(source, *view)
                if hit is not None:
                    yield hit


_WEB_PACKAGE_NAMES = tuple(sorted(package.encode() for package in WEB_PACKAGES))


def _view(node: ast.AST) -> tuple[Function, Route] | None:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        route = route_of(node)
        return (node, route) if route is not None else None
    return resource_get(node) if isinstance(node, ast.ClassDef) else None


def _lookup(route: Route, name: str) -> bool:
    """A route or view that names a small lookup table."""
    return bool(LOOKUP_WORDS.search(route.path) or LOOKUP_WORDS.search(name))


def _check_view(source: SourceFile, function: Function, route: Route) -> Hit | None:
    if _pages(source, function):
        return None
    assigned = assignments(function)
    parents = _derived(set(route.parameters), assigned)
    for query in _returned_queries(function, assigned):
        if not GROWING_WORDS.search(query.model) or LOOKUP_WORDS.search(query.model):
            continue
        if _by_parent(query, parents):
            continue
        first, last = span(query.call)
        shown = ast.unparse(query.call)
        message = MESSAGE.format(
            endpoint=f"GET {route.path or '/'}" if route.decorator is not None else f"{route.path}.get",
            model=query.model,
            query=shown if len(shown) <= 60 else shown[:57] + "...",
        )
        return Hit(first, message, end_line=last, column=query.call.col_offset + 1, statement=(first, last))
    return None


def _pages(source: SourceFile, function: Function) -> bool:
    """A window parameter, or a word of paging anywhere in the view."""
    arguments = function.args
    names = {arg.arg.lower() for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)}
    if names & PAGE_PARAMETERS:
        return True
    first = min((decorator.lineno for decorator in function.decorator_list), default=function.lineno)
    return bool(PAGING_WORDS.search(source.segment(first, span(function)[1])))


def _returned_queries(function: Function, assigned: dict[str, list[ast.expr]]) -> Iterator[Query]:
    for node in ast.walk(function):
        if isinstance(node, ast.Return) and node.value is not None:
            for expr in _reached(node.value, assigned, set()):
                for call in ast.walk(expr):
                    if (
                        isinstance(call, ast.Call)
                        and isinstance(call.func, ast.Attribute)
                        and call.func.attr == "all"
                    ):
                        query = _query(call, assigned)
                        if query is not None:
                            yield query


def _reached(expr: ast.expr, assigned: dict[str, list[ast.expr]], seen: set[str]) -> Iterator[ast.expr]:
    """``expr`` and the values of the names it mentions, followed through assignments."""
    yield expr
    counted = {
        id(arg)
        for node in ast.walk(expr)
        if isinstance(node, ast.Call) and dotted_name(node.func) in SUMMARIES
        for arg in node.args
    }
    for node in ast.walk(expr):
        if (
            isinstance(node, ast.Name)
            and node.id in assigned
            and node.id not in seen
            and id(node) not in counted
        ):
            seen.add(node.id)
            for value in assigned[node.id]:
                yield from _reached(value, assigned, seen)


def _query(call: ast.Call, assigned: dict[str, list[ast.expr]]) -> Query | None:
    """The query an ``.all()`` call ends, when it selects rows of a model with no bound."""
    methods: list[str] = []
    filters: list[ast.expr] = []
    model = ""
    for link in _chain(call, assigned, set()):
        if not isinstance(link, ast.Call):
            if isinstance(link, ast.Attribute) and link.attr in ("query", "objects"):
                model = model or _class_name(link.value)
            continue
        name = link.func.attr if isinstance(link.func, ast.Attribute) else dotted_name(link.func)
        methods.append(name)
        if name in FILTER_METHODS:
            filters.extend([*link.args, *(keyword.value for keyword in link.keywords)])
        if name in ("query", "select") and link.args:
            model = model or _class_name(link.args[0])
    if not model or any(method in BOUNDING_METHODS for method in methods):
        return None
    return Query(call, model, filters)


def _chain(node: ast.expr, assigned: dict[str, list[ast.expr]], seen: set[str]) -> Iterator[ast.expr]:
    """The links of a method chain, inwards, through the statements it executes and
    the names it reads: ``session.execute(stmt).scalars().all()`` with ``stmt = select(Item)``."""
    while True:
        yield node
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in EXECUTE_METHODS and node.args:
                yield from _chain(node.args[0], assigned, seen)
            node = node.func
        elif isinstance(node, (ast.Attribute, ast.Await)):
            node = node.value
        elif isinstance(node, ast.Name) and node.id in assigned and node.id not in seen:
            seen.add(node.id)
            for value in assigned[node.id]:
                yield from _chain(value, assigned, seen)
            return
        else:
            return


def _class_name(node: ast.expr) -> str:
    """``Item`` or ``models.Item``: a class by its capitalised name, else ""."""
    last = dotted_name(node).rsplit(".", 1)[-1] if not isinstance(node, ast.Call) else ""
    return last if last[:1].isupper() and not last.isupper() else ""


def _derived(names: set[str], assigned: dict[str, list[ast.expr]]) -> set[str]:
    """``names`` and the names assigned from them: ``team = get_team(team_id)``."""
    found = set(names)
    for _ in range(2):
        for target, values in assigned.items():
            if any(
                isinstance(node, ast.Name) and node.id in found
                for value in values
                for node in ast.walk(value)
            ):
                found.add(target)
    return found


def _by_parent(query: Query, parents: set[str]) -> bool:
    """A filter reads a parameter of the path (or a value derived from one): the rows of one parent."""
    return any(
        isinstance(node, ast.Name) and node.id in parents for expr in query.filters for node in ast.walk(expr)
    )
