"""FL001 broad-except: a handler that catches everything and changes what the failure means."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import ClassVar

from analyzers.changes import FileChange
from analyzers.context import Context
from analyzers.findings import Hit, Severity, Suggestion
from analyzers.rule import Invalid, Rule, Valid, replace_span
from analyzers.source import SourceFile

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
TEXT_CALLS = frozenset({"str", "repr", "format", "type"})
CLEANUP_METHODS = frozenset({"close", "rollback", "remove", "expunge", "dispose", "release", "disconnect"})

# What the try block reaches. A call on one of these receivers (the last word
# of ``self.db_session``) reaches a database; a call whose receiver or name
# holds a network word reaches another service.
DATABASE_RECEIVERS = frozenset(
    {"session", "db", "conn", "connection", "cursor", "redis", "engine", "dao", "store"}
)
NETWORK_WORDS = frozenset(
    {"requests", "httpx", "aiohttp", "urlopen", "urllib", "http", "client", "grpc", "api"}
)
SEND_VERBS = ("post", "put", "patch", "delete", "send", "publish", "upload", "notify", "enqueue", "push")
STORE_VERBS = ("write", "create", "update", "insert", "save", "commit", "charge")
DATABASE_OUTAGE = "a database outage"
NETWORK_FAILURE = "a network failure"

# What a caller makes of the new exception or status: the failure now looks like...
CLIENT_MEANINGS = (
    (("notfound", "not_found", "doesnotexist", "does_not_exist", "nosuch", "http404"), "a missing record"),
    (("forbidden", "permission", "denied"), "a permission problem"),
    (("unauthori", "unauthenti", "credential", "auth", "login", "token"), "bad credentials"),
    (
        ("invalid", "badrequest", "bad_request", "badparameter", "validation", "valueerror", "keyerror"),
        "bad input",
    ),
)
STATUS_MEANINGS = {401: "bad credentials", 403: "a permission problem", 404: "a missing record"}
DJANGO_RESPONSES = {"HttpResponseBadRequest": 400, "HttpResponseForbidden": 403, "HttpResponseNotFound": 404}
RESPONSE_METHOD = re.compile(r"response_(4\d\d)$")  # Flask-AppBuilder's ``self.response_422(...)``

# Signs that swallowing was the author's choice.
DENY_WORDS = ("blacklist", "blocklist", "blocked", "revoked", "banned", "locked", "expired", "suspended")
ALLOW_WORDS = ("allowed", "permitted", "authorized", "authenticated", "verified")
DELIBERATE_PREFIXES = ("try_", "_try_", "safe_", "_safe_", "maybe_", "_maybe_", "__")
PROBE_PREFIXES = ("verify", "check", "test", "ping", "probe", "health")
# Swallowing there keeps a second error from hiding the one being handled.
ERROR_PATH_WORDS = ("exception", "error", "cleanup", "teardown", "shutdown", "close", "rollback", "dispose")
TOOL_COMMENT = re.compile(
    r"(noqa|pylint|type:|nosec|pragma|fmt:|faultline|pyright|mypy|todo|fixme|xxx)\b", re.I
)
LOG_ADVICE = "use `logger.exception` to keep the traceback"


@dataclass(frozen=True)
class Site:
    """One handler and where it sits."""

    handler: ast.ExceptHandler
    body: list[ast.stmt]  # the try block it guards
    function: str  # the enclosing function, "" at module or class level
    cleanup: bool  # inside a ``finally`` block or another handler


@dataclass(frozen=True)
class Verdict:
    severity: Severity
    what: str  # what the handler does with every error
    culprit: ast.stmt  # the statement that makes it a risk
    kind: str  # translate | fail-open | default | swallow | log


class BroadExcept(Rule):
    """
    ## What it does
    Checks for `except:`, `except Exception` and `except BaseException` (alone or
    in a tuple) around a database or network call, whose handler changes what the
    failure means: it raises a client error (`HTTPException(401)`, `ValueError`)
    without `from`, returns a value such as `None` or `[]` that callers will read
    as a real answer, or swallows the error.

    ## Why is this risky?
    A broad handler catches the failures its author did not think of: a database
    outage, a timeout, a bug. When it turns them into `HTTPException(401)`, an
    outage logs every user out with "invalid credentials" and no alert fires; when
    it returns `None` or passes, the caller carries on with a wrong answer and the
    traceback is gone. In a tuple such as `except (JWTError, Exception):` the
    `Exception` makes `JWTError` redundant, which is almost always a mistake.

    A client error is an error (a warning when the traceback is logged first); a
    default answer or a swallowed error is a warning; a handler that logs only
    the message and carries on is a notice. Not reported: handlers that re-raise
    (`raise`, `raise X from err`, `sys.exit(1)`), log the traceback
    (`logger.exception`, `exc_info=True`), warn, or keep the error
    (`errors.append(err)`, `future.set_exception(err)`); try blocks that call
    neither a database nor another service; and, unless they raise a client
    error, handlers explained by a comment, in cleanup code, or around optional
    imports.

    ## Example
    ```python
    try:
        payload = jwt.decode(token, key)
        user = await session.get(User, payload["sub"])
    except (JWTError, Exception):
        raise HTTPException(status_code=401, detail="Could not validate credentials")
    ```

    ## Use instead
    ```python
    try:
        payload = jwt.decode(token, key)
    except JWTError as err:
        raise HTTPException(status_code=401, detail="Could not validate credentials") from err
    user = await session.get(User, payload["sub"])
    ```

    ## Fix safety
    For a tuple, the suggestion drops `Exception` (or `BaseException`) and keeps
    the specific types, only when each of them is already an `Exception` subclass
    and the tuple sits on one line (a comment after it is kept). The errors the
    handler used to hide will then propagate: that is the point, but check that a
    caller or an error handler above deals with them.
    """

    code = "FL001"
    slug = "broad-except"
    severity = Severity.ERROR
    summary = "A broad `except` changes what a failure means"
    production_only = True
    compare_base = True
    needles = (b"except",)

    VALID: ClassVar[list[Valid]] = [
        Valid("try:\n    db.commit()\nexcept Exception:\n    logger.exception('commit failed')\n    raise\n"),
        Valid(
            "try:\n    user = session.get(User, uid)\n"
            "except Exception as err:\n    raise HTTPException(status_code=401) from err\n"
        ),
        # A tuple that looks broad but is not.
        Valid(
            "try:\n    user = session.get(User, decode(token)['sub'])\n"
            "except (JWTError, ExpiredSignatureError):\n    raise HTTPException(status_code=401)\n"
        ),
        Valid("try:\n    db.commit()\nexcept* ExceptionGroup:\n    pass\n"),
        # A module's own ``Exception`` is not the builtin.
        Valid("from .errors import Exception\n\ntry:\n    db.commit()\nexcept Exception:\n    pass\n"),
        # Nothing in the try block reaches a database or another service.
        Valid(
            "try:\n    page = int(b64decode(token))\n"
            "except Exception:\n    raise HTTPException(status_code=400)\n"
        ),
        Valid(
            "try:\n    requests.post(hook, json=event)\n"
            "except Exception:\n    log.error('hook', exc_info=True)\n"
        ),
        Valid(
            "for job in jobs:\n    try:\n        client.run(job)\n"
            "    except Exception as err:\n        failed.append(err)\n"
        ),
        Valid("try:\n    client.deploy()\nexcept Exception:\n    traceback.print_exc()\n    sys.exit(1)\n"),
        # ``False`` from ``cancel`` means "it failed": a fair answer.
        Valid(
            "def cancel(cursor, pid):\n    try:\n        cursor.execute(KILL, pid)\n"
            "    except Exception:\n        return False\n"
        ),
        Valid(
            "try:\n    db.query(q)\nfinally:\n"
            "    try:\n        db.close()\n    except Exception:\n        pass\n"
        ),
        Valid("try:\n    db.commit()\nexcept Exception:\n    pass  # the audit row is optional\n"),
        Valid("try:\n    db.commit()\nexcept Exception:\n    pass\n", path="tests/test_run.py"),
        # Diff mode: the handler was there before; only the try block changed.
        Valid(
            "try:\n    db.commit(2)\nexcept Exception:\n    pass\n",
            base="try:\n    db.commit(1)\nexcept Exception:\n    pass\n",
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        Invalid(
            "try:\n    payload = decode(token)\n    user = session.get(User, payload['sub'])\n"
            "except (JWTError, Exception):\n"
            "    raise HTTPException(status_code=401, detail='Could not validate credentials')\n",
            line=4,
            severity=Severity.ERROR,
            message="including a database outage, into HTTPException(401)",
            suggestion="except JWTError:",
        ),
        Invalid(
            "try:\n    rows = parse(text)\nexcept (KeyError, ValueError, Exception) as err:  # parse errors\n"
            "    raise BadRequest(str(err))\n",
            line=3,
            severity=Severity.ERROR,
            message="`Exception` makes `KeyError`, `ValueError` redundant",
            suggestion="except (KeyError, ValueError) as err:  # parse errors",
        ),
        Invalid(
            "def price(sku):\n    try:\n        return db.fetch_price(sku)\n"
            "    except Exception:\n        return None\n",
            line=4,
            severity=Severity.WARNING,
            message="returns None on every error, including a database outage",
        ),
        Invalid(
            "def is_token_revoked(jti):\n    try:\n        return redis.sismember('revoked', jti)\n"
            "    except Exception:\n        return False\n",
            line=4,
            severity=Severity.WARNING,
            message="including a Redis outage, so the check fails open",
        ),
        Invalid(
            "try:\n    session.commit()\nexcept:\n    pass\n",
            line=3,
            severity=Severity.WARNING,
            message="bare `except:` swallows every error",
        ),
        Invalid(
            "for item in items:\n    try:\n        requests.post(url, json=item)\n"
            "    except BaseException:\n        continue\n",
            line=4,
            severity=Severity.WARNING,
            message="skips the item on every error, including a network failure",
        ),
        Invalid(
            "try:\n    mail_client.send(user)\n"
            "except Exception as err:\n    logger.warning('mail failed: %s', err)\n",
            line=3,
            severity=Severity.NOTICE,
            message="logs only the message of every error, including a network failure, and carries on",
        ),
        Invalid(
            "try:\n    user = db.get(User, uid)\n"
            "except Exception:\n    return JSONResponse(status_code=403, content={'detail': 'forbidden'})\n",
            line=3,
            severity=Severity.ERROR,
            message="into a 403 response, so an outage will look like a permission problem",
        ),
        # Diff mode: the handler now swallows; reported on the new line.
        Invalid(
            "def price(sku):\n    try:\n        return db.price(sku)\n"
            "    except Exception:\n        return 0\n",
            base="def price(sku):\n    try:\n        return db.price(sku)\n"
            "    except Exception:\n        raise\n",
            line=5,
            severity=Severity.WARNING,
        ),
    ]

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        tree = source.python
        shadowed = _shadowed(tree)
        change = None if ctx.whole_files else ctx.changes.get(source.path)
        for site in _sites(tree.body, "", cleanup=False):
            broad = _broad_names(site.handler.type, shadowed)
            if broad is None:
                continue
            verdict = _judge(source, site, broad)
            hit = _hit(source, site, verdict, change) if verdict else None
            if hit is not None:
                yield hit


# --- where the handlers are ------------------------------------------------


def _sites(body: list[ast.stmt], function: str, cleanup: bool) -> Iterator[Site]:
    """Every handler under ``body``; descends through statements only, never expressions."""
    for stmt in body:
        if isinstance(stmt, (ast.Try, ast.TryStar)):
            for handler in stmt.handlers:
                yield Site(handler, stmt.body, function, cleanup)
                yield from _sites(handler.body, function, cleanup=True)
            yield from _sites(stmt.body, function, cleanup)
            yield from _sites(stmt.orelse, function, cleanup)
            yield from _sites(stmt.finalbody, function, cleanup=True)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from _sites(stmt.body, stmt.name, cleanup=False)
        elif isinstance(stmt, ast.ClassDef):
            yield from _sites(stmt.body, "", cleanup=False)
        elif isinstance(stmt, (ast.If, ast.For, ast.AsyncFor, ast.While)):
            yield from _sites(stmt.body, function, cleanup)
            yield from _sites(stmt.orelse, function, cleanup)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            yield from _sites(stmt.body, function, cleanup)
        elif isinstance(stmt, ast.Match):
            for case in stmt.cases:
                yield from _sites(case.body, function, cleanup)


def _shadowed(tree: ast.Module) -> frozenset[str]:
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


def _broad_names(node: ast.expr | None, shadowed: frozenset[str]) -> list[str] | None:
    """The broad names the clause catches (``[]`` for a bare ``except:``), or None."""
    if node is None:
        return []
    elements = node.elts if isinstance(node, ast.Tuple) else [node]
    found = [name for name in map(_dotted, elements) if name.removeprefix("builtins.") in BROAD - shadowed]
    return found or None


def _redundant(node: ast.expr | None, broad: list[str]) -> list[str]:
    """Types in the tuple that the broad one already catches."""
    if not isinstance(node, ast.Tuple):
        return []
    others = [ast.unparse(element) for element in node.elts if _dotted(element) not in broad]
    if any(name.endswith("BaseException") for name in broad):
        return others
    return [name for name in others if name.rsplit(".", 1)[-1] not in BASE_ONLY]


# --- what the try block reaches --------------------------------------------


def _outage(body: list[ast.stmt]) -> str | None:
    """What an unexpected failure of the try block would be, if it calls out."""
    reached = {
        _reaches(_dotted(node.func)) for stmt in body for node in ast.walk(stmt) if isinstance(node, ast.Call)
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


def _writes(body: list[ast.stmt]) -> bool:
    """The try block sends or stores something: losing that silently loses data."""
    return any(
        isinstance(node, ast.Call)
        and _dotted(node.func).rsplit(".", 1)[-1].lower().startswith(SEND_VERBS + STORE_VERBS)
        for stmt in body
        for node in ast.walk(stmt)
    )


def _returns_true(body: list[ast.stmt]) -> bool:
    return any(
        isinstance(node, ast.Return) and isinstance(node.value, ast.Constant) and node.value.value is True
        for stmt in body
        for node in ast.walk(stmt)
    )


# --- what the handler does with the failure --------------------------------


def _judge(source: SourceFile, site: Site, broad: list[str]) -> Verdict | None:
    facts = _Facts(site.handler)
    if facts.propagates or facts.keeps_error or facts.warns:
        return None
    # Only a call to a database or another service makes an outage likely; a
    # redundant tuple shows the author meant the specific types only.
    outage = _outage(site.body)
    redundant = bool(_redundant(site.handler.type, broad))
    if outage is None and not redundant:
        return None
    verdict = _verdict(source, site, facts, outage, redundant)
    if verdict is None:
        return None
    what = verdict.what.format(cause=outage or "a bug", short="an outage" if outage else "a bug")
    return replace(verdict, what=what)


def _verdict(
    source: SourceFile, site: Site, facts: _Facts, outage: str | None, redundant: bool
) -> Verdict | None:
    """What the handler does, as a template with ``{cause}`` and ``{short}`` left to fill."""
    if facts.translation is not None:
        if outage == NETWORK_FAILURE and site.function.lower().startswith(PROBE_PREFIXES):
            return None  # ``verify_url``: a failed call is the answer it exists to give
        stmt, target, meaning = facts.translation
        what = f"turns every error, including {{cause}}, into {target}, so {{short}} will look like {meaning}"
        # Logged with its traceback, the outage is at least seen. With no call out
        # it may only be a bug, unless a redundant tuple (``except (JWTError,
        # Exception)``) shows the author meant to catch the specific types only.
        severity = Severity.ERROR if (outage or redundant) and not facts.traceback else Severity.WARNING
        return Verdict(severity, what, stmt, "translate")
    if facts.traceback or facts.other_work or site.cleanup or _deliberate(source, site):
        return None
    if facts.boolean is not None:
        return _fail_open(site.function, *facts.boolean)
    if facts.log is not None:
        then = _then(facts.silent)
        what = f"logs only the message of every error, including {{cause}}, and {then}; {LOG_ADVICE}"
        return Verdict(Severity.NOTICE, what, facts.log, "log")
    if facts.silent is None:
        return None
    stmt, what, kind = facts.silent
    if outage == NETWORK_FAILURE and (kind == "default" or not _writes(site.body)):
        return None  # remote data that may be unavailable: None, or nothing, is a fair answer
    if kind == "default" and _returns_true(site.body):
        return None  # ``return True`` on success: the None is a failure flag, not an answer
    return Verdict(Severity.WARNING, what, stmt, kind)


def _then(silent: tuple[ast.stmt, str, str] | None) -> str:
    """What a logging handler does next: "returns None", "skips the item", "carries on"."""
    stmt = silent[0] if silent else None
    if isinstance(stmt, ast.Return):
        shown = ast.unparse(stmt.value) if stmt.value is not None else "None"
        return _literal(f"returns {shown}")
    return "skips the item" if isinstance(stmt, ast.Continue) else "carries on"


def _fail_open(function: str, stmt: ast.Return, value: bool) -> Verdict | None:
    """A predicate that answers "not revoked" or "allowed" when its check failed."""
    words = DENY_WORDS if value is False else ALLOW_WORDS
    if not any(word in function.lower() for word in words):
        return None  # ``return False`` from ``cancel_query`` means "it failed": a fair answer
    what = f"returns {value} from `{function}` on every error, including {{cause}}, so the check fails open"
    return Verdict(Severity.WARNING, what, stmt, "fail-open")


def _deliberate(source: SourceFile, site: Site) -> bool:
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


class _Facts:
    """What the handler body does, gathered in one pass over its statements."""

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
        for stmt in self._flatten(handler.body):
            self._visit(stmt)

    def _flatten(self, body: list[ast.stmt]) -> Iterator[ast.stmt]:
        """The simple statements of the handler, through ifs, loops, withs and tries."""
        for stmt in body:
            if isinstance(stmt, (ast.If, ast.While)):
                # ``if isinstance(err, Timeout):`` or ``if err.code < 500:`` is a decision about the error.
                self.keeps_error = self.keeps_error or self._uses_error(stmt.test)
            if isinstance(stmt, (ast.If, ast.For, ast.AsyncFor, ast.While)):
                yield from self._flatten(stmt.body)
                yield from self._flatten(stmt.orelse)
            elif isinstance(stmt, (ast.Try, ast.TryStar)):
                yield from self._flatten(stmt.body)
                for handler in stmt.handlers:
                    yield from self._flatten(handler.body)
                yield from self._flatten(stmt.orelse)
                yield from self._flatten(stmt.finalbody)
            elif isinstance(stmt, (ast.With, ast.AsyncWith)):
                yield from self._flatten(stmt.body)
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
        self.keeps_error = self.keeps_error or self._uses_error(node)

    def _raise(self, stmt: ast.Raise) -> None:
        exc, cause = stmt.exc, stmt.cause
        reraise = isinstance(exc, ast.Name) and exc.id == self.name
        chained = cause is not None and not (isinstance(cause, ast.Constant) and cause.value is None)
        if exc is None or reraise or chained or _callee(exc).rsplit(".", 1)[-1] in EXIT_EXCEPTIONS:
            self.propagates = True
            return
        meaning = _meaning(exc)
        if meaning is None:
            self.other_work = True  # a server error still reads as one
        elif self.translation is None:
            hides = " and hides the cause with `from None`" if cause else ""
            self.translation = (stmt, _exception_name(exc) + hides, meaning)

    def _return(self, stmt: ast.Return) -> None:
        value = stmt.value
        status = _status(value)
        if status is not None:
            self.translation = self.translation or (stmt, f"a {status} response", _status_meaning(status))
        elif value is None:
            self._silent(stmt, "returns silently on every error, including {cause}", "default")
        elif isinstance(value, ast.Constant) and isinstance(value.value, bool):
            self.boolean = self.boolean or (stmt, value.value)
        elif _is_default(value):
            shown = _literal(ast.unparse(value))
            self._silent(
                stmt,
                f"returns {shown} on every error, including {{cause}}, which callers read as a real answer",
                "default",
            )
        else:
            self._work(value)

    def _call(self, stmt: ast.stmt, call: ast.Call) -> None:
        callee = _callee(call)
        last = callee.rsplit(".", 1)[-1]
        if _logs_traceback(call):
            self.traceback = True
        elif callee in EXIT_CALLS:
            self.propagates = True
        elif last == "warn" and "log" not in callee.lower():
            self.warns = True  # ``warnings.warn``
        elif last == "abort" and call.args and (status := _status_code(call.args[0])) is not None:
            if 400 <= status < 500:
                self.translation = self.translation or (stmt, f"a {status} response", _status_meaning(status))
        elif (last in LOG_METHODS and "log" in callee.lower()) or callee in ECHO_CALLS:
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
        if isinstance(current, ast.Call) and _callee(current) in TEXT_CALLS:
            continue
        yield current
        stack.extend(ast.iter_child_nodes(current))


def _logs_traceback(call: ast.Call) -> bool:
    """``logger.exception(...)``, ``exc_info=True``, or ``traceback.format_exc()`` among the arguments."""
    for keyword in call.keywords:
        if keyword.arg in ("exc_info", "exception"):
            return not (isinstance(keyword.value, ast.Constant) and keyword.value.value in (False, None))
    return any(
        isinstance(node, ast.Call) and _callee(node).rsplit(".", 1)[-1] in TRACEBACK_CALLS
        for node in ast.walk(call)
    )


# --- names, statuses and values --------------------------------------------


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else node.attr
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    return ""


def _callee(node: ast.expr | None) -> str:
    if node is None:
        return ""
    return _dotted(node.func if isinstance(node, ast.Call) else node)


def _literal(text: str) -> str:
    """Source text made safe for ``str.format``."""
    return text.replace("{", "{{").replace("}", "}}")


def _meaning(exc: ast.expr) -> str | None:
    """What a caller will take the new exception for, if it blames the client."""
    if isinstance(exc, ast.Call):
        status = _status_argument(exc)
        if status is not None:
            return _status_meaning(status) if 400 <= status < 500 else None
    words = _callee(exc).lower()
    if isinstance(exc, ast.Call):
        words += " " + " ".join(_dotted(k.value).lower() for k in exc.keywords if k.arg == "error_code")
    for needles, meaning in CLIENT_MEANINGS:
        if any(needle in words for needle in needles):
            return meaning
    return None


def _status_meaning(status: int) -> str:
    return STATUS_MEANINGS.get(status, "bad input")


def _exception_name(node: ast.expr) -> str:
    name = _callee(node) or ast.unparse(node)
    status = _status_argument(node) if isinstance(node, ast.Call) else None
    return f"{name}({status})" if status is not None else name


def _status(value: ast.expr | None) -> int | None:
    """A 4xx status the returned value carries: ``JSONResponse(status_code=401)``, ``(body, 400)``."""
    code: int | None = None
    if isinstance(value, ast.Call):
        code = _status_argument(value)
    elif isinstance(value, ast.Tuple) and len(value.elts) >= 2:
        code = _status_code(value.elts[1])
    return code if code is not None and 400 <= code < 500 else None


def _status_argument(call: ast.Call) -> int | None:
    for keyword in call.keywords:
        if keyword.arg in ("status_code", "status"):
            return _status_code(keyword.value)
    name = _callee(call).rsplit(".", 1)[-1]
    if name == "HTTPException" and call.args:
        return _status_code(call.args[0])
    if match := RESPONSE_METHOD.match(name):
        return int(match.group(1))
    return DJANGO_RESPONSES.get(name)


def _status_code(node: ast.expr) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.Attribute) and node.attr.startswith("HTTP_") and node.attr[5:8].isdigit():
        return int(node.attr[5:8])  # status.HTTP_401_UNAUTHORIZED
    return None


def _is_default(value: ast.expr) -> bool:
    """A value callers cannot tell from a real answer: ``None``, ``0``, ``""``, ``[]``, ``{}``."""
    if isinstance(value, ast.Constant):
        return value.value is None or value.value in (0, "", b"")
    if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
        return not value.elts
    if isinstance(value, ast.Dict):
        return not value.keys
    if isinstance(value, ast.Call):
        return _callee(value) in ("list", "dict", "set", "tuple") and not value.args and not value.keywords
    return False


# --- the hit ---------------------------------------------------------------


def _hit(source: SourceFile, site: Site, verdict: Verdict, change: FileChange | None) -> Hit | None:
    """On the except line; in a diff whose except line is old, on the added statement that made it risky."""
    handler = site.handler
    clause_end = (handler.type.end_lineno or handler.lineno) if handler.type else handler.lineno
    message = _message(site, verdict)
    # Survives edits of the handler body that keep what it does, such as a new log message.
    key = f"{source.segment(handler.lineno, clause_end)}\n{verdict.kind}"
    if change is not None and not change.any_added(handler.lineno, clause_end):
        culprit = verdict.culprit
        end = culprit.end_lineno or culprit.lineno
        if not change.any_added(culprit.lineno, end):
            return None
        return Hit(
            culprit.lineno,
            message,
            end_line=end,
            column=culprit.col_offset + 1,
            severity=verdict.severity,
            statement=(handler.lineno, end),  # so a suppression on the except line still applies
            fingerprint_key=key,
        )
    return Hit(
        handler.lineno,
        message,
        end_line=clause_end,
        column=handler.col_offset + 1,
        severity=verdict.severity,
        suggestion=_suggestion(source, handler),
        statement=(handler.lineno, clause_end),
        fingerprint_key=key,
    )


def _message(site: Site, verdict: Verdict) -> str:
    handler = site.handler
    broad = _broad_names(handler.type, frozenset()) or []
    clause = "bare `except:`" if handler.type is None else f"`except {ast.unparse(handler.type)}`"
    text = f"{clause} {verdict.what}"
    redundant = _redundant(handler.type, broad)
    if redundant:
        text += f"; `{broad[0]}` makes {', '.join(f'`{name}`' for name in redundant)} redundant"
    elif verdict.kind in ("swallow", "default") and (handler.type is None or "BaseException" in broad):
        text += "; it also catches KeyboardInterrupt and task cancellation"
    return text


def _suggestion(source: SourceFile, handler: ast.ExceptHandler) -> Suggestion | None:
    """Drop the broad type from a one-line tuple whose other types it made redundant."""
    node = handler.type
    if not isinstance(node, ast.Tuple) or node.end_lineno != node.lineno or node.end_col_offset is None:
        return None
    broad = _broad_names(node, frozenset()) or []
    kept = [element for element in node.elts if _dotted(element) not in broad]
    if not kept or len(_redundant(node, broad)) != len(kept):
        return None
    texts = [ast.unparse(element) for element in kept]
    new = texts[0] if len(texts) == 1 else f"({', '.join(texts)})"
    title = f"Catch only {', '.join(texts)}"
    return replace_span(source, node.lineno, node.col_offset, node.lineno, node.end_col_offset, new, title)
