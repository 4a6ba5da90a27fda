"""FL010 call-without-timeout beyond its examples: scopes, sessions, near-misses, diff mode."""

from __future__ import annotations

import textwrap

import pytest

from faultline.analyzers.core.findings import Finding
from faultline.analyzers.core.rule import Valid
from faultline.analyzers.core.testing import run_example
from faultline.analyzers.rules.network.call_without_timeout import CallWithoutTimeout


def check(code: str, base: str | None = None, path: str = "app/client.py") -> list[Finding]:
    example = Valid(textwrap.dedent(code), path=path, base=None if base is None else textwrap.dedent(base))
    return run_example(CallWithoutTimeout, example)


def lines(findings: list[Finding]) -> list[int]:
    return [finding.line for finding in findings]


def test_a_module_session_is_followed_into_functions_unless_rebound() -> None:
    code = """\
        import requests

        session = requests.Session()

        def fetch(url):
            return session.get(url)

        def other(session, url):
            return session.get(url)
        """
    assert lines(check(code)) == [6]


def test_a_session_opened_in_a_with_statement() -> None:
    code = """\
        import requests

        def fetch(urls):
            with requests.Session() as s:
                return [s.post(url, json={}) for url in urls]
        """
    assert lines(check(code)) == [5]


@pytest.mark.parametrize(
    "setup",
    [
        "s.mount('https://', TimeoutAdapter(timeout=5))",
        "s.request = functools.partial(s.request, timeout=5)",
    ],
)
def test_a_session_given_its_own_default_is_left_alone(setup: str) -> None:
    code = f"import requests\n\ns = requests.Session()\n{setup}\n\ndef fetch(url):\n    return s.get(url)\n"
    assert check(code) == []


def test_a_plain_retry_adapter_sets_no_timeout() -> None:
    code = (
        "import requests\nfrom requests.adapters import HTTPAdapter\n\ns = requests.Session()\n"
        "s.mount('https://', HTTPAdapter(max_retries=3))\ns.get(url)\n"
    )
    assert lines(check(code)) == [6]


def test_timeout_none_on_requests_is_replaced() -> None:
    (finding,) = check("import requests\n\nrequests.get(url, timeout=None)\n")
    assert "passes `timeout=None`" in finding.message
    assert finding.suggestion is not None
    assert finding.suggestion.replacement == "requests.get(url, timeout=10)"


def test_a_multi_line_call_gets_the_keyword_after_its_last_argument() -> None:
    code = """\
        import requests

        response = requests.post(
            url,
            json=payload,  # the event
        )
        """
    (finding,) = check(code)
    assert (finding.line, finding.end_line) == (3, 6)
    assert finding.suggestion is not None
    assert (finding.suggestion.start_line, finding.suggestion.end_line) == (5, 5)
    assert finding.suggestion.replacement == "    json=payload, timeout=10,  # the event"


def test_a_call_without_arguments_gets_the_keyword_inside_its_parentheses() -> None:
    (finding,) = check("import smtplib\n\nserver = smtplib.SMTP()\n")
    assert finding.suggestion is not None
    assert finding.suggestion.replacement == "server = smtplib.SMTP(timeout=10)"


def test_httpx_is_reported_only_when_the_default_is_turned_off() -> None:
    code = """\
        import httpx

        httpx.get(url)
        httpx.get(url, timeout=httpx.Timeout(None))
        with httpx.Client() as client:
            client.get(url, timeout=None)
            client.get(url, timeout=30)
        """
    assert lines(check(code)) == [4, 6]


def test_aiohttp_sessions_whose_requests_are_bounded_otherwise() -> None:
    timed = """\
        import aiohttp

        async def fetch(url):
            async with aiohttp.ClientSession() as session:
                async with session.get(url, timeout=10) as response:
                    return await response.text()
        """
    bounded = """\
        import asyncio
        import aiohttp

        async def fetch(url):
            async with aiohttp.ClientSession() as session:
                async with asyncio.timeout(30):
                    return await session.get(url)
        """
    assert check(timed) == []
    assert check(bounded) == []


def test_an_aiohttp_timeout_with_no_values_is_no_limit() -> None:
    code = "import aiohttp\n\nsession = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout())\n"
    (finding,) = check(code)
    assert "sets no limit at all" in finding.message


def test_a_socket_default_timeout_covers_urlopen_and_smtplib() -> None:
    code = "import socket\nimport smtplib\n\nsocket.setdefaulttimeout(10)\nsmtplib.SMTP(host)\n"
    assert check(code) == []


@pytest.mark.parametrize(
    "path", ["tests/test_api.py", "airflow/example_dags/tutorial.py", "pulpcore/pytest_plugin.py"]
)
def test_tests_examples_and_pytest_plugins_are_not_reported(path: str) -> None:
    assert check("import requests\n\nrequests.get(url)\n", path=path) == []


def test_diff_mode_reports_the_added_call_only() -> None:
    base = "import requests\n\ndef a():\n    return requests.get(A)\n"
    code = base + "\ndef b():\n    return requests.get(B)\n"
    assert lines(check(code, base=base)) == [7]


def test_a_call_moved_into_a_new_block_is_not_new() -> None:
    base = "import requests\n\ndef a():\n    return requests.get(A)\n"
    code = "import requests\n\ndef a():\n    if A:\n        return requests.get(A)\n"
    assert check(code, base=base) == []


def test_a_suppression_comment_silences_the_call() -> None:
    code = "import requests\n\nrequests.get(url)  # faultline: ignore[call-without-timeout]\n"
    assert check(code) == []


def test_only_the_scopes_with_a_call_to_judge_are_worked_out_and_each_is_judged_whole() -> None:
    # A long module of functions with no network call, and the few that make one: a member
    # session, a nested function's own, and a request made in a decorator's argument.
    quiet = "\n".join(f"def f{i}(rows):\n    return [r.get('id') for r in rows]\n" for i in range(30))
    code = f"""\
import requests

{quiet}
class Api:
    def __init__(self):
        self.session = requests.Session()

    def me(self):
        return self.session.get("/me")

def outer():
    def inner():
        s = requests.Session()
        return s.post("/x")
    return inner

@register(requests.get("https://example.com/config").json())
def configured():
    return {{}}.get("x")
"""
    found = lines(check(code))
    source_lines = code.splitlines()
    assert [source_lines[line - 1].strip() for line in found] == [
        'return self.session.get("/me")',
        'return s.post("/x")',
        '@register(requests.get("https://example.com/config").json())',
    ]
