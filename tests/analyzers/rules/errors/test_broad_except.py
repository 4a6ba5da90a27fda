"""FL001 broad-except beyond its examples: messages, suggestions, diff mode, near-misses."""

from __future__ import annotations

import textwrap

import pytest

from faultline.analyzers.core.findings import Finding, Severity
from faultline.analyzers.core.rule import Valid
from faultline.analyzers.core.testing import run_example
from faultline.analyzers.rules.errors.broad_except import BroadExcept, _may_catch_broadly


def check(code: str, base: str | None = None, path: str = "app/service.py") -> list[Finding]:
    example = Valid(textwrap.dedent(code), path=path, base=None if base is None else textwrap.dedent(base))
    return run_example(BroadExcept, example)


def only(code: str, base: str | None = None) -> Finding:
    findings = check(code, base)
    assert len(findings) == 1, findings
    return findings[0]


def function(name: str, call: str, handler: str) -> str:
    """``def name():`` whose try block makes ``call`` and whose broad handler runs ``handler``."""
    return f"def {name}():\n    try:\n        {call}\n    except Exception:\n        {handler}\n"


AUTH = """\
    async def current_user(token, session):
        try:
            payload = jwt.decode(token, KEY)
            return await session.get(User, payload["sub"])
        except {clause}:
            {body}
    """


def auth(clause: str, body: str) -> str:
    return AUTH.format(clause=clause, body=body)


def test_the_report_case_names_the_types_the_outage_and_the_status() -> None:
    finding = only(auth("(JWTError, Exception)", "raise HTTPException(status_code=401, detail='bad token')"))
    assert finding.severity is Severity.ERROR
    assert finding.line == 5
    assert finding.message == (
        "`except (JWTError, Exception)` turns every error, including a database outage, into "
        "HTTPException(401), so an outage will look like bad credentials; "
        "`Exception` makes `JWTError` redundant"
    )
    assert finding.suggestion is not None
    assert finding.suggestion.replacement == "    except JWTError:"
    assert (finding.suggestion.start_line, finding.suggestion.end_line) == (5, 5)


def test_status_constants_and_positional_status_are_read() -> None:
    assert (
        "HTTPException(401)"
        in only(auth("Exception", "raise HTTPException(status.HTTP_401_UNAUTHORIZED)")).message
    )
    assert "HTTPException(403)" in only(auth("Exception", "raise HTTPException(403)")).message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("abort(401)", "a 401 response"),
        ("return self.response_422(message='bad')", "a 422 response"),
        ("return jsonify(error='no'), 404", "a 404 response, so an outage will look like a missing record"),
        ("raise InvalidCredentials()", "InvalidCredentials, so an outage will look like bad credentials"),
        ("raise ValueError('bad token')", "ValueError, so an outage will look like bad input"),
        ("raise HTTPException(401) from None", "HTTPException(401) and hides the cause with `from None`"),
    ],
)
def test_client_errors_are_reported(body: str, expected: str) -> None:
    finding = only(auth("Exception", body))
    assert finding.severity is Severity.ERROR
    assert expected in finding.message


@pytest.mark.parametrize(
    "body",
    [
        "raise",
        "raise AuthError() from err",
        "raise HTTPException(status_code=503)",  # still a server error
        "raise ServiceUnavailable('try again')",
        "errors.append(err)",
        "self._error = err",
        "future.set_exception(err)",
        "return Failure(err)",
        "warnings.warn('no user')",
        "logger.exception('lookup failed')",
        "logger.error('lookup failed', exc_info=True)",
        "sentry_sdk.capture_exception()",
    ],
)
def test_handlers_that_keep_the_failure_visible_are_not_reported(body: str) -> None:
    assert check(auth("Exception as err", body)) == []


def test_a_decision_about_the_error_is_deliberate() -> None:
    code = auth("Exception as err", "if isinstance(err, Timeout):\n                return None")
    assert check(code) == []


def test_traceback_logged_before_a_client_error_lowers_it_to_a_warning() -> None:
    body = "logger.exception('lookup failed')\n            raise HTTPException(401)"
    assert only(auth("Exception", body)).severity is Severity.WARNING


def test_rollback_before_a_default_does_not_hide_it() -> None:
    finding = only(auth("Exception", "await session.rollback()\n            return None"))
    assert finding.severity is Severity.WARNING
    assert "returns None on every error, including a database outage" in finding.message


def test_logging_without_traceback_then_default_is_a_notice() -> None:
    finding = only(
        auth("Exception as err", "logger.warning('lookup failed: %s', err)\n            return []")
    )
    assert finding.severity is Severity.NOTICE
    assert "and returns []; use `logger.exception`" in finding.message


def test_bare_except_and_base_exception_mention_cancellation() -> None:
    assert (
        "KeyboardInterrupt, SystemExit and task cancellation"
        in only(auth("", "pass").replace("except :", "except:")).message
    )
    assert (
        "KeyboardInterrupt, SystemExit and task cancellation"
        in only(auth("BaseException", "return None")).message
    )


def test_builtins_exception_is_broad_and_a_shadowed_name_is_not() -> None:
    assert check(auth("builtins.Exception", "return None"))
    assert (
        check(
            "class Exception(RuntimeError):\n    pass\n\n" + textwrap.dedent(auth("Exception", "return None"))
        )
        == []
    )


def test_no_suggestion_when_the_tuple_also_holds_a_base_exception_subclass() -> None:
    finding = only(auth("(Exception, KeyboardInterrupt)", "raise HTTPException(401)"))
    assert finding.suggestion is None
    assert "redundant" not in finding.message


def test_base_exception_makes_every_other_type_redundant() -> None:
    finding = only(auth("(ValueError, KeyboardInterrupt, BaseException) as err", "raise HTTPException(401)"))
    assert "`BaseException` makes `ValueError`, `KeyboardInterrupt` redundant" in finding.message
    assert finding.suggestion is not None
    assert finding.suggestion.replacement == "    except (ValueError, KeyboardInterrupt) as err:"


def test_no_suggestion_for_a_tuple_over_several_lines() -> None:
    code = auth(
        "(\n        JWTError,  # expired or forged\n        Exception,\n    )", "raise HTTPException(401)"
    )
    finding = only(code)
    assert finding.line == 5
    assert finding.suggestion is None


def test_a_redundant_tuple_is_reported_even_without_a_call_out() -> None:
    finding = only("try:\n    n = int(text)\nexcept (ValueError, Exception):\n    return None\n")
    assert finding.severity is Severity.WARNING
    assert "including a bug" in finding.message


@pytest.mark.parametrize(
    "code",
    [
        # A pure computation: nothing there can be an outage.
        "try:\n    n = int(b64decode(token))\nexcept Exception:\n    raise HTTPException(status_code=400)\n",
        # An optional dependency at import time.
        "try:\n    import redis\n    cache = redis.Redis()\nexcept Exception:\n    cache = None\n",
        # Best effort in cleanup.
        function("close", "self.session.commit()", "pass"),
        function("_try_price", "return db.price(sku)", "return None"),
        # A probe exists to turn a failed call into "no".
        function("verify_url", "requests.get(url)", "raise HTTPException(400)"),
        # ``return True`` on success: the None is a failure flag.
        "def save(row):\n    try:\n        db.add(row)\n        db.commit()\n        return True\n"
        "    except Exception:\n        return None\n",
        # Remote metadata that may be missing.
        function("run_url", "return client.get_run(rid).url", "return None"),
        # A comment that explains the handler.
        "try:\n    db.commit()\nexcept Exception:  # the row is rebuilt on the next sync\n    pass\n",
    ],
)
def test_near_misses(code: str) -> None:
    assert check(code) == []


@pytest.mark.parametrize(
    "comment", ["# noqa: BLE001", "# pylint: disable=broad-except", "# TODO: narrow this"]
)
def test_tool_comments_do_not_explain_a_handler(comment: str) -> None:
    assert check(f"try:\n    db.commit()\nexcept Exception:  {comment}\n    pass\n")


def test_fail_open_needs_a_deny_or_allow_predicate() -> None:
    revoked = only(function("is_revoked", "return redis.get(jti)", "return False"))
    assert "returns False from `is_revoked` on every error, including a Redis outage" in revoked.message
    allowed = only(function("is_allowed", "return db.acl(user)", "return True"))
    assert "returns True from `is_allowed`" in allowed.message
    assert check(function("is_active", "return db.active(user)", "return False")) == []


def test_network_swallow_is_reported_only_for_a_write() -> None:
    loop = "for item in items:\n    try:\n        {call}\n    except Exception:\n        continue\n"
    assert only(loop.format(call="client.post(url, json=item)")).severity is Severity.WARNING
    assert check(loop.format(call="client.get(item)")) == []


def test_handlers_are_found_in_every_statement_body() -> None:
    code = """\
        class Store:
            def run(self, cmd):
                match cmd:
                    case "save":
                        with lock:
                            while True:
                                try:
                                    db.commit()
                                except Exception:
                                    pass
                    case _:
                        try:
                            db.commit()
                        except* Exception:
                            pass
        """
    assert [finding.line for finding in check(code)] == [9, 14]


def test_a_suppression_comment_on_the_except_line() -> None:
    code = "try:\n    db.commit()\nexcept Exception:  # faultline: ignore[broad-except]\n    pass\n"
    assert check(code) == []


def test_diff_mode_reports_a_handler_changed_to_swallow_on_the_new_line() -> None:
    base = auth("Exception", "raise")
    finding = only(auth("Exception", "return None"), base=base)
    assert finding.line == 6
    assert finding.severity is Severity.WARNING


def test_diff_mode_ignores_an_old_handler_whose_other_lines_changed() -> None:
    base = auth("Exception as err", "logger.info('old text')\n            raise HTTPException(401)")
    new = auth("Exception as err", "logger.info('new text')\n            raise HTTPException(401)")
    assert check(new, base=base) == []


def test_diff_mode_suppression_on_the_except_line_covers_the_new_line() -> None:
    base = auth("Exception:  # faultline: ignore[FL001]", "raise")
    assert check(auth("Exception:  # faultline: ignore[FL001]", "return None"), base=base) == []


def test_the_fingerprint_ignores_an_edited_log_message() -> None:
    first = only(auth("Exception as err", "logger.warning('failed: %s', err)"))
    second = only(auth("Exception as err", "logger.warning('lookup of the user failed: %s', err)"))
    assert first.fingerprint == second.fingerprint


def test_tests_are_skipped_unless_included() -> None:
    assert check(auth("Exception", "return None"), path="tests/test_auth.py") == []


@pytest.mark.parametrize(
    "clause",
    [
        "except (\n    KeyError,\n    Exception,\n):",
        "except (errors.lookup(code), Exception):",
        "except (builtins.BaseException, KeyError):",
    ],
)
def test_a_tuple_that_names_a_broad_class_is_read_however_it_is_written(clause: str) -> None:
    code = f"try:\n    db.commit()\n{clause}\n    pass\n"
    assert [finding.code for finding in check(code)] == ["FL001"]


def test_a_module_whose_tuples_name_specific_errors_is_not_parsed() -> None:
    specific = b"try:\n    db.commit()\nexcept (KeyError, ValueError):\n    pass\n"
    assert not _may_catch_broadly(specific)
    assert _may_catch_broadly(specific + b"try:\n    x()\nexcept:\n    pass\n")
    assert _may_catch_broadly(b"try:\n    x()\nexcept (KeyError, ValueError\n")  # not closed
    assert _may_catch_broadly(b"try:\n    x()\nexcept (errors[')'], KeyError):\n    pass\n")
