"""FL009 error-cause-dropped beyond its examples: statuses, what keeps the error, suggestions."""

from __future__ import annotations

import textwrap

import pytest

from faultline.analyzers.core.findings import Finding, Severity
from faultline.analyzers.core.rule import Valid
from faultline.analyzers.core.testing import run_example
from faultline.analyzers.rules.errors.error_cause_dropped import ErrorCauseDropped


def check(code: str, base: str | None = None) -> list[Finding]:
    example = Valid(
        textwrap.dedent(code), path="app/api.py", base=None if base is None else textwrap.dedent(base)
    )
    return run_example(ErrorCauseDropped, example)


def handler(body: str, clause: str = "except SearchError as exc:", call: str = "hits = search(q)") -> str:
    return f"def view(q):\n    try:\n        {call}\n    {clause}\n        {body}\n"


@pytest.mark.parametrize(
    "body",
    [
        "raise HTTPException(500, 'failed')",
        "raise HTTPException(status_code=status.HTTP_502_BAD_GATEWAY)",
        "raise HTTPException(status_code=HTTPStatus.INTERNAL_SERVER_ERROR)",
        "raise InternalServerError()",
        "abort(HTTPStatus.SERVICE_UNAVAILABLE)",
        "flask.abort(500, 'search failed')",
    ],
)
def test_server_errors_that_drop_the_cause(body: str) -> None:
    (finding,) = check(handler(body))
    assert "drops the caught error" in finding.message


@pytest.mark.parametrize(
    "body",
    [
        "logger.error(f'search failed: {exc}')\n        raise HTTPException(500)",
        "logger.exception('search failed')\n        abort(500)",
        "capture_exception()\n        raise HTTPException(500)",
        "raise HTTPException(500) from None",
        "raise HTTPException(404, 'no such index')",
        "raise HTTPException(status_code=code)",
        "raise SearchUnavailable(exc.args[0])",
        "def later():\n            raise HTTPException(500)\n        return later",
    ],
)
def test_handlers_that_keep_the_error_or_do_not_end_in_a_5xx(body: str) -> None:
    assert check(handler(body)) == []


def test_a_raise_inside_an_if_of_the_handler_is_read() -> None:
    body = "if retry:\n            return view(q)\n        raise HTTPException(500)"
    assert [f.line for f in check(handler(body))] == [7]


@pytest.mark.parametrize("detail", ["str(exc)", "f'search failed: {exc}'", "repr(exc)", "exc"])
def test_the_error_text_in_a_5xx_detail_leaks(detail: str) -> None:
    (finding,) = check(handler(f"raise HTTPException(status_code=500, detail={detail})"))
    assert "sends the caught exception's text to the client in a 500 response" in finding.message
    assert finding.suggestion is None


def test_the_error_text_in_a_4xx_detail_is_the_point() -> None:
    assert check(handler("raise HTTPException(status_code=422, detail=str(exc))")) == []


def test_other_errors_are_notices_around_calls_out_that_failed_by_an_outage() -> None:
    outage = handler("raise StoreError('save failed')", "except OperationalError:", "db.session.commit()")
    (finding,) = check(outage)
    assert "`raise StoreError` drops the caught error" in finding.message
    assert finding.severity is Severity.NOTICE
    answer = handler("raise StoreError('taken')", "except IntegrityError:", "db.session.commit()")
    parsing = handler("raise StoreError('bad')", "except Exception:", "value = table[key]")
    assert check(answer) == []
    assert check(parsing) == []


def test_client_errors_and_exits_are_not_other_errors() -> None:
    for body in ("raise NotFound('no case')", "raise ValidationError('bad')", "raise SystemExit(1)"):
        assert check(handler(body, "except DBError:", "db.session.get(Case, 1)")) == [], body


def test_import_errors_that_explain_a_missing_package() -> None:
    assert check(handler("raise HTTPException(500)", "except ImportError:", "import boto3")) == []


def test_no_suggestion_when_the_handler_has_no_type_or_the_raise_is_far_from_it() -> None:
    bare = check(handler("raise HTTPException(500)", "except:"))
    far = check(handler("cleanup()\n        raise HTTPException(500)", "except SearchError:"))
    taken = check(handler("exc = None\n        raise HTTPException(500)", "except SearchError:"))
    assert [f.suggestion for f in bare + far + taken] == [None, None, None]


def test_a_multi_line_raise_gets_no_suggestion() -> None:
    (finding,) = check(handler("raise HTTPException(\n            status_code=500,\n        )"))
    assert (finding.line, finding.end_line) == (5, 7)
    assert finding.suggestion is None


def test_the_suggestion_keeps_a_trailing_comment() -> None:
    (finding,) = check(handler("raise HTTPException(500)  # opaque on purpose?"))
    assert finding.suggestion is not None
    assert finding.suggestion.replacement == "        raise HTTPException(500) from exc  # opaque on purpose?"


def test_diff_mode_reports_a_new_raise_in_an_old_handler() -> None:
    base = handler("raise HTTPException(500) from exc")
    assert [f.line for f in check(handler("raise HTTPException(500)"), base=base)] == [5]
    assert (
        check(handler("raise HTTPException(500, 'x')"), base=handler("raise HTTPException(500, 'x')")) == []
    )


def test_a_suppression_comment_silences_it() -> None:
    assert check(handler("raise HTTPException(500)  # faultline: ignore[error-cause-dropped]")) == []


def test_a_specific_error_turned_into_a_message_that_names_what_failed() -> None:
    specific = handler(
        "raise ServiceUnavailable(f'cannot resolve {host}; set a primary IP')",
        "except socket.gaierror:",
        "host = socket.gethostbyname(name)",
    )
    broad = handler("raise ServiceUnavailable(f'lookup of {host} failed')", "except Exception:")
    assert check(specific) == []
    assert len(check(broad)) == 1
