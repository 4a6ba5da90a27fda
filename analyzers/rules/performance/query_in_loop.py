"""FL012 query-in-loop: a query or client call runs once per item of a loop."""

from __future__ import annotations

import ast
import re
import sys
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar

from faultline.analyzers.core.changes import FileChange
from faultline.analyzers.core.config import matches_any
from faultline.analyzers.core.context import Context
from faultline.analyzers.core.findings import Hit, Severity
from faultline.analyzers.core.rule import Invalid, Rule, Valid
from faultline.analyzers.core.source import SourceFile
from faultline.analyzers.languages import python
from faultline.analyzers.lib.python.flow import assignments, values_of
from faultline.analyzers.lib.python.imports import imported_names
from faultline.analyzers.lib.python.nodes import all_nodes, blocks, child_nodes, dotted_name, on_lines, span
from faultline.analyzers.lib.python.reaches import (
    DJANGO_QUERY,
    DJANGO_SAVE,
    HTTP,
    HTTP_PACKAGES,
    LLM,
    LLM_PACKAGES,
    QUERY,
    Evidence,
    manager_of,
    reached,
)

# Code that runs once, by hand or at deploy time: a loop over a few rows is normal there.
# ``for`` and ``import`` as keywords: not inside a name (``format``, ``important``); a digit may
# come before (``[1for x in y]`` is valid Python).
# Without a lookbehind, which would keep ``re`` from looking for the word's letters as fast
# as ``str.find``; the character before is checked apart.
_FOR = re.compile(r"for(?![0-9A-Za-z_])")
_IMPORT = re.compile(r"import(?![0-9A-Za-z_])")
_NAME_CHARACTER = re.compile(r"[A-Za-z_]")
ONE_OFF_PATHS = (
    "**/migrations/**",
    "**/alembic/**",
    "**/scripts/**",
    "**/management/commands/**",
    "**/manage.py",
    "**/seed*.py",
    "**/*migrations.py",  # data-migration helpers beside the app
    "**/pytest_plugin*.py",
)
Function = ast.FunctionDef | ast.AsyncFunctionDef
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
LOOPS = (ast.For, ast.AsyncFor, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
COMPREHENSIONS = LOOPS[2:]
DATABASE = frozenset({QUERY, DJANGO_QUERY, DJANGO_SAVE})
ADMIN_STATEMENTS = (
    "KILL", "DROP", "TRUNCATE", "ALTER", "CREATE", "GRANT", "REVOKE", "VACUUM", "ANALYZE",
    "REFRESH", "SET ", "LOCK", "COMMENT", "REINDEX", "CLUSTER", "NOTIFY", "SELECT PG_",
)  # fmt: skip
# Words of a loop's names that say it goes over a few known things (models, tables,
# forms, settings) or over batches already: one query each is the design there.
FEW_WORDS = frozenset(
    {"chunk", "chunks", "batch", "batches", "page", "pages", "model", "models", "table", "tables",
     "class", "classes", "klass", "cls", "field", "fields", "form", "forms", "type", "types",
     "plugin", "plugins", "backend", "backends", "setting", "settings", "config", "configs"}
)  # fmt: skip
# Calls whose iteration reads rows: ``.all()``, ``.iterator()``, ``scalars()``.
ROW_METHODS = frozenset({"all", "iterator", "scalars", "fetchall", "yield_per", "partitions", "stream"})
# Where a name stands for a model or table, not a row: ``model.objects``, ``select(model)``.
STATEMENT_FUNCTIONS = frozenset({"select", "delete", "update", "insert", "query", "get", "merge"})
STATEMENT_METHODS = frozenset({"delete", "insert", "update", "select"})
# Queryset methods that write: their advice is a bulk write, not a join.
DJANGO_WRITES = frozenset({"create", "get_or_create", "update_or_create", "update", "delete"})
ADVICE = {
    QUERY: "load them in one query (`selectinload`/`joinedload`, or `WHERE id IN (...)`)",
    DJANGO_QUERY: "load them in one query "
    "(`select_related`/`prefetch_related`, `in_bulk`, `filter(pk__in=...)`)",
    DJANGO_SAVE: "write them in one statement (`bulk_update`/`bulk_create`, or `queryset.update(...)`)",
    LLM: "batch the inputs (embeddings take a list) or run the calls concurrently with a bound "
    "(`asyncio.gather` under a semaphore, or a small thread pool)",
    HTTP: "use a bulk endpoint, or run the requests concurrently with a bound "
    "(`asyncio.gather` under a semaphore, or a small thread pool)",
}
WHAT = {
    QUERY: "runs one query per item",
    DJANGO_QUERY: "runs one query per item",
    DJANGO_SAVE: "writes one row per item",
    LLM: "makes one LLM call per item",
    HTTP: "makes one HTTP request per item",
}


@dataclass(frozen=True)
class Call:
    node: ast.Call
    kind: str


class QueryInLoop(Rule):
    """
    ## What it does
    Checks for a database query, a Django `.save()`, an LLM API call or an HTTP
    request made once per item of a `for` loop (or `async for`, or a
    comprehension) with an argument taken from the item:
    `session.execute(...)`, `session.query(...)`, `Model.query.filter_by(...)`,
    `Model.objects.get(...)`, `obj.save()`, `client.chat.completions.create(...)`,
    `client.messages.create(...)`, `requests.get(...)`, `await client.post(...)`,
    and helpers handed the session whose name says they read
    (`individual_service.get(db_session=db_session, ...)`). A database call counts
    when the loop goes over the result of a query (or a list of ids); an LLM or
    HTTP call, over any list.

    ## Why is this risky?
    Each iteration waits for a round trip. With ten rows in development the page
    is fast; with ten thousand in production it makes ten thousand queries (the
    N+1 pattern) or ten thousand sequential LLM calls, the request times out and
    the database or the API's rate limit takes the load of the whole loop. The
    cost grows with the data, so it shows up late, in production.

    Not reported: loops over a literal list or a `range()` (bounded, often
    retries or pages), loops that stop at the first match (`break` or `return`),
    calls that do not use the item, `session.add(obj)` (batched at flush),
    loops over models, tables, forms or batches (`for model in models:`),
    Django querysets built but not run (`filter()`), a `save()` in a loop that
    does more than set fields (signals and change logs need each save), helpers
    that do one item's work (`send_reminder(case, db_session=...)`), statements
    that take one object (`KILL`, `DROP`), caches filled once per key,
    unawaited calls in `async` code (coroutines gathered later), code at module
    level, and tests, migrations, `scripts/` and Django management commands,
    which run once over small sets.

    ## Example
    ```python
    @router.get("/teams")
    def list_teams(session: Session):
        teams = session.scalars(select(Team)).all()
        for team in teams:
            team.members = session.scalars(select(User).where(User.team_id == team.id)).all()
        return teams
    ```

    ## Use instead
    ```python
    @router.get("/teams")
    def list_teams(session: Session):
        return session.scalars(select(Team).options(selectinload(Team.members))).all()
    ```
    """

    code = "FL012"
    slug = "query-in-loop"
    severity = Severity.NOTICE
    summary = "A query or client call runs once per item of a loop"
    production_only = True
    compare_base = True
    # The call shapes ``reached`` knows, as bytes: a file with none of them is not parsed.
    needles = (
        b".execute(",
        b".scalars(",
        b".scalar(",
        b".exec(",
        b".query(",
        b".query.",
        b"objects.",
        b".save(",
        b".fetch",
        b".refresh(",
        b"session.get(",
        b"db.get(",
        b".create(",
        b"requests.",
        b"httpx",
        b"aiohttp",
        b"urlopen",
        b"completion",
        b"generate_content",
        b"invoke(",
        b"predict(",
        b"session=",
        b"session)",
        b"session,",
        b"db)",
        b"db,",
        b"db=",
    )

    VALID: ClassVar[list[Valid]] = [
        # A cache filled once per distinct key.
        Valid(
            "def remotes(rows, cache):\n    for row in Row.objects.all():\n"
            "        if row.remote_id not in cache:\n"
            "            cache[row.remote_id] = Remote.objects.get(pk=row.remote_id)\n"
        ),
        # MySQL's KILL takes one id: per item is the only way.
        Valid(
            "def kill_sleepers(db):\n    for proc in db.session.execute('SHOW PROCESSLIST').fetchall():\n"
            "        db.session.execute(f'KILL {proc.Id}')\n"
        ),
        # A scheduled job does one item's work per item: that is its design.
        Valid(
            "def remind(db_session):\n"
            "    cases = db_session.query(Case).filter(Case.status == 'open').all()\n"
            "    for case in cases:\n        send_case_close_reminder(case=case, db_session=db_session)\n"
        ),
        # Each save records a change log entry: it has to run per object.
        Valid(
            "from django.db import models\n\ndef move(rack, location):\n"
            "    for device in Device.objects.filter(rack=rack):\n"
            "        device.snapshot()\n        device.location = location\n        device.save()\n"
        ),
        # One query for all teams.
        Valid(
            "def teams(session):\n"
            "    return session.scalars(select(Team).options(selectinload(Team.members))).all()\n"
        ),
        # ``add`` is batched at flush.
        Valid("def save_all(session, items):\n    for item in items:\n        session.add(Item(**item))\n"),
        # A retry loop stops at the first success.
        Valid(
            "import requests\n\ndef fetch(url):\n    for attempt in range(3):\n"
            "        response = requests.get(url, timeout=5)\n        if response.ok:\n            break\n"
        ),
        # The first match ends the loop.
        Valid(
            "def find(session, names):\n    for name in names:\n"
            "        user = session.scalar(select(User).where(User.name == name))\n"
            "        if user:\n            return user\n"
        ),
        # Coroutines made in a comprehension run together.
        Valid(
            "import httpx\n\nasync def fetch_all(client, urls):\n"
            "    return await asyncio.gather(*[client.get(url) for url in urls])\n"
        ),
        # The call does not depend on the item.
        Valid(
            "def report(session, rows):\n    for row in rows:\n        print(row)\n"
            "        total = session.scalar(select(func.count(Job.id)))\n"
        ),
        Valid(
            "def forwards(apps, schema_editor):\n    for user in User.objects.all():\n        user.save()\n",
            path="app/migrations/0002_fill.py",
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        # A helper handed the session reads one row per item.
        Invalid(
            "def owners(db_session, project):\n"
            "    cases = db_session.query(Case).filter(Case.project_id == project.id).all()\n"
            "    return [\n"
            "        individual_service.get(db_session=db_session, individual_id=case.owner_id)\n"
            "        for case in cases\n    ]\n",
            line=4,
            message="`individual_service.get` runs one query per item of `cases`",
        ),
        Invalid(
            "from django.db import models\n\ndef move(rack, location):\n"
            "    for device in Device.objects.filter(rack=rack):\n"
            "        device.location = location\n        device.save()\n",
            line=6,
            message="`device.save()` writes one row per item",
        ),
        Invalid(
            "def teams(session):\n    teams = session.scalars(select(Team)).all()\n"
            "    for team in teams:\n"
            "        team.members = session.scalars(select(User).where(User.team_id == team.id)).all()\n"
            "    return teams\n",
            line=4,
            message="runs one query per item of `teams`",
        ),
        # The risk report's item 8: one LLM call per document, one after the other.
        Invalid(
            "from openai import AsyncOpenAI\n\nclient = AsyncOpenAI()\n\n"
            "async def document_processor_node(state: InvestigationState):\n"
            "    findings = []\n    for document in state['documents']:\n"
            "        reply = await client.chat.completions.create(\n"
            "            model='gpt-4o', messages=[{'role': 'user', 'content': document}]\n        )\n"
            "        findings.append(reply.choices[0].message.content)\n"
            '    return {"findings": {"documents": findings}}\n',
            line=8,
            message="makes one LLM call per item",
        ),
        Invalid(
            "def activate(request, ids):\n"
            "    for pk in ids:\n        order = Order.objects.get(pk=pk)\n"
            "        order.status = 'active'\n        order.save()\n",
            line=3,
            message="`prefetch_related`",
        ),
        Invalid(
            "import anthropic\n\ndef summarise(client: anthropic.Anthropic, tickets):\n"
            "    return [\n        client.messages.create(model=MODEL, max_tokens=500,"
            " messages=[{'role': 'user', 'content': t.body}])\n        for t in tickets\n    ]\n",
            line=5,
            message="`asyncio.gather` under a semaphore",
        ),
        Invalid(
            "import httpx\n\nasync def sync_users(users):\n    async with httpx.AsyncClient() as client:\n"
            "        for user in users:\n            await client.post(HOOK, json=user.to_dict())\n",
            line=6,
            message="makes one HTTP request per item of `users`",
        ),
        Invalid(
            "def scores():\n    for user in User.query.all():\n"
            "        user.score = Score.query.filter_by(user_id=user.id).first()\n",
            line=3,
            message="`Score.query.filter_by` runs one query per item",
        ),
    ]

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        if matches_any(source.path, ONE_OFF_PATHS):
            return
        for_lines = _lines_with(source, _FOR)
        if not for_lines:
            return  # no loop and no comprehension: the tree is not needed
        tree = python.module(source)
        imports, loops = _scan(tree, source, for_lines)
        if not loops:
            return
        evidence = _evidence(imports, source.text)
        change = None if ctx.whole_files else ctx.changes.get(source.path)
        for function, own in loops.values():
            for loop, calls in _loops(function, own, evidence):
                yield from _hit(loop, calls, change)


def _scan(
    tree: ast.Module, source: SourceFile, for_lines: list[int]
) -> tuple[list[ast.stmt], dict[int, tuple[Function, list[ast.AST]]]]:
    """The module's imports, and each function's own loops (those of nested functions are
    theirs; loops at module or class level are not kept). Statements are walked block by
    block; an expression is entered only when its lines hold a ``for`` (a comprehension):
    ``for_lines``, the lines that do."""
    imports: list[ast.stmt] = []
    loops: dict[int, tuple[Function, list[ast.AST]]] = {}
    # A block with neither a loop nor an import adds nothing: it is not entered.
    wanted_lines = sorted({*for_lines, *_lines_with(source, _IMPORT)})

    # Depth first, in source order. A stack, not a nested function that calls itself: that
    # function and its closure form a reference cycle, which would keep the lists (and the
    # statements in them) of every file alive until the garbage collector runs.
    start = _holding(tree.body, wanted_lines)
    pending: list[tuple[Iterator[ast.stmt], Function | None]] = [(iter(start), None)]
    while pending:
        body, function = pending[-1]
        stmt = next(body, None)
        if stmt is None:
            pending.pop()
            continue
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            imports.append(stmt)
            continue
        nested = blocks(stmt)  # ``stmt`` holds a wanted line: _holding chose it
        inner: Function | None = function
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inner = stmt
        elif isinstance(stmt, ast.ClassDef):
            inner = None
        elif function is not None:
            found = loops.setdefault(id(function), (function, []))[1]
            if isinstance(stmt, (ast.For, ast.AsyncFor)):
                found.append(stmt)
            if on_lines(stmt, for_lines):
                found.extend(_comprehensions(stmt, nested, for_lines))
        pending.extend((iter(_holding(block, wanted_lines)), inner) for block in reversed(nested))

    return imports, {key: value for key, value in loops.items() if value[1]}


def _holding(body: list[ast.stmt], lines: list[int]) -> list[ast.stmt]:
    """The statements of ``body`` whose lines hold one of ``lines`` (sorted), in order: found
    by bisection from the lines, not by a look at each statement of a long block."""
    if not body:
        return []  # an ``else`` or ``finally`` that is not there, an empty module
    first, last = body[0].lineno, _last_line(body[-1])
    at = bisect_left(lines, first)
    if at == len(lines) or lines[at] > last:
        return []
    starts = [stmt.lineno for stmt in body]
    held: list[ast.stmt] = []
    taken = -1  # the index of the last statement taken
    while at < len(lines) and lines[at] <= last:
        line = lines[at]
        index = bisect_right(starts, line) - 1
        # Statements that share a line (``a = 1; import os``) all hold it.
        low = index
        while low > taken + 1 and _last_line(body[low - 1]) >= line:
            low -= 1
        for position in range(max(low, taken + 1), index + 1):
            if _last_line(body[position]) >= line:
                held.append(body[position])
                taken = position
        at += 1
    return held


def _last_line(stmt: ast.stmt) -> int:
    return stmt.end_lineno or stmt.lineno


def _comprehensions(stmt: ast.stmt, nested: list[list[ast.stmt]], for_lines: list[int]) -> list[ast.AST]:
    """The comprehensions in ``stmt``'s own expressions (not in its ``nested`` blocks). Only
    an expression whose lines hold a ``for`` can hold one: the others are not walked."""
    expressions: list[ast.AST] = [stmt]
    if nested:
        expressions = [
            child for child in child_nodes(stmt) if isinstance(child, ast.expr) and on_lines(child, for_lines)
        ]
    return [
        node
        for expr in expressions
        for node in _nodes_on(expr, for_lines)
        if isinstance(node, COMPREHENSIONS)
    ]


def _nodes_on(expr: ast.AST, lines: list[int]) -> list[ast.AST]:
    """``expr`` and the nodes under it that hold one of ``lines``, in the order of ``ast.walk``
    (breadth first): a comprehension holds the line of its ``for``, so the parts of a long
    call or literal away from those lines are not walked. Nodes without a position (an
    argument list, a ``for`` clause) are entered."""
    found = [expr]
    add = found.append
    for node in found:
        # Under a node of one line, every node is on that line: no need to ask.
        whole = getattr(node, "end_lineno", None) == getattr(node, "lineno", 0)
        for name in node._fields:
            value = getattr(node, name, None)
            for child in value if isinstance(value, list) else (value,):
                if isinstance(child, ast.AST) and (
                    whole or not hasattr(child, "lineno") or on_lines(child, lines)
                ):
                    add(child)
    return found


def _lines_with(source: SourceFile, keyword: re.Pattern[str]) -> list[int]:
    """The numbers of the lines where ``keyword`` is a word (not part of a name): one search
    of the whole text, numbered by its newlines, where lines end with a newline alone."""
    if "\r" in source.text:
        return [number for number, line in enumerate(source.lines, 1) if _words(line, keyword)]
    found: list[int] = []
    number, counted = 1, 0
    for at in _words(source.text, keyword):
        number += source.text.count("\n", counted, at)
        counted = at
        if not found or found[-1] != number:
            found.append(number)
    return found


def _words(text: str, keyword: re.Pattern[str]) -> list[int]:
    """Where ``keyword`` starts in ``text`` with no letter or underscore just before it."""
    return [
        match.start()
        for match in keyword.finditer(text)
        if not match.start() or not _NAME_CHARACTER.match(text, match.start() - 1)
    ]


def _evidence(imports: list[ast.stmt], text: str) -> Evidence:
    names = [imported for imported in imported_names(imports) if not imported.relative]
    packages = {
        (imported.name if imported.module is None else imported.module).split(".")[0] for imported in names
    }
    return Evidence(
        # The module's imports by local name; a name rebound later is rare enough in a loop's calls.
        imports={imported.local: imported.qualified for imported in names},
        django="django" in packages or ".objects." in text,
        llm=bool(packages & LLM_PACKAGES),
        http=bool(packages & HTTP_PACKAGES),
    )


# --- loops and the calls in them -------------------------------------------


def _loops(
    function: Function, own: list[ast.AST], evidence: Evidence
) -> Iterator[tuple[ast.AST, list[Call]]]:
    """Each loop of ``function`` (not of nested functions) with the calls it makes per item."""
    awaited_only = isinstance(function, ast.AsyncFunctionDef)
    found: list[dict[str, list[ast.expr]]] = []
    reach = _Reach(evidence)

    def assigned() -> dict[str, list[ast.expr]]:
        if not found:
            found.append(assignments(function))
        return found[0]

    for node in own:
        # ``_few`` (which unparses the loop's names) is asked last: most loops make no call.
        if isinstance(node, (ast.For, ast.AsyncFor)):
            if _bounded(node.iter) or not reach.anything_in(node):
                continue
            target, iterable = node.target, node.iter
            inner = list(_in_this_loop(node.body))
            if _stops_early(inner):
                continue
            items = _item_names(node.target, inner)
            calls = _calls(inner, items, awaited_only, reach)
            calls = _per_row(calls, node.iter, items, assigned, evidence)
            calls = [call for call in calls if call.kind != DJANGO_SAVE or _bulk_shape(node.body, items)]
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            generator = node.generators[0]
            if _bounded(generator.iter) or not reach.anything_in(node):
                continue
            target, iterable = generator.target, generator.iter
            body: list[ast.AST] = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            body += [condition for generator in node.generators for condition in generator.ifs]
            body += [generator.iter for generator in node.generators[1:]]
            targets = [generator.target for generator in node.generators]
            items = {name for target in targets for name in _names(target)}
            calls = _calls(list(_in_this_loop(body)), items, awaited_only, reach)
            calls = _per_row(calls, generator.iter, items, assigned, evidence)
            calls = [call for call in calls if call.kind != DJANGO_SAVE]
        else:
            continue
        if calls and not _few(target, iterable):
            yield node, calls


class _Reach:
    """What the calls of one function's loops reach, each call asked once. Most loops make
    no call that reaches anything: one cheap walk of such a loop spares the walk of what
    runs per item, which the checks after it need several times over."""

    def __init__(self, evidence: Evidence) -> None:
        self.evidence = evidence
        self.kinds: dict[int, str | None] = {}  # reached() by id of the call
        # (start, end) of loops without such a call, disjoint: a loop inside one needs no walk.
        self.quiet: list[tuple[tuple[int, int], tuple[int, int]]] = []

    def kind(self, call: ast.Call) -> str | None:
        key = id(call)
        if key not in self.kinds:
            self.kinds[key] = reached(call, self.evidence)
        return self.kinds[key]

    def anything_in(self, loop: ast.AST) -> bool:
        """Whether a call anywhere in ``loop`` reaches a database or a service."""
        start = (getattr(loop, "lineno", 0), getattr(loop, "col_offset", 0))
        end = (getattr(loop, "end_lineno", None) or start[0], getattr(loop, "end_col_offset", None) or 0)
        at = bisect_left(self.quiet, (start, (sys.maxsize, 0)))
        if at and self.quiet[at - 1][1] >= end:
            return False  # inside a loop already walked
        for node in all_nodes(loop):
            if isinstance(node, ast.Call) and self.kind(node) is not None:
                return True
        insort(self.quiet, (start, end))
        return False


def _in_this_loop(body: list[ast.stmt] | list[ast.AST]) -> Iterator[ast.AST]:
    """The nodes a loop runs per item, without those of nested loops (theirs, except
    what a nested loop iterates over, which runs once per item of this one) or scopes."""
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.For, ast.AsyncFor)):
            stack.append(node.iter)
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            stack.append(node.generators[0].iter)
        if isinstance(node, (*SCOPES, *LOOPS)):
            continue
        stack.extend(reversed(child_nodes(node)))


def _bounded(iterable: ast.expr) -> bool:
    """A literal display or a ``range()``: a few known items, retries or pages."""
    if isinstance(iterable, ast.Call) and dotted_name(iterable.func) in ("enumerate", "zip", "reversed"):
        return any(_bounded(arg) for arg in iterable.args)
    if isinstance(iterable, ast.Call):
        return dotted_name(iterable.func) == "range"
    return isinstance(iterable, (ast.List, ast.Tuple, ast.Set, ast.Constant))


def _few(target: ast.expr, iterable: ast.expr) -> bool:
    """Names that say the loop goes over models, tables, forms or batches."""
    text = f"{ast.unparse(target)} {ast.unparse(iterable)}".lower()
    words = {word for part in text.replace(".", " ").split() for word in part.strip("()[],").split("_")}
    return bool(words & FEW_WORDS)


def _per_row(
    calls: list[Call],
    iterable: ast.expr,
    items: set[str],
    assigned: Callable[[], dict[str, list[ast.expr]]],
    evidence: Evidence,
) -> list[Call]:
    """The calls that make the N+1 pattern: a query per row of a query's result (a
    list of anything will do for LLM and HTTP calls), never one per model or table."""
    rows = None
    kept = []
    for call in calls:
        if call.kind in DATABASE:
            if _names_a_model(call.node, items):
                continue
            rows = _reads_rows(iterable, assigned(), evidence) if rows is None else rows
            if not rows:
                continue
        kept.append(call)
    return kept


def _bulk_shape(body: list[ast.stmt], items: set[str]) -> bool:
    """The loop only sets fields of the item and saves it: what ``bulk_update`` or
    ``update()`` does in one statement. A loop that also validates, snapshots or logs
    needs each ``save()`` (signals, change logs), and is left alone."""
    for stmt in body:
        if isinstance(stmt, ast.Assign):
            if not all(isinstance(target, ast.Attribute) and _uses(target, items) for target in stmt.targets):
                return False
        elif not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)) or not (
            isinstance(stmt.value.func, ast.Attribute) and stmt.value.func.attr == "save"
        ):
            return False
    return True


def _reads_rows(iterable: ast.expr, assigned: dict[str, list[ast.expr]], evidence: Evidence) -> bool:
    """The loop goes over the result of a query, a name given one, or keys (``ids``)."""
    last = dotted_name(iterable).rsplit(".", 1)[-1].lower()
    if last.endswith(("ids", "pks")):
        return True
    for value in values_of(iterable, assigned):
        for node in ast.walk(value):
            if isinstance(node, ast.Attribute) and node.attr in ("objects", "query"):
                return True
            if isinstance(node, ast.Call) and (
                reached(node, evidence) in DATABASE
                or (isinstance(node.func, ast.Attribute) and node.func.attr in ROW_METHODS)
            ):
                return True
    return False


def _names_a_model(call: ast.Call, items: set[str]) -> bool:
    """An item stands for a model or a table in the call: ``model.objects.filter(...)``,
    ``session.execute(delete(table))``: the loop goes over the schema, not over rows."""
    placed: list[ast.expr] = []
    manager = manager_of(call.func, "objects") or manager_of(call.func, "query")
    if manager is not None:
        placed.append(manager)
    for node in ast.walk(call):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else dotted_name(node.func)
            if name in STATEMENT_FUNCTIONS and node.args:
                placed.append(node.args[0])
            if isinstance(node.func, ast.Attribute) and name in STATEMENT_METHODS:
                placed.append(node.func.value)
    return any(isinstance(node, ast.Name) and node.id in items for expr in placed for node in ast.walk(expr))


def _stops_early(inner: list[ast.AST]) -> bool:
    """A ``break`` or ``return`` of this loop: it runs until the first match."""
    return any(isinstance(node, (ast.Break, ast.Return)) for node in inner)


def _item_names(target: ast.expr, inner: list[ast.AST]) -> set[str]:
    """The loop's names and those the body derives from them (``user = row.user``)."""
    items = set(_names(target))
    assignments = [node for node in inner if isinstance(node, (ast.Assign, ast.AnnAssign))]
    for _ in range(2):  # a name derived from a derived name
        for node in assignments:
            if node.value is not None and _uses(node.value, items):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                items.update(name for target in targets for name in _names(target))
    return items


def _names(target: ast.expr) -> Iterator[str]:
    for node in ast.walk(target):
        if isinstance(node, ast.Name):
            yield node.id


def _uses(node: ast.AST, items: set[str]) -> bool:
    return any(isinstance(child, ast.Name) and child.id in items for child in ast.walk(node))


def _calls(nodes: list[ast.AST], items: set[str], awaited_only: bool, reach: _Reach) -> list[Call]:
    """The calls among a loop's own nodes that reach a database or a service, with an item in them."""
    awaited = {id(node.value) for node in nodes if isinstance(node, ast.Await)}
    memoised = _memoised(nodes)
    found = []
    for node in nodes:
        if (
            not isinstance(node, ast.Call)
            or (awaited_only and id(node) not in awaited)
            or id(node) in memoised
        ):
            continue
        kind = reach.kind(node)
        if kind is None or (kind == QUERY and _admin_statement(node)):
            continue
        uses_item = _uses(node.func.value if kind == DJANGO_SAVE else node, items)  # type: ignore[attr-defined]
        if uses_item:
            found.append(Call(node, kind))
    return found


def _admin_statement(call: ast.Call) -> bool:
    """``execute(f"KILL {pid}")``, ``execute(text("DROP ..."))``: statements that take
    one object each, so one per item is the only way."""
    first = call.args[0] if call.args else None
    if isinstance(first, ast.Call) and first.args:
        first = first.args[0]  # ``text("...")``
    if isinstance(first, ast.JoinedStr):
        head = next((part.value for part in first.values if isinstance(part, ast.Constant)), "")
    else:
        head = first.value if isinstance(first, ast.Constant) else ""
    return isinstance(head, str) and head.lstrip().upper().startswith(ADMIN_STATEMENTS)


def _memoised(nodes: list[ast.AST]) -> set[int]:
    """Calls whose result fills a cache entry that was missing
    (``if key not in cache: cache[key] = await Remote.objects.aget(...)``): one call
    per distinct key, not per item."""
    found = set()
    for node in nodes:
        if not (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)):
            continue
        test = node.test
        if not (len(test.ops) == 1 and isinstance(test.ops[0], ast.NotIn)):
            continue
        cache = dotted_name(test.comparators[0])
        for stmt in node.body:
            if isinstance(stmt, ast.Assign) and any(
                isinstance(target, ast.Subscript) and dotted_name(target.value) == cache
                for target in stmt.targets
            ):
                found.add(id(stmt.value.value if isinstance(stmt.value, ast.Await) else stmt.value))
    return found


# --- the hit ---------------------------------------------------------------


def _hit(loop: ast.AST, calls: list[Call], change: FileChange | None) -> Iterator[Hit]:
    """One hit per loop, on its first call that the change added."""
    added = [call for call in calls if change is None or change.any_added(*span(call.node))]
    if not added:
        return
    call = added[0]
    first, last = span(call.node)
    name = dotted_name(call.node.func) or "the call"
    if call.kind == DJANGO_SAVE:
        name = f"{name}()"
    iterable = _iterable(loop)
    more = len(calls) - 1
    kind = call.kind
    method = name.rsplit(".", 1)[-1]
    if kind == DJANGO_QUERY and (method in DJANGO_WRITES or method.removeprefix("a") in DJANGO_WRITES):
        kind = DJANGO_SAVE
    message = f"`{name}` {WHAT[kind]} of `{iterable}`"
    if more:
        message += f" (and {more} more call{'s' * (more > 1)} in the loop)"
    message += f"; {ADVICE[kind]}"
    yield Hit(
        first,
        message,
        end_line=last,
        column=call.node.col_offset + 1,
        statement=(first, last),
        fingerprint_key=f"{ast.unparse(call.node.func)}\n{iterable}",
    )


def _iterable(loop: ast.AST) -> str:
    node = loop.iter if isinstance(loop, (ast.For, ast.AsyncFor)) else loop.generators[0].iter  # type: ignore[attr-defined]
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."
