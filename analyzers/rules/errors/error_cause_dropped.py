"""FL009 error-cause-dropped: a handler raises a server error and drops its cause."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from faultline.analyzers.core.context import Context
from faultline.analyzers.core.findings import Hit, Severity, Suggestion
from faultline.analyzers.core.rule import Invalid, Rule, Valid, replace_span
from faultline.analyzers.core.source import SourceFile
from faultline.analyzers.languages import python
from faultline.analyzers.lib.python.nodes import blocks, callee, span
from faultline.analyzers.lib.python.outages import outage
from faultline.analyzers.rules.errors.client_errors import meaning, status_code
from faultline.analyzers.rules.errors.handlers import TRACEBACK_CALLS, Site, sites

# Exception classes that are a 5xx response by their name (werkzeug, Django REST framework).
SERVER_ERRORS = {
    "InternalServerError": 500,
    "NotImplemented": 501,
    "BadGateway": 502,
    "ServiceUnavailable": 503,
    "GatewayTimeout": 504,
}
HTTP_EXCEPTIONS = frozenset({"HTTPException", "HTTPError", "APIException", "WebSocketException"})
HTTP_STATUS_NAMES = {
    "INTERNAL_SERVER_ERROR": 500,
    "NOT_IMPLEMENTED": 501,
    "BAD_GATEWAY": 502,
    "SERVICE_UNAVAILABLE": 503,
    "GATEWAY_TIMEOUT": 504,
}
ABORT_CALLS = frozenset({"abort", "flask.abort", "werkzeug.exceptions.abort"})
# Raising these is a way out of the program or a protocol, not an error with a cause.
NOT_ERRORS = frozenset(
    {
        *("SystemExit", "KeyboardInterrupt", "StopIteration", "StopAsyncIteration", "GeneratorExit"),
        *("NotImplementedError", "Exit", "Abort"),
    }
)
# Caught errors that are an answer rather than a failure: a missing row, a duplicate key,
# a missing module, bad input. The new error's message says what happened; the caught one
# adds nothing an operator needs.
ANSWER_WORDS = (
    *("notfound", "doesnotexist", "noresult", "multipleresults", "integrity", "unique", "exists"),
    *("duplicate", "validation", "import", "keyerror", "indexerror", "lookup", "valueerror"),
    *("typeerror", "attributeerror", "decode", "parse", "invalid"),
)
# Raised errors that blame the request, beyond those ``client_errors.meaning`` knows.
CLIENT_WORDS = ("exists", "conflict", "duplicate", "notallowed", "unsupported")
# Caught errors that are an outage: the cause an operator has to find.
OUTAGE_WORDS = (
    *("connection", "timeout", "operational", "redis", "request", "http", "client", "transport"),
    *("socket", "oserror", "ioerror", "database", "api", "service", "unavailable", "network"),
)
BROAD = frozenset({"Exception", "BaseException"})
TEXT_CALLS = frozenset({"str", "repr", "format"})
LOG_WORDS = ("log", "print", "echo", "sentry", "capture", "report", "record")

DROPPED = (
    "`{raised}` in this handler drops the caught error: the framework turns it into a {status} "
    "response without logging it, so what failed is recorded nowhere; {advice}"
)
DROPPED_OTHER = (
    "`raise {raised}` drops the caught error: without `from` the traceback reads as a second failure "
    "while handling the first, and anything that reports only `{raised}` loses the cause; "
    "chain it with `from {name}`"
)
LEAKED = (
    "`{raised}` sends the caught exception's text to the client in a {status} response: internals "
    "(SQL, hosts, paths) leak and clients get no stable message; log the error and return a fixed detail"
)
FIX_TITLE = "Chain the caught error"
# What to call a caught error that has no name yet, in order of preference.
FRESH_NAMES = ("exc", "err", "error")


@dataclass(frozen=True)
class Raised:
    """A raise (or ``abort``) in a handler that ends the request with an error."""

    stmt: ast.stmt
    error: ast.Call
    status: int | None  # the 5xx status of an HTTP error; None for another exception
    abort: bool


class ErrorCauseDropped(Rule):
    """
    ## What it does
    Checks for `except` blocks that end in a server error without the caught
    exception: `raise HTTPException(status_code=500, ...)`, Flask's `abort(500)` or
    `raise OtherError(...)` with no `from` and no log of the error, and 5xx errors
    whose detail is the caught exception's text (`detail=str(e)`).

    ## Why is this risky?
    FastAPI and Starlette turn an `HTTPException` into a response and log nothing;
    Flask does the same with `abort(500)`. The exception that caused it still sits on
    the new one's `__context__`, but their own handlers never read it: the client gets "Search
    operation failed", the access log a 500, and the error that would say why (a
    timeout, a mapping error, a bad query) is recorded nowhere. Nobody can trace it.

    For another exception, Python's implicit chaining keeps the cause on
    `__context__` and an unhandled traceback prints it, but as "During handling of
    the above exception, another exception occurred", which reads as a bug in the
    handler, and an error handler that reports only the new exception drops the
    cause. Those are notices, and only where the cause is an outage someone has to
    find: a broad or outage-named error (`OperationalError`, `ConnectionError`)
    caught around a call to a database or another service. `raise X from err` says
    the cause is intended; `raise X from None` hides it on purpose (not reported).

    Sending `str(e)` to the client in a 5xx leaks internals (SQL, host names, file
    paths) and gives clients a message that changes with every failure.

    Not reported: 4xx errors (a validation error turned into a 400 is the point),
    handlers that log the error (`logger.exception`, `exc_info=`, the error passed to
    a logger or any call) or pass it to the new error, and handlers whose caught
    errors are all an answer rather than a failure (`NoResultFound`,
    `IntegrityError`, `KeyError`, `ValidationError`, `ImportError`), and a specific
    caught error turned into a message built from values
    (`except socket.gaierror: ... f"cannot resolve {host}"`): the new error's message
    already says what happened.

    Ships as a notice (an annotation, no inline comment): the well-kept services it
    was tried on chain or log their errors, so its precision on real code is not yet
    known. Make it a warning with `rules: {error-cause-dropped: {severity: warning}}`.

    ## Example
    ```python
    try:
        hits = await search_service.search(query)
    except SearchError:
        raise HTTPException(status_code=500, detail="Search operation failed")
    ```

    ## Use instead
    ```python
    try:
        hits = await search_service.search(query)
    except SearchError as exc:
        logger.exception("search failed", extra={"query_id": query.id})
        raise HTTPException(status_code=500, detail="Search operation failed") from exc
    ```

    ## Fix safety
    The suggestion adds `from exc` to a one-line `raise` (and `as exc` to a handler
    that does not name the error, when the two are next to each other; `err` or
    `error` when the file already uses `exc`, since `as` unbinds its name when the
    handler ends). It changes no behaviour: the client gets the same response, and
    error reporters and custom handlers see the cause as its direct cause, so
    `faultline fix` applies it. It does not make FastAPI or Flask log the error:
    add a `logger.exception(...)` for that.
    """

    code = "FL009"
    slug = "error-cause-dropped"
    # A notice until real code shows its precision: on 5,650 merged pull requests of five
    # services and nine pinned projects it found two cases, both open to argument.
    severity = Severity.NOTICE
    summary = "A handler raises a server error and drops its cause"
    patterns = ("*.py",)
    production_only = True
    compare_base = True
    # An HTTP error, or a handler of the kind "other" errors are judged in: broad, or named
    # for an outage. Files with neither are not parsed for this rule.
    needles = (
        *(b"HTTPException", b"abort(", b"ServerError", b"ServiceUnavailable", b"BadGateway"),
        *(b"GatewayTimeout", b"APIException", b"HTTPError", b"except:", b"except Exception"),
        *(b"except BaseException", b"OperationalError", b"ConnectionError", b"Timeout"),
        *(b"RequestException", b"RedisError", b"ClientError", b"APIError"),
    )

    VALID: ClassVar[list[Valid]] = [
        Valid(
            "try:\n    hits = search(q)\nexcept SearchError as exc:\n    logger.exception('search failed')\n"
            "    raise HTTPException(status_code=500, detail='Search operation failed')\n"
        ),
        Valid(
            "try:\n    hits = search(q)\nexcept SearchError as exc:\n"
            "    raise HTTPException(status_code=500, detail='Search operation failed') from exc\n"
        ),
        # An explicit choice to hide the cause.
        Valid("try:\n    db.commit()\nexcept DBError:\n    raise StoreError('commit failed') from None\n"),
        # A validation error turned into a 400 is normal.
        Valid(
            "try:\n    item = Item(**payload)\nexcept ValidationError:\n"
            "    raise HTTPException(status_code=400, detail='invalid item')\n"
        ),
        Valid(
            "try:\n    db.commit()\nexcept DBError:\n"
            "    log.error('commit failed', exc_info=True)\n    abort(500)\n"
        ),
        Valid(
            "try:\n    import ujson as json\nexcept ImportError:\n"
            "    raise RuntimeError('pip install ujson')\n"
        ),
        # No call out: a ``KeyError`` turned into another error says what it needs to.
        Valid(
            "try:\n    kind = KINDS[name]\nexcept KeyError:\n    raise ConfigError(f'unknown kind {name}')\n"
        ),
        Valid(
            "try:\n    hits = search(q)\nexcept SearchError:\n    raise HTTPException(status_code=500)\n",
            path="tests/test_search.py",
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        # The report's own lines.
        Invalid(
            "try:\n    hits = await search_service.search(query)\nexcept SearchError as exc:\n"
            '    raise HTTPException(status_code=500, detail="Search operation failed")\n',
            line=4,
            message="turns it into a 500 response without logging it",
            suggestion='    raise HTTPException(status_code=500, detail="Search operation failed") from exc',
        ),
        Invalid(
            "try:\n    index.add(document)\nexcept Exception:\n"
            '    raise HTTPException(status_code=500, detail="Failed to index document")\n',
            line=4,
            message="`HTTPException(500)` in this handler drops the caught error",
            suggestion="except Exception as exc:\n"
            '    raise HTTPException(status_code=500, detail="Failed to index document") from exc',
        ),
        Invalid(
            "from sqlalchemy import exc\n\ntry:\n    db.session.commit()\nexcept exc.OperationalError:\n"
            '    raise HTTPException(status_code=500, detail="Database unavailable")\n',
            line=6,
            message="`HTTPException(500)` in this handler drops the caught error",
            suggestion="except exc.OperationalError as err:\n"
            '    raise HTTPException(status_code=500, detail="Database unavailable") from err',
        ),
        Invalid(
            "@app.route('/report')\ndef report():\n    try:\n        rows = db.session.execute(q).all()\n"
            "    except SQLAlchemyError:\n        abort(500)\n",
            line=6,
            message="`abort(500)` in this handler drops the caught error",
        ),
        Invalid(
            "try:\n    rows = session.execute(q)\nexcept OperationalError as err:\n"
            "    raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(err))\n",
            line=4,
            message="sends the caught exception's text to the client in a 503 response",
        ),
        Invalid(
            "def charge(order):\n    try:\n        return payments_client.charge(order.total)\n"
            "    except requests.ConnectionError as err:\n        raise ChargeFailed(order.id)\n",
            line=5,
            severity=Severity.NOTICE,
            message="without `from` the traceback reads as a second failure",
            suggestion="        raise ChargeFailed(order.id) from err",
        ),
    ]

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        tree = python.module(source)
        for site in sites(tree.body, "", cleanup=False):
            caught = _caught_names(site.handler)
            if caught and all(_is_answer(name) for name in caught):
                continue
            for raised in _raises(site.handler.body):
                hit = _judge(source, site, raised)
                if hit is not None:
                    yield hit


def _is_answer(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in ANSWER_WORDS)


def _is_outage(caught: set[str]) -> bool:
    """A bare ``except:``, a broad type, or one named for an outage (``OperationalError``)."""
    if not caught or caught & BROAD:
        return True
    return any(word in name.lower() for name in caught for word in OUTAGE_WORDS)


def _caught_names(handler: ast.ExceptHandler) -> set[str]:
    node = handler.type
    elements = node.elts if isinstance(node, ast.Tuple) else [node] if node is not None else []
    return {callee(element).rsplit(".", 1)[-1] for element in elements}


def _raises(body: list[ast.stmt]) -> Iterator[Raised]:
    """The errors the handler ends with, through ifs and withs but not into nested handlers
    (they are sites of their own) or nested functions."""
    for stmt in body:
        if isinstance(stmt, ast.Raise) and stmt.cause is None and isinstance(stmt.exc, ast.Call):
            status = _server_status(stmt.exc)
            yield Raised(stmt, stmt.exc, status, abort=False)
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            call = stmt.value
            if callee(call) in ABORT_CALLS and call.args:
                status = _status(call.args[0])
                if status is not None and status >= 500:
                    yield Raised(stmt, call, status, abort=True)
        elif isinstance(stmt, (ast.Try, ast.TryStar)):
            for block in (stmt.body, stmt.orelse, stmt.finalbody):
                yield from _raises(block)
        elif not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for block in blocks(stmt):
                yield from _raises(block)


def _server_status(error: ast.Call) -> int | None:
    """The 5xx status of an HTTP error; None for a 4xx, an unknown status, or another exception."""
    name = callee(error).rsplit(".", 1)[-1]
    if name in SERVER_ERRORS:
        return SERVER_ERRORS[name]
    if name not in HTTP_EXCEPTIONS:
        return None
    status = next(
        (_status(kw.value) for kw in error.keywords if kw.arg in ("status_code", "status", "code")), None
    )
    if status is None and error.args:
        status = _status(error.args[0])
    if status is None and name == "APIException" and not error.keywords and len(error.args) <= 1:
        status = 500  # DRF's APIException is a 500 unless a subclass says otherwise
    return status if status is not None and status >= 500 else None


def _status(node: ast.expr) -> int | None:
    """``500``, ``status.HTTP_500_INTERNAL_SERVER_ERROR`` or ``HTTPStatus.INTERNAL_SERVER_ERROR``."""
    if isinstance(node, ast.Attribute) and node.attr in HTTP_STATUS_NAMES:
        return HTTP_STATUS_NAMES[node.attr]
    return status_code(node)


def _judge(source: SourceFile, site: Site, raised: Raised) -> Hit | None:
    handler = site.handler
    shown = _shown(raised)
    if raised.status is not None:
        if _mentions(raised.error, handler.name):
            return _hit(raised, LEAKED.format(raised=shown, status=raised.status), None)
        if _keeps(handler, raised):
            return None
        if not _is_outage(_caught_names(handler)) and not _generic(raised.error):
            return None  # ``except socket.gaierror: ... f"cannot resolve {host}"`` says what failed
        advice = (
            "log it with `logger.exception` first"
            if raised.abort
            else "log it (`logger.exception`) or chain it with `from exc`"
        )
        message = DROPPED.format(raised=shown, status=raised.status, advice=advice)
        return _hit(raised, message, None if raised.abort else _chain(source, handler, raised))
    name = callee(raised.error).rsplit(".", 1)[-1]
    if name in NOT_ERRORS or meaning(raised.error) is not None or _is_client_status(raised.error):
        return None  # a client error or no error at all
    if any(word in name.lower() for word in CLIENT_WORDS):
        return None
    if _keeps(handler, raised) or outage(site.body) is None or not _is_outage(_caught_names(handler)):
        return None
    message = DROPPED_OTHER.format(raised=name, name=handler.name or "exc")
    # Implicit chaining keeps the cause in an unhandled traceback: a notice, not a comment.
    return _hit(raised, message, _chain(source, handler, raised), Severity.NOTICE)


def _generic(error: ast.Call) -> bool:
    """The new error's text is fixed ("Search operation failed") or absent: it cannot say which
    of the failures the handler caught happened. Text built from values (an f-string, ``%``,
    ``.format``) usually names what failed."""
    return not any(
        isinstance(node, (ast.JoinedStr, ast.BinOp))
        or (isinstance(node, ast.Call) and callee(node).endswith("format"))
        for value in [*error.args, *(kw.value for kw in error.keywords)]
        for node in ast.walk(value)
    )


def _is_client_status(error: ast.Call) -> bool:
    name = callee(error).rsplit(".", 1)[-1]
    return name in HTTP_EXCEPTIONS  # an HTTP error whose status is not a known 5xx


def _shown(raised: Raised) -> str:
    name = callee(raised.error)
    if raised.abort:
        return f"{name}({raised.status})"
    return f"{name}({raised.status})" if raised.status is not None else name


def _keeps(handler: ast.ExceptHandler, raised: Raised) -> bool:
    """The handler logs the error, passes it on, or reads the traceback."""
    for stmt in handler.body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and node.id == handler.name:
                return True
            if isinstance(node, ast.Call) and _logs_traceback(node):
                return True
    return False


def _logs_traceback(call: ast.Call) -> bool:
    name = callee(call)
    last = name.rsplit(".", 1)[-1]
    if last in TRACEBACK_CALLS or name == "sys.exc_info":
        return True
    return any(kw.arg in ("exc_info", "exception", "stack_info") for kw in call.keywords) and any(
        word in name.lower() for word in LOG_WORDS
    )


def _mentions(error: ast.Call, name: str | None) -> bool:
    """The new error's arguments hold the caught one's text: ``str(e)``, ``f"{e}"``, ``e``."""
    if name is None:
        return False
    for value in [*error.args, *(kw.value for kw in error.keywords)]:
        for node in ast.walk(value):
            if isinstance(node, ast.Name) and node.id == name:
                return True
    return False


def _chain(source: SourceFile, handler: ast.ExceptHandler, raised: Raised) -> Suggestion | None:
    """``raise X(...)`` -> ``raise X(...) from exc`` on a one-line raise; with ``as exc`` added to
    a one-line ``except`` clause just above it when the handler has no name."""
    stmt = raised.stmt
    if stmt.lineno != stmt.end_lineno or stmt.end_col_offset is None:
        return None
    name = handler.name
    if name is not None:
        return replace_span(
            source,
            stmt.lineno,
            stmt.end_col_offset,
            stmt.lineno,
            stmt.end_col_offset,
            f" from {name}",
            FIX_TITLE,
            safe=True,
        )
    clause = handler.type
    if clause is None or clause.end_lineno != handler.lineno or stmt.lineno != handler.lineno + 1:
        return None
    # ``as NAME`` unbinds NAME when the handler ends: only a name the file never uses is safe.
    name = next((free for free in FRESH_NAMES if not _named_anywhere(source, free)), None)
    if name is None or clause.end_col_offset is None:
        return None
    header = source.line(handler.lineno).encode()
    body = source.line(stmt.lineno).encode()
    cut = clause.end_col_offset
    text = (
        header[:cut].decode()
        + f" as {name}"
        + header[cut:].decode()
        + "\n"
        + body[: stmt.end_col_offset].decode()
        + f" from {name}"
        + body[stmt.end_col_offset :].decode()
    )
    return Suggestion(handler.lineno, stmt.lineno, text, FIX_TITLE, safe=True)


def _named_anywhere(source: SourceFile, name: str) -> bool:
    """Whether the word ``name`` is anywhere in the file (code, strings, comments): a loose
    test, which leaves a fix to review rather than risk one that breaks code."""
    return re.search(rf"\b{re.escape(name)}\b", source.text) is not None


def _hit(
    raised: Raised, message: str, suggestion: Suggestion | None, severity: Severity | None = None
) -> Hit:
    stmt = raised.stmt
    first, last = span(stmt)
    return Hit(
        first,
        message,
        end_line=last,
        column=stmt.col_offset + 1,
        severity=severity,
        suggestion=suggestion,
        statement=(first, last),
        fingerprint_key=ast.unparse(stmt),  # survives reformatting: a re-quoted raise is not new
    )
