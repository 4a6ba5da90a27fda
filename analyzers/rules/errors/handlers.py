"""Except handlers: where they sit, which broad types they catch, what their
body does with the error, and signs that swallowing it was deliberate."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

from faultline.analyzers.core.source import SourceFile
from faultline.analyzers.lib.python.nodes import blocks, callee, dotted_name
from faultline.analyzers.lib.python.outages import CLEANUP_METHODS
from faultline.analyzers.rules.errors.client_errors import (
    exception_name,
    meaning,
    response_status,
    status_code,
    status_meaning,
)

BROAD = frozenset({"Exception", "BaseException"})
# Not subclasses of Exception: catching them beside Exception is not redundant.
BASE_ONLY = frozenset(
    {"KeyboardInterrupt", "SystemExit", "GeneratorExit", "CancelledError", "BaseExceptionGroup"}
)

# What a handler may do with the error.
LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "critical", "fatal", "log", "msg"})
ECHO_CALLS = frozenset({"print", "click.echo", "click.secho", "sys.stderr.write"})
TRACEBACK_CALLS = frozenset({"exception", "print_exc", "format_exc", "print_exception", "capture_exception"})
EXIT_CALLS = frozenset({"sys.exit", "exit", "quit", "os._exit"})
EXIT_EXCEPTIONS = frozenset({"SystemExit", "Abort", "Exit"})
# Calls that capture the exception being handled, to re-raise or report it later.
KEEP_CALLS = frozenset({"sys.exc_info", "sys.exception"})
TEXT_CALLS = frozenset({"str", "repr", "format", "type"})
# The statements that hold others: ``sites`` looks inside these only.
COMPOUND = (
    *(ast.Try, ast.TryStar, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef),
    *(ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Match),
)
# The statements of a handler body that ``Handling`` reads through.
NESTING = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.Try, ast.TryStar, ast.With, ast.AsyncWith)

# The names of calls that set a service up at start-up (report item 5).
SET_UP_PREFIXES = ("setup_", "set_up_", "init_", "initialize_", "initialise_", "configure_", "instrument")
# Signs that swallowing was the author's choice.
DELIBERATE_PREFIXES = ("try_", "_try_", "safe_", "_safe_", "maybe_", "_maybe_", "__")
# Swallowing there keeps a second error from hiding the one being handled.
ERROR_PATH_WORDS = ("exception", "error", "cleanup", "teardown", "shutdown", "close", "rollback", "dispose")
LINTER_SILENCED = re.compile(
    r"#\s*noqa(?!\s*:)|#\s*noqa\s*:[^#]*\b(E722|BLE001|B001|S110)\b|pylint:\s*disable=[^#]*(bare-except|broad-except|broad-exception-caught)",
    re.I,
)
TOOL_COMMENT = re.compile(
    r"(noqa|pylint|type:|nosec|pragma|fmt:|faultline|pyright|mypy|todo|fixme|xxx)\b", re.I
)


@dataclass(frozen=True)
class Site:
    """One handler and where it sits."""

    handler: ast.ExceptHandler
    body: list[ast.stmt]  # the try block it guards
    function: str  # the enclosing function, "" at module or class level
    cleanup: bool  # inside a ``finally`` block or another handler


def sites(body: list[ast.stmt], function: str, cleanup: bool) -> list[Site]:
    """Every handler under ``body``, in source order; descends through statements only,
    never expressions."""
    found: list[Site] = []
    _collect_sites(body, function, cleanup, found)
    return found


def _collect_sites(body: list[ast.stmt], function: str, cleanup: bool, found: list[Site]) -> None:
    # Appends to one list: nested generators would hand each site up through every level.
    for stmt in body:
        if not isinstance(stmt, COMPOUND):
            continue  # most statements are simple, and a simple statement holds no handler
        if isinstance(stmt, (ast.Try, ast.TryStar)):
            for handler in stmt.handlers:
                found.append(Site(handler, stmt.body, function, cleanup))
                _collect_sites(handler.body, function, True, found)
            _collect_sites(stmt.body, function, cleanup, found)
            _collect_sites(stmt.orelse, function, cleanup, found)
            _collect_sites(stmt.finalbody, function, True, found)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            _collect_sites(stmt.body, stmt.name, False, found)
        elif isinstance(stmt, ast.ClassDef):
            _collect_sites(stmt.body, "", False, found)
        else:
            for block in blocks(stmt):
                _collect_sites(block, function, cleanup, found)


def shadowed(tree: ast.Module) -> frozenset[str]:
    """``Exception`` or ``BaseException`` bound at module level to something else."""
    names: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.ClassDef):
            names.add(stmt.name)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            names.update(alias.asname or alias.name for alias in stmt.names)
        elif isinstance(stmt, ast.Assign):
            names.update(target.id for target in stmt.targets if isinstance(target, ast.Name))
    return frozenset(names & BROAD)


def broad_names(node: ast.expr | None, shadowed: frozenset[str]) -> list[str] | None:
    """The broad names the clause catches (``[]`` for a bare ``except:``), or None."""
    if node is None:
        return []
    elements = node.elts if isinstance(node, ast.Tuple) else [node]
    found = [
        name for name in map(dotted_name, elements) if name.removeprefix("builtins.") in BROAD - shadowed
    ]
    return found or None


def catches_exit(handler: ast.ExceptHandler, broad: list[str]) -> bool:
    """A bare ``except:`` or ``except BaseException:``: KeyboardInterrupt and SystemExit too."""
    return handler.type is None or any(name.removeprefix("builtins.") == "BaseException" for name in broad)


def set_up_call(body: list[ast.stmt]) -> str | None:
    """The set-up step a try block runs as a statement: ``setup_tracing(app)``,
    ``init_sentry()``, ``FastAPIInstrumentor.instrument_app(app)``."""
    for stmt in body:
        value = stmt.value if isinstance(stmt, ast.Expr) else None
        if isinstance(value, ast.Await):
            value = value.value
        if isinstance(value, ast.Call):
            name = callee(value)
            if name.rsplit(".", 1)[-1].lower().startswith(SET_UP_PREFIXES):
                return name
    return None


def redundant(node: ast.expr | None, broad: list[str]) -> list[str]:
    """Types in the tuple that the broad one already catches."""
    if not isinstance(node, ast.Tuple):
        return []
    others = [ast.unparse(element) for element in node.elts if dotted_name(element) not in broad]
    if any(name.endswith("BaseException") for name in broad):
        return others
    return [name for name in others if name.rsplit(".", 1)[-1] not in BASE_ONLY]


def silenced(source: SourceFile, site: Site) -> bool:
    """A linter told to let this broad clause be: ``# noqa: E722``, ``# noqa: BLE001``,
    a bare ``# noqa``, ``# pylint: disable=bare-except``."""
    handler = site.handler
    end = handler.type.end_lineno or handler.lineno if handler.type else handler.lineno
    return any(LINTER_SILENCED.search(source.line(number)) for number in range(handler.lineno, end + 1))


def deliberate(source: SourceFile, site: Site) -> bool:
    """Signs that a swallowed error was the author's choice."""
    function = site.function.lower()
    if function.startswith(DELIBERATE_PREFIXES) or any(word in function for word in ERROR_PATH_WORDS):
        return True  # ``_try_import``, ``__del__``, ``handle_dbapi_exception``
    if any(isinstance(stmt, (ast.Import, ast.ImportFrom)) for stmt in site.body):
        return True  # an optional dependency
    handler = site.handler
    return any(
        _explains(source.line(number)) for number in range(handler.lineno, (handler.end_lineno or 0) + 1)
    )


def _explains(line: str) -> bool:
    """The line holds a comment that is not a tool directive or a TODO."""
    index = line.find("#")
    if index < 0 or line[:index].count('"') % 2 or line[:index].count("'") % 2:
        return False
    comment = line[index + 1 :].strip()
    return bool(comment) and not TOOL_COMMENT.match(comment)


class Handling:
    """What the handler body does with the error, gathered in one pass over its statements."""

    def __init__(self, handler: ast.ExceptHandler) -> None:
        self.name = handler.name
        self.propagates = False  # re-raises, chains with ``from``, or exits
        self.keeps_error = False  # stores, returns or inspects the error object
        self.warns = False
        self.traceback = False
        self.other_work = False
        self.translation: tuple[ast.stmt, str, str] | None = None  # statement, new error, what it looks like
        self.boolean: tuple[ast.Return, bool] | None = None
        self.log: ast.stmt | None = None
        self.silent: tuple[ast.stmt, str, str] | None = None  # statement, what it does, kind
        self.raises = False  # raises another exception: the failure does not carry on unseen
        for stmt in self._flatten(handler.body):
            self._visit(stmt)

    def _flatten(self, body: list[ast.stmt]) -> Iterator[ast.stmt]:
        """The simple statements of the handler, through ifs, loops, withs and tries."""
        for stmt in body:
            if isinstance(stmt, (ast.If, ast.While)):
                # ``if isinstance(err, Timeout):`` or ``if err.code < 500:`` is a decision about the error.
                self.keeps_error = self.keeps_error or self._uses_error(stmt.test)
            if isinstance(stmt, (ast.With, ast.AsyncWith)) and any(
                "reraise" in callee(item.context_expr).lower() for item in stmt.items
            ):
                self.propagates = True  # SQLAlchemy's ``with util.safe_reraise():``
            if isinstance(stmt, NESTING):
                for block in blocks(stmt):
                    yield from self._flatten(block)
            elif not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                yield stmt

    def _visit(self, stmt: ast.stmt) -> None:
        value = stmt.value if isinstance(stmt, ast.Expr) else None
        if isinstance(value, ast.Await):
            value = value.value
        if isinstance(stmt, ast.Raise):
            self._raise(stmt)
        elif isinstance(stmt, ast.Return):
            self._return(stmt)
        elif isinstance(stmt, ast.Pass):
            self._silent(stmt, "swallows every error, including {cause}, without a trace", "swallow")
        elif isinstance(stmt, ast.Continue):
            self._silent(stmt, "skips the item on every error, including {cause}, without a trace", "swallow")
        elif isinstance(value, ast.Constant):
            pass  # a docstring or ``...``
        elif isinstance(value, ast.Call):
            self._call(stmt, value)
        else:
            self._work(stmt)

    def _silent(self, stmt: ast.stmt, what: str, kind: str) -> None:
        self.silent = self.silent or (stmt, what, kind)

    def _work(self, node: ast.AST) -> None:
        self.other_work = True
        captured = any(isinstance(sub, ast.Call) and callee(sub) in KEEP_CALLS for sub in ast.walk(node))
        self.keeps_error = self.keeps_error or captured or self._uses_error(node)

    def _raise(self, stmt: ast.Raise) -> None:
        exc, cause = stmt.exc, stmt.cause
        reraise = isinstance(exc, ast.Name) and exc.id == self.name
        chained = cause is not None and not (isinstance(cause, ast.Constant) and cause.value is None)
        if exc is None or reraise or chained or callee(exc).rsplit(".", 1)[-1] in EXIT_EXCEPTIONS:
            self.propagates = True
            return
        self.raises = True
        looks_like = meaning(exc)
        if looks_like is None:
            self.other_work = True  # a server error still reads as one
        elif self.translation is None:
            hides = " and hides the cause with `from None`" if cause else ""
            self.translation = (stmt, exception_name(exc) + hides, looks_like)

    def _return(self, stmt: ast.Return) -> None:
        value = stmt.value
        status = response_status(value)
        if status is not None:
            self.translation = self.translation or (stmt, f"a {status} response", status_meaning(status))
        elif value is None:
            self._silent(stmt, "returns silently on every error, including {cause}", "default")
        elif isinstance(value, ast.Constant) and isinstance(value.value, bool):
            self.boolean = self.boolean or (stmt, value.value)
        elif is_default(value):
            shown = literal(ast.unparse(value))
            self._silent(
                stmt,
                f"returns {shown} on every error, including {{cause}}, which callers read as a real answer",
                "default",
            )
        else:
            self._work(value)

    def _call(self, stmt: ast.stmt, call: ast.Call) -> None:
        name = callee(call)
        last = name.rsplit(".", 1)[-1]
        if any(isinstance(node, ast.Call) and callee(node) in KEEP_CALLS for node in ast.walk(call)):
            self.keeps_error = True  # ``errors.append(sys.exc_info())``
        if _logs_traceback(call):
            self.traceback = True
        elif name in EXIT_CALLS:
            self.propagates = True
        elif last == "warn" and "log" not in name.lower():
            self.warns = True  # ``warnings.warn``
        elif last == "abort" and call.args and (status := status_code(call.args[0])) is not None:
            if 400 <= status < 500:
                self.translation = self.translation or (stmt, f"a {status} response", status_meaning(status))
        elif (last in LOG_METHODS and "log" in name.lower()) or name in ECHO_CALLS:
            self.log = self.log or stmt
        elif last not in CLEANUP_METHODS:  # ``await session.rollback()`` changes nothing
            self._work(call)

    def _uses_error(self, node: ast.AST) -> bool:
        """The bound error is kept or inspected, not only turned into text."""
        if self.name is None:
            return False
        return any(isinstance(sub, ast.Name) and sub.id == self.name for sub in _outside_text(node))


def _outside_text(node: ast.AST) -> Iterator[ast.AST]:
    """Nodes under ``node``, skipping those that only turn a value into text."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.JoinedStr):
            continue
        if isinstance(current, ast.Call) and callee(current) in TEXT_CALLS:
            continue
        yield current
        stack.extend(ast.iter_child_nodes(current))


def _logs_traceback(call: ast.Call) -> bool:
    """``logger.exception(...)``, ``exc_info=True``, or ``traceback.format_exc()`` among the arguments."""
    for keyword in call.keywords:
        if keyword.arg in ("exc_info", "exception"):
            return not (isinstance(keyword.value, ast.Constant) and keyword.value.value in (False, None))
    return any(
        isinstance(node, ast.Call) and callee(node).rsplit(".", 1)[-1] in TRACEBACK_CALLS
        for node in ast.walk(call)
    )


def is_default(value: ast.expr) -> bool:
    """A value callers cannot tell from a real answer: ``None``, ``0``, ``""``, ``[]``, ``{}``."""
    if isinstance(value, ast.Constant):
        return value.value is None or value.value in (0, "", b"")
    if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
        return not value.elts
    if isinstance(value, ast.Dict):
        return not value.keys
    if isinstance(value, ast.Call):
        return callee(value) in ("list", "dict", "set", "tuple") and not value.args and not value.keywords
    return False


def literal(text: str) -> str:
    """Source text made safe for ``str.format``."""
    return text.replace("{", "{{").replace("}", "}}")
