"""FL001 broad-except: a handler that catches everything and changes what the failure means."""

from __future__ import annotations

import ast
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
from faultline.analyzers.lib.python.outages import NETWORK_FAILURE, outage, writes
from faultline.analyzers.rules.errors.handlers import (
    Handling,
    Site,
    broad_names,
    deliberate,
    literal,
    redundant,
    shadowed,
    sites,
)

# A predicate that answers "not revoked" or "allowed" on every error fails open.
DENY_WORDS = ("blacklist", "blocklist", "blocked", "revoked", "banned", "locked", "expired", "suspended")
ALLOW_WORDS = ("allowed", "permitted", "authorized", "authenticated", "verified")
# ``verify_url``: a failed call is the answer such a function exists to give.
PROBE_PREFIXES = ("verify", "check", "test", "ping", "probe", "health")
LOG_ADVICE = "use `logger.exception` to keep the traceback"


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
    in a tuple) around a database or network call, or in a tuple beside the
    specific types the author meant (`except (JWTError, Exception)`), whose
    handler changes what the failure means: it raises a client error (`HTTPException(401)`, `ValueError`)
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
    (`errors.append(err)`, `future.set_exception(err)`); a plain broad
    clause around code that calls neither a database nor another service; and, unless they raise a client
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
        tree = python.module(source)
        rebound = shadowed(tree)
        change = None if ctx.whole_files else ctx.changes.get(source.path)
        for site in sites(tree.body, "", cleanup=False):
            broad = broad_names(site.handler.type, rebound)
            if broad is None:
                continue
            verdict = _judge(source, site, broad)
            hit = _hit(source, site, verdict, change) if verdict else None
            if hit is not None:
                yield hit


# --- what the handler does with the failure --------------------------------


def _judge(source: SourceFile, site: Site, broad: list[str]) -> Verdict | None:
    handling = Handling(site.handler)
    if handling.propagates or handling.keeps_error or handling.warns:
        return None
    # Only a call to a database or another service makes an outage likely; a
    # redundant tuple shows the author meant the specific types only.
    cause = outage(site.body)
    has_redundant = bool(redundant(site.handler.type, broad))
    if cause is None and not has_redundant:
        return None
    verdict = _verdict(source, site, handling, cause, has_redundant)
    if verdict is None:
        return None
    what = verdict.what.format(cause=cause or "a bug", short="an outage" if cause else "a bug")
    return replace(verdict, what=what)


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
        suggestion=_suggestion(source, handler),
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
        text += f"; `{broad[0]}` makes {', '.join(f'`{name}`' for name in needless)} redundant"
    elif verdict.kind in ("swallow", "default") and (handler.type is None or "BaseException" in broad):
        text += "; it also catches KeyboardInterrupt and task cancellation"
    return text


def _suggestion(source: SourceFile, handler: ast.ExceptHandler) -> Suggestion | None:
    """Drop the broad type from a one-line tuple whose other types it made redundant."""
    node = handler.type
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
