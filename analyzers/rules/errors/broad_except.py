"""FL001 broad-except: a handler that catches everything and changes what the failure means."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import ClassVar

from faultline.analyzers.core.changes import FileChange
from faultline.analyzers.core.context import Context
from faultline.analyzers.core.findings import Hit, Severity, Suggestion
from faultline.analyzers.core.rule import Invalid, Rule, Valid, replace_span
from faultline.analyzers.core.source import SourceFile
from faultline.analyzers.languages import python
from faultline.analyzers.lib.python.nodes import dotted_name, span
from faultline.analyzers.lib.python.outages import NETWORK_FAILURE, outage, project_modules, writes
from faultline.analyzers.lib.python.raises import raised_by
from faultline.analyzers.rules.errors.handlers import (
    Handling,
    Site,
    broad_names,
    catches_exit,
    deliberate,
    literal,
    redundant,
    set_up_call,
    shadowed,
    silenced,
    sites,
)

# A predicate that answers "not revoked" or "allowed" on every error fails open.
DENY_WORDS = ("blacklist", "blocklist", "blocked", "revoked", "banned", "locked", "expired", "suspended")
ALLOW_WORDS = ("allowed", "permitted", "authorized", "authenticated", "verified")
# ``verify_url``: a failed call is the answer such a function exists to give.
PROBE_PREFIXES = ("verify", "check", "test", "ping", "probe", "health")
LOG_ADVICE = "use `logger.exception` to keep the traceback"
SET_UP_ADVICE = "use `logger.exception`, or let start-up fail"
EXIT_NOTE = "it also catches KeyboardInterrupt, SystemExit and task cancellation"


@dataclass(frozen=True)
class Verdict:
    severity: Severity
    what: str  # what the handler does with every error
    culprit: ast.stmt  # the statement that makes it a risk
    kind: str  # translate | fail-open | default | swallow | log | handle | set-up
    catch: tuple[str, ...] = ()  # the exceptions the try block's calls raise, when all are known
    catches_exit: bool = False  # bare or BaseException: KeyboardInterrupt and SystemExit too


class BroadExcept(Rule):
    """
    ## What it does
    Checks for `except:`, `except Exception` and `except BaseException` (alone or
    in a tuple) around a database or network call, or in a tuple beside the
    specific types the author meant (`except (JWTError, Exception)`), whose
    handler changes what the failure means: it raises a client error (`HTTPException(401)`, `ValueError`)
    without `from`, returns a value such as `None` or `[]` that callers will read
    as a real answer, or swallows the error.

    A call reaches a database or another service by its receiver or name
    (`session.execute`, `self.con.execute`, `requests.post`, `send_email`,
    `smtplib.SMTP`, `email_service.send_reset`), by the session or connection it is
    handed (`fix_migration_data(session)`), or by the project module it comes from
    (`from .database import load_user`).

    Also reported, whatever the try block calls:
    - a bare `except:` or `except BaseException:` that does not re-raise: a warning
      when it swallows the error or returns a default, a notice when it logs or
      handles it and carries on; left alone when it raises another error, keeps
      `sys.exc_info()`, re-raises through a context manager (`util.safe_reraise()`),
      a comment or the function's name (`_safe_submit`) says it is meant, or a linter
      was told to let it be (`# noqa: E722`, `# noqa: BLE001`);
    - `except Exception:` that swallows or returns a default around code whose
      calls say which errors were meant (`float(raw)`, `json.loads(text)`): a notice;
    - a set-up step (`setup_tracing(app)`, `init_sentry()`) whose failure is logged
      by its message only, or swallowed, while start-up carries on: a notice.

    ## Why is this risky?
    A broad handler catches the failures its author did not think of: a database
    outage, a timeout, a bug. When it turns them into `HTTPException(401)`, an
    outage logs every user out with "invalid credentials" and no alert fires; when
    it returns `None` or passes, the caller carries on with a wrong answer and the
    traceback is gone. In a tuple such as `except (JWTError, Exception):` the
    `Exception` makes `JWTError` redundant, which is almost always a mistake.
    A bare `except:` also catches `KeyboardInterrupt`, `SystemExit` and task
    cancellation: Ctrl-C, `sys.exit()` and a worker's shutdown are swallowed with the
    rest. Around `float(raw)`, `except Exception` hides a bug (a `None` where a
    string was expected) behind the `ValueError` it was meant for. A service whose
    tracing set-up failed starts anyway, without tracing, and nobody knows why.

    A client error is an error (a warning when the traceback is logged first); a
    default answer or a swallowed error is a warning; a handler that logs only
    the message and carries on is a notice. Not reported: handlers that re-raise
    (`raise`, `raise X from err`, `sys.exit(1)`), log the traceback
    (`logger.exception`, `exc_info=True`), warn, or keep the error
    (`errors.append(err)`, `future.set_exception(err)`); `except Exception:` around
    code that calls neither a database nor another service, unless its calls name
    the errors it meant; and, unless they raise a client error, handlers explained
    by a comment, in cleanup code, or around optional imports (a bare clause in cleanup
    code or around an import is still reported: `Exception` or `ImportError` is what
    was meant).

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
    and the tuple sits on one line (a comment after it is kept). For a bare
    `except:` or `except BaseException:`, the suggestion names the exceptions the
    try block's calls raise on bad input (from a table of well-known callables:
    `int`, `float`, `json.loads`, `open`, `Path.read_text`, `uuid.UUID`, ...) when
    every call there is in the table, else `Exception`; for `except Exception:`
    around such calls, it names those exceptions. The errors the handler used to
    hide will then propagate: that is the point, but check that a caller or an
    error handler above deals with them. Since behaviour changes, `faultline fix`
    leaves it to review.
    """

    code = "FL001"
    slug = "broad-except"
    severity = Severity.ERROR
    summary = "A broad `except` changes what a failure means"
    production_only = True
    compare_base = True
    # Not plain b"except": the Apache licence header ("except in compliance
    # with the License") would send every file of such a project to the parser.
    needles = (
        b"except:",
        b"except :",
        b"except(",
        b"except (",
        b"except*",
        b"except Exception",
        b"except BaseException",
        b"except builtins.",
        # ``except JWTError, Exception:`` (PEP 758, Python 3.14)
        b", Exception",
        b", BaseException",
    )

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
        # Calls nobody can name the errors of: the author may have meant everything.
        Valid(
            "def render(page):\n    try:\n        return template.render(page)\n"
            "    except Exception:\n        return ''\n"
        ),
        # ``is_number`` style predicates that only parse: a fair answer.
        Valid(
            "def parse(raw):\n    try:\n        return int(raw)\n"
            "    except Exception:\n        log.error('bad %s', raw)\n"
        ),
        # A set-up step whose traceback is logged.
        Valid("try:\n    setup_tracing(app)\nexcept Exception:\n    logger.exception('tracing is off')\n"),
        # A bare clause that re-raises, by itself or through SQLAlchemy's context manager.
        Valid("try:\n    run()\nexcept:\n    cleanup()\n    raise\n"),
        Valid("try:\n    self.commit()\nexcept:\n    with util.safe_reraise():\n        self.rollback()\n"),
        # The error is kept for later; a linter was told, or a comment says, it is meant.
        Valid("try:\n    run()\nexcept:\n    failure = sys.exc_info()\n"),
        Valid("try:\n    run()\nexcept:  # noqa: E722\n    pass\n"),
        Valid(
            "try:\n    flush()\nexcept BaseException:\n    # os._exit() must run whatever happens\n    pass\n"
        ),
        Valid("try:\n    clone(url)\nexcept BaseException as e:\n    raise SyncError(str(e))\n"),
        # Diff mode: the handler was there before; only the try block changed.
        Valid(
            "try:\n    db.commit(2)\nexcept Exception:\n    pass\n",
            base="try:\n    db.commit(1)\nexcept Exception:\n    pass\n",
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        # Report item 5, as the report shows it.
        Invalid(
            'if os.getenv("ENABLE_OTEL", "true").lower() == "true":\n'
            "    try:\n"
            "        setup_tracing(app, service_name=settings.PROJECT_NAME)\n"
            "    except Exception as e:\n"
            '        logger.error("Failed to setup tracing", error=str(e))  # Just logs and continues\n',
            line=4,
            severity=Severity.NOTICE,
            message="logs only the message when `setup_tracing` fails and start-up carries on",
        ),
        # A bare clause in a new function, around no database or network call.
        Invalid(
            "import json\nfrom pathlib import Path\n\n\ndef load(p):\n"
            "    try:\n        return json.loads(Path(p).read_text())\n    except:\n        pass\n",
            line=8,
            severity=Severity.WARNING,
            message="it also catches KeyboardInterrupt, SystemExit and task cancellation",
            suggestion="    except (ValueError, OSError):",
        ),
        Invalid(
            "def lookup(key):\n    try:\n        return registry.find(key)\n"
            "    except:\n        return None\n",
            line=4,
            severity=Severity.WARNING,
            message="bare `except:` returns None on every error",
            suggestion="    except Exception:",
        ),
        Invalid(
            "def warm():\n    try:\n        cache.fill()\n"
            "    except:\n        logger.warning('warm-up failed')\n",
            line=4,
            severity=Severity.NOTICE,
            message="catch `Exception` at most",
            suggestion="    except Exception:",
        ),
        # ``except Exception`` around a parse: the calls say which errors were meant.
        Invalid(
            "def ratio(raw):\n    try:\n        return float(raw)\n"
            "    except Exception:\n        return None\n",
            line=4,
            severity=Severity.NOTICE,
            message="the calls here raise `ValueError`, `TypeError`: catch those",
            suggestion="    except (ValueError, TypeError):",
        ),
        # Outages read off more than the callee's name.
        Invalid(
            "def upgrade(session):\n    try:\n        fix_migration_data(session)\n"
            "    except Exception:\n        pass\n",
            line=4,
            severity=Severity.WARNING,
            message="including a database outage",
        ),
        Invalid(
            "class Store:\n    def purge(self):\n        try:\n            self.con.execute(PURGE)\n"
            "        except Exception:\n            pass\n",
            line=5,
            severity=Severity.WARNING,
            message="including a database outage",
        ),
        Invalid(
            "def welcome(user):\n    try:\n        email_service.send_welcome(user)\n"
            "    except Exception:\n        pass\n",
            line=4,
            severity=Severity.WARNING,
            message="including a network failure",
        ),
        Invalid(
            "from .database import load_user\n\n\ndef user(uid):\n    try:\n        return load_user(uid)\n"
            "    except Exception:\n        return None\n",
            line=7,
            severity=Severity.WARNING,
            message="returns None on every error, including a database outage",
        ),
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
            suggestion="except Exception:",
        ),
        Invalid(
            "for item in items:\n    try:\n        requests.post(url, json=item)\n"
            "    except BaseException:\n        continue\n",
            line=4,
            severity=Severity.WARNING,
            message="skips the item on every error, including a network failure",
            suggestion="    except Exception:",
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
        if not _may_catch_broadly(source.data):
            return  # every clause the needles found is a tuple of specific exceptions
        tree = python.module(source)
        rebound = shadowed(tree)
        modules = project_modules(tree, source.path)
        change = None if ctx.whole_files else ctx.changes.get(source.path)
        for site in sites(tree.body, "", cleanup=False):
            broad = broad_names(site.handler.type, rebound)
            if broad is None:
                continue
            verdict = _judge(source, site, broad, modules)
            hit = _hit(source, site, verdict, change) if verdict else None
            if hit is not None:
                yield hit


_TUPLE_OPENERS = (b"except(", b"except (")
_TUPLE_CLAUSE = re.compile(rb"except\s*\(")


def _may_catch_broadly(data: bytes) -> bool:
    """Whether a clause may catch a broad class, from the bytes: ``except (KeyError, ValueError):``
    cannot, and is most of what the needle ``except (`` lets in. A tuple is read up to its
    closing parenthesis; one that names ``Exception`` in any form (``BaseException``,
    ``builtins.Exception``, a name that holds it), holds a string or is not closed is parsed."""
    if any(needle in data for needle in BroadExcept.needles if needle not in _TUPLE_OPENERS):
        return True
    for clause in _TUPLE_CLAUSE.finditer(data):
        inside = _parenthesised(data, clause.end())
        if inside is None or b"Exception" in inside or b'"' in inside or b"'" in inside:
            return True
    return False


def _parenthesised(data: bytes, start: int) -> bytes | None:
    """The bytes from ``start`` (just after an opening parenthesis) to its closing one."""
    depth = 1
    for at in range(start, min(len(data), start + 4096)):
        char = data[at]
        if char == 40:  # (
            depth += 1
        elif char == 41:  # )
            depth -= 1
            if depth == 0:
                return data[start:at]
    return None


# --- what the handler does with the failure --------------------------------


def _judge(source: SourceFile, site: Site, broad: list[str], modules: dict[str, str]) -> Verdict | None:
    handling = Handling(site.handler)
    if handling.propagates or handling.keeps_error:
        return None
    everything = catches_exit(site.handler, broad)
    # Only a call to a database or another service makes an outage likely; a
    # redundant tuple shows the author meant the specific types only.
    cause = outage(site.body, modules)
    has_redundant = bool(redundant(site.handler.type, broad))
    verdict = None
    chosen = everything and _left_alone(source, site, handling)
    if handling.warns or (chosen and cause is None):
        pass  # ``warnings.warn``: seen, and a bare clause is still reported below
    elif cause is not None or has_redundant or everything:
        verdict = _verdict(source, site, handling, cause, has_redundant)
    else:
        verdict = _set_up(site, handling) or _no_io(source, site, handling)
    if verdict is None and everything and not chosen:
        verdict = _everything(site, handling)
    if verdict is None:
        return None
    what = verdict.what.format(cause=cause or "a bug", short="an outage" if cause else "a bug")
    catch = tuple(raised_by(site.body) or ()) if everything or verdict.catch else ()
    return replace(verdict, what=what, catch=catch, catches_exit=everything)


def _everything(site: Site, handling: Handling) -> Verdict:
    """A bare ``except:`` or ``except BaseException:`` the other verdicts let pass:
    explained by a comment, in cleanup code, logged, or around no call out. It
    still catches KeyboardInterrupt and SystemExit."""
    first = site.handler.body[0]
    if handling.silent is not None:
        stmt, what, kind = handling.silent
        return Verdict(Severity.WARNING, what, stmt, kind)
    if handling.boolean is not None:
        stmt, value = handling.boolean
        return Verdict(
            Severity.WARNING, f"returns {value} on every error, including {{cause}}", stmt, "default"
        )
    if handling.log is not None or handling.traceback or handling.warns:
        return Verdict(Severity.NOTICE, "logs every error and carries on", handling.log or first, "log")
    if handling.other_work:
        return Verdict(Severity.NOTICE, "handles every error and carries on", first, "handle")
    return Verdict(
        Severity.WARNING, "swallows every error, including {cause}, without a trace", first, "swallow"
    )


def _left_alone(source: SourceFile, site: Site, handling: Handling) -> bool:
    """A bare clause around no call out that the author chose knowingly: it raises
    another error, a comment or the function's name explains it, or a linter was told
    to let it be. An optional import is still reported: ``ImportError`` is what was meant."""
    if handling.raises or silenced(source, site):
        return True
    optional_import = any(isinstance(stmt, (ast.Import, ast.ImportFrom)) for stmt in site.body)
    return deliberate(source, site) and not optional_import


def _set_up(site: Site, handling: Handling) -> Verdict | None:
    """Report item 5: ``setup_tracing(app)`` fails, the handler logs the message, start-up carries on."""
    step = set_up_call(site.body)
    if step is None or handling.traceback or handling.other_work or handling.translation or site.cleanup:
        return None
    if handling.log is not None:
        what = f"logs only the message when `{step}` fails"
        stmt = handling.log
    elif handling.silent is not None and handling.silent[2] == "swallow":
        what = f"swallows every error of `{step}`"
        stmt = handling.silent[0]
    else:
        return None
    what += f" and start-up carries on: the service runs without it and nobody knows why; {SET_UP_ADVICE}"
    return Verdict(Severity.NOTICE, literal(what), stmt, "set-up")


def _no_io(source: SourceFile, site: Site, handling: Handling) -> Verdict | None:
    """``except Exception: return None`` around ``float(raw)``: the calls say which
    errors were meant, and a bug (a ``None`` where a string was expected) is swallowed too."""
    if handling.translation or handling.traceback or handling.other_work or handling.log:
        return None
    if site.cleanup or deliberate(source, site):
        return None
    catch = raised_by(site.body)
    if catch is None:
        return None  # nothing known: the author may have meant everything
    if handling.boolean is not None:
        returned, value = handling.boolean
        what = f"returns {value} on every error, including {{cause}}"
        return Verdict(Severity.NOTICE, what, returned, "default", catch=tuple(catch))
    if handling.silent is None:
        return None
    stmt, what, kind = handling.silent
    return Verdict(Severity.NOTICE, what, stmt, kind, catch=tuple(catch))


def _verdict(
    source: SourceFile, site: Site, handling: Handling, cause: str | None, has_redundant: bool
) -> Verdict | None:
    """What the handler does, as a template with ``{cause}`` and ``{short}`` left to fill."""
    if handling.translation is not None:
        if cause == NETWORK_FAILURE and site.function.lower().startswith(PROBE_PREFIXES):
            return None  # ``verify_url``: a failed call is the answer it exists to give
        stmt, target, meaning = handling.translation
        what = f"turns every error, including {{cause}}, into {target}, so {{short}} will look like {meaning}"
        # Logged with its traceback, the outage is at least seen. With no call out
        # it may only be a bug, unless a redundant tuple (``except (JWTError,
        # Exception)``) shows the author meant to catch the specific types only.
        severity = Severity.ERROR if (cause or has_redundant) and not handling.traceback else Severity.WARNING
        return Verdict(severity, what, stmt, "translate")
    if handling.traceback or handling.other_work or site.cleanup or deliberate(source, site):
        return None
    if handling.boolean is not None:
        return _fail_open(site.function, *handling.boolean)
    if handling.log is not None:
        then = _then(handling.silent)
        what = f"logs only the message of every error, including {{cause}}, and {then}; {LOG_ADVICE}"
        return Verdict(Severity.NOTICE, what, handling.log, "log")
    if handling.silent is None:
        return None
    stmt, what, kind = handling.silent
    if cause == NETWORK_FAILURE and (kind == "default" or not writes(site.body)):
        return None  # remote data that may be unavailable: None, or nothing, is a fair answer
    if kind == "default" and _returns_true(site.body):
        return None  # ``return True`` on success: the None is a failure flag, not an answer
    return Verdict(Severity.WARNING, what, stmt, kind)


def _then(silent: tuple[ast.stmt, str, str] | None) -> str:
    """What a logging handler does next: "returns None", "skips the item", "carries on"."""
    stmt = silent[0] if silent else None
    if isinstance(stmt, ast.Return):
        shown = ast.unparse(stmt.value) if stmt.value is not None else "None"
        return literal(f"returns {shown}")
    return "skips the item" if isinstance(stmt, ast.Continue) else "carries on"


def _fail_open(function: str, stmt: ast.Return, value: bool) -> Verdict | None:
    """A predicate that answers "not revoked" or "allowed" when its check failed."""
    words = DENY_WORDS if value is False else ALLOW_WORDS
    if not any(word in function.lower() for word in words):
        return None  # ``return False`` from ``cancel_query`` means "it failed": a fair answer
    what = f"returns {value} from `{function}` on every error, including {{cause}}, so the check fails open"
    return Verdict(Severity.WARNING, what, stmt, "fail-open")


def _returns_true(body: list[ast.stmt]) -> bool:
    return any(
        isinstance(node, ast.Return) and isinstance(node.value, ast.Constant) and node.value.value is True
        for stmt in body
        for node in ast.walk(stmt)
    )


# --- the hit ---------------------------------------------------------------


def _hit(source: SourceFile, site: Site, verdict: Verdict, change: FileChange | None) -> Hit | None:
    """On the except line; in a diff whose except line is old, on the added statement that made it risky."""
    handler = site.handler
    clause_end = (handler.type.end_lineno or handler.lineno) if handler.type else handler.lineno
    message = _message(site, verdict)
    # Survives edits of the handler body that keep what it does, such as a new log
    # message, and a renamed function (version 1 had its name in the key).
    key = f"{source.segment(handler.lineno, clause_end)}\n{verdict.kind}"
    key_v1 = f"{site.function}\n{key}"
    if change is not None and not change.any_added(handler.lineno, clause_end):
        culprit = verdict.culprit
        line, end = span(culprit)
        if not change.any_added(line, end):
            return None
        return Hit(
            line,
            message,
            end_line=end,
            column=culprit.col_offset + 1,
            severity=verdict.severity,
            statement=(handler.lineno, end),  # so a suppression on the except line still applies
            fingerprint_key=key,
            fingerprint_key_v1=key_v1,
        )
    return Hit(
        handler.lineno,
        message,
        end_line=clause_end,
        column=handler.col_offset + 1,
        severity=verdict.severity,
        suggestion=_suggestion(source, handler, verdict),
        statement=(handler.lineno, clause_end),
        fingerprint_key=key,
        fingerprint_key_v1=key_v1,
    )


def _message(site: Site, verdict: Verdict) -> str:
    handler = site.handler
    broad = broad_names(handler.type, frozenset()) or []
    clause = "bare `except:`" if handler.type is None else f"`except {ast.unparse(handler.type)}`"
    text = f"{clause} {verdict.what}"
    needless = redundant(handler.type, broad)
    if needless:
        return text + f"; `{broad[0]}` makes {', '.join(f'`{name}`' for name in needless)} redundant"
    if verdict.catches_exit:
        text += f"; {EXIT_NOTE}"
    if verdict.catch and verdict.kind != "translate":
        names = ", ".join(f"`{name}`" for name in verdict.catch)
        text += f"; the calls here raise {names}: catch those"
    elif verdict.catches_exit:
        text += "; catch `Exception` at most"
    return text


def _suggestion(source: SourceFile, handler: ast.ExceptHandler, verdict: Verdict) -> Suggestion | None:
    """The exceptions the calls raise (else ``Exception``) for a bare or ``BaseException``
    clause, those exceptions for ``except Exception`` around no I/O, or the tuple
    without the broad type that made its other types redundant."""
    node = handler.type
    if not isinstance(node, ast.Tuple) and (
        verdict.catches_exit or (verdict.catch and verdict.kind != "translate")
    ):
        return _narrowed(source, handler, verdict)
    if not isinstance(node, ast.Tuple) or node.end_lineno != node.lineno or node.end_col_offset is None:
        return None
    broad = broad_names(node, frozenset()) or []
    kept = [element for element in node.elts if dotted_name(element) not in broad]
    if not kept or len(redundant(node, broad)) != len(kept):
        return None
    texts = [ast.unparse(element) for element in kept]
    new = texts[0] if len(texts) == 1 else f"({', '.join(texts)})"
    title = f"Catch only {', '.join(texts)}"
    return replace_span(source, node.lineno, node.col_offset, node.lineno, node.end_col_offset, new, title)


def _narrowed(source: SourceFile, handler: ast.ExceptHandler, verdict: Verdict) -> Suggestion | None:
    """``except:`` → ``except (OSError, json.JSONDecodeError):``, or ``except Exception:``."""
    names = verdict.catch or ("Exception",)
    new = names[0] if len(names) == 1 else f"({', '.join(names)})"
    title = f"Catch {', '.join(names)}"
    node = handler.type
    if node is None:
        line = source.line(handler.lineno).encode()
        start = handler.col_offset + len(b"except")
        colon = line.find(b":", start)
        if colon < 0 or line[start:colon].strip():
            return None
        return replace_span(
            source, handler.lineno, handler.col_offset, handler.lineno, colon, f"except {new}", title
        )
    if node.end_lineno != node.lineno or node.end_col_offset is None:
        return None
    return replace_span(source, node.lineno, node.col_offset, node.lineno, node.end_col_offset, new, title)
