"""The webhook endpoint over real HTTP: status codes, what gets queued, health and metrics."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import structlog

from faultline.app.settings import Settings
from faultline.app.web.server import OUTCOME_HEADER, create_app
from faultline.app.web.webhooks import sign
from faultline.app.work.queue import JobQueue, QueueStats
from faultline.app.work.request import AnalysisRequest
from tests.app.conftest import (
    APP_ID,
    WEBHOOK_SECRET,
    MakeSettings,
    StartServer,
    deliver,
    signed_headers,
)
from tests.app.payloads import INSTALLATION_ID, example, recheck_comment
from tests.app.sim_fixtures import sim_world
from tests.github_sim.webhooks import pull_request_payload

MB = 1024 * 1024


@dataclass
class Served:
    url: str
    queue: JobQueue
    settings: Settings

    def queued(self) -> list[AnalysisRequest]:
        return self.queue.pending_requests()

    def healthy(self) -> bool:
        return httpx.get(f"{self.url}/healthz").status_code == 200


@pytest.fixture
def served(make_settings: MakeSettings, start_server: StartServer) -> Served:
    """The configured app on loopback, with the real SQLite queue and no worker (jobs stay queued)."""
    settings = make_settings()
    queue = JobQueue(settings)
    return Served(start_server(create_app(settings, queue=queue)), queue, settings)


def post(served: Served, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{served.url}/webhook", content=body, headers=headers)


# Refused before anything is parsed or queued.


def test_missing_signature_is_401(served: Served) -> None:
    body = json.dumps(example("pull_request.opened")).encode()
    headers = signed_headers("pull_request", body)
    del headers["X-Hub-Signature-256"]
    response = post(served, body, headers)
    assert response.status_code == 401
    assert served.queued() == []
    assert served.healthy()


@pytest.mark.parametrize("signature", [b"sha256=" + b"0" * 64, "sha256=ü".encode("latin-1"), b"garbage"])
def test_wrong_signature_is_401(served: Served, signature: bytes) -> None:
    body = json.dumps(example("pull_request.opened")).encode()
    signed = {name.encode(): value.encode() for name, value in signed_headers("pull_request", body).items()}
    headers = signed | {b"X-Hub-Signature-256": signature}
    response = httpx.post(f"{served.url}/webhook", content=body, headers=headers)
    assert response.status_code == 401
    assert served.queued() == []


def test_signature_by_another_secret_is_401(served: Served) -> None:
    body = json.dumps(example("pull_request.opened")).encode()
    response = post(served, body, signed_headers("pull_request", body, secret="not-the-secret"))
    assert response.status_code == 401
    assert served.queued() == []


@pytest.mark.parametrize("header", ["X-GitHub-Event", "X-GitHub-Delivery"])
def test_missing_github_header_is_400(served: Served, header: str) -> None:
    body = json.dumps(example("pull_request.opened")).encode()
    headers = signed_headers("pull_request", body)
    del headers[header]
    response = post(served, body, headers)
    assert response.status_code == 400
    assert "X-GitHub-Event and X-GitHub-Delivery" in response.json()["error"]
    assert served.queued() == []


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b""])
def test_broken_json_is_400(served: Served, body: bytes) -> None:
    response = post(served, body, signed_headers("pull_request", body))
    assert response.status_code == 400
    assert response.json() == {"error": "body is not JSON"}
    assert served.queued() == []
    assert served.healthy()


def test_payload_missing_a_needed_field_is_400(served: Served) -> None:
    payload = example("pull_request.opened", installation=None)
    response = deliver(served.url, "pull_request", payload)
    assert response.status_code == 400
    assert "no installation" in response.json()["error"]
    assert served.queued() == []


# Oversized bodies: refused whether Content-Length tells the truth, lies, or is absent.


def raw_post(url: str, head: list[str], chunks: Iterable[bytes]) -> int:
    """Send a request over a plain socket and return the status; the server may stop reading early."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        lines = ["POST /webhook HTTP/1.1", f"Host: {parts.netloc}", *head, "", ""]
        sock.sendall("\r\n".join(lines).encode())
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except OSError:
            pass  # the server answered and closed: read its answer
        answer = b""
        while b"\r\n" not in answer:
            data = sock.recv(4096)
            if not data:
                break
            answer += data
    return int(answer.split(b" ", 2)[1])


def test_body_over_the_cap_with_content_length_is_413_before_it_is_sent(served: Served) -> None:
    head = ["X-GitHub-Event: ping", "X-GitHub-Delivery: big-1", f"Content-Length: {26 * MB}"]
    assert raw_post(served.url, head, []) == 413
    assert served.healthy()


def test_chunked_body_over_the_cap_is_413(served: Served) -> None:
    chunk = b"x" * MB
    chunks = (b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(30))
    head = ["X-GitHub-Event: ping", "X-GitHub-Delivery: big-2", "Transfer-Encoding: chunked"]
    assert raw_post(served.url, head, chunks) == 413
    assert served.queued() == []
    assert served.healthy()


def test_body_at_the_cap_is_read(make_settings: MakeSettings, start_server: StartServer) -> None:
    settings = make_settings(max_body_bytes=1000)
    queue = JobQueue(settings)
    url = start_server(create_app(settings, queue=queue))
    payload = example("pull_request.opened")
    small = {key: payload[key] for key in ("action", "installation")} | {
        "pull_request": {"number": 2, "state": "open", "head": {"sha": "c" * 40}},
        "repository": {"id": 1, "name": "r", "owner": {"login": "o"}},
    }
    body = json.dumps(small).encode()
    body += b" " * (1000 - len(body))
    assert (
        httpx.post(f"{url}/webhook", content=body, headers=signed_headers("pull_request", body)).status_code
        == 202
    )
    over = body + b" "
    assert (
        httpx.post(f"{url}/webhook", content=over, headers=signed_headers("pull_request", over)).status_code
        == 413
    )


# Answered without a run.


def test_reason_quoting_payload_text_is_a_valid_header(served: Served) -> None:
    payload = example("pull_request.synchronize")
    payload["pull_request"]["state"] = "fermé"
    response = deliver(served.url, "pull_request", payload)
    assert response.status_code == 204
    assert response.headers[OUTCOME_HEADER] == "ignored: pull request #2 is ferm\\xe9"


def test_ping_is_answered(served: Served) -> None:
    response = deliver(served.url, "ping", example("ping", installation=None))
    assert response.status_code == 200
    assert response.json() == {"pong": True, "app_id": APP_ID}


@pytest.mark.parametrize("name", ["installation.created", "installation_repositories.added"])
def test_event_not_handled_is_204(served: Served, name: str) -> None:
    response = deliver(served.url, name.split(".", maxsplit=1)[0], example(name))
    assert response.status_code == 204
    assert response.headers[OUTCOME_HEADER].startswith("ignored: event")
    assert served.queued() == []


def _closed_pr() -> dict[str, Any]:
    return example("pull_request.closed")


def _edited_comment() -> dict[str, Any]:
    payload = recheck_comment()
    payload["action"] = "edited"
    return payload


def _other_apps_check() -> dict[str, Any]:
    payload = example("check_run.rerequested")
    payload["check_run"]["app"]["id"] = APP_ID + 1
    return payload


def _plain_issue_recheck() -> dict[str, Any]:
    payload = example("issue_comment.created")
    payload["comment"]["body"] = "/recheck"
    return payload


@pytest.mark.parametrize(
    ("event", "make_payload", "reason"),
    [
        ("pull_request", _closed_pr, "pull_request.closed starts no run"),
        ("issue_comment", _edited_comment, "issue_comment.edited starts no run"),
        ("issue_comment", lambda: recheck_comment(user_type="Bot", login="dependabot[bot]"), "by the bot"),
        ("issue_comment", lambda: recheck_comment("LGTM"), "is not /recheck"),
        ("issue_comment", _plain_issue_recheck, "is an issue, not a pull request"),
        ("check_run", _other_apps_check, "not this app"),
    ],
)
def test_delivery_that_asks_for_no_run_is_204(
    served: Served, event: str, make_payload: Any, reason: str
) -> None:
    response = deliver(served.url, event, make_payload())
    assert response.status_code == 204
    assert reason in response.headers[OUTCOME_HEADER]
    assert served.queued() == []


# Handled: 202 once the job is on disk.


@pytest.mark.parametrize(
    ("event", "make_payload", "expected"),
    [
        *(
            (
                "pull_request",
                lambda action=action: example(f"pull_request.{action}"),
                {"trigger": f"pull_request.{action}", "pull_number": 2, "head_sha": "ec26c3e5"},
            )
            for action in ("opened", "synchronize", "reopened", "ready_for_review")
        ),
        (
            "check_run",
            lambda: example("check_run.rerequested"),
            {
                "trigger": "check_run.rerequested",
                "pull_number": None,
                "head_sha": "d6fde929",
                "repo": "hello-world",
            },
        ),
        (
            "check_suite",
            lambda: example("check_suite.rerequested"),
            {"trigger": "check_suite.rerequested", "pull_number": 2, "head_sha": "ec26c3e5"},
        ),
        (
            "issue_comment",
            recheck_comment,
            {"trigger": "issue_comment.recheck", "pull_number": 1, "comment_author": "Codertocat"},
        ),
    ],
)
def test_handled_delivery_is_queued_once_and_answered_202(
    served: Served, event: str, make_payload: Any, expected: dict[str, Any]
) -> None:
    response = deliver(served.url, event, make_payload(), delivery="delivery-abc")
    assert response.status_code == 202
    assert response.json() == {"queued": True, "delivery": "delivery-abc"}
    # Read through another connection to the file: the job was committed before the 202.
    [request] = JobQueue(served.settings).pending_requests()
    assert request.delivery_id == "delivery-abc"
    assert request.installation_id == INSTALLATION_ID
    for field, value in expected.items():
        actual = getattr(request, field)
        assert actual.startswith(value) if field == "head_sha" else actual == value, field


def test_redelivery_is_acknowledged_but_not_queued_twice(served: Served) -> None:
    payload = example("pull_request.synchronize")
    first = deliver(served.url, "pull_request", payload, delivery="same-guid")
    again = deliver(served.url, "pull_request", payload, delivery="same-guid")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == {"queued": False, "delivery": "same-guid"}
    assert again.headers[OUTCOME_HEADER] == "duplicate"
    assert len(served.queued()) == 1


def test_webhook_is_also_accepted_at_the_root(served: Served) -> None:
    body = json.dumps(example("pull_request.opened")).encode()
    response = httpx.post(f"{served.url}/", content=body, headers=signed_headers("pull_request", body))
    assert response.status_code == 202
    assert len(served.queued()) == 1


def test_other_methods_on_the_webhook_are_405_and_the_home_page_is_still_served(served: Served) -> None:
    assert httpx.get(f"{served.url}/webhook").status_code == 405
    assert httpx.put(f"{served.url}/webhook", content=b"{}").status_code == 405
    assert httpx.get(f"{served.url}/").status_code == 200
    assert served.queued() == []


# Failures inside the server.


class BrokenQueue:
    """Fails to store the first job (a full disk, say), then works."""

    def __init__(self, real: JobQueue) -> None:
        self.real = real
        self.failures = 1

    def enqueue(self, request: AnalysisRequest) -> bool:
        if self.failures:
            self.failures -= 1
            raise OSError(28, "No space left on device")
        return self.real.enqueue(request)

    def stats(self) -> QueueStats:
        return self.real.stats()

    def accepted(self, delivery_id: str) -> bool:
        return self.real.accepted(delivery_id)


def test_queue_failure_is_500_and_the_redelivery_is_queued(
    make_settings: MakeSettings, start_server: StartServer
) -> None:
    settings = make_settings()
    real = JobQueue(settings)
    url = start_server(create_app(settings, queue=BrokenQueue(real)))
    payload = example("pull_request.opened")
    with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        failed = deliver(url, "pull_request", payload, delivery="guid-500")
    assert failed.status_code == 500
    assert failed.json() == {"error": "internal error", "delivery": "guid-500"}
    [line] = [entry for entry in logs if entry["event"] == "delivery failed"]
    assert (line["delivery"], line["github_event"], line["log_level"]) == (
        "guid-500",
        "pull_request",
        "error",
    )
    assert httpx.get(f"{url}/healthz").status_code == 200
    # Nothing was stored, so GitHub's redelivery is not mistaken for a duplicate.
    assert deliver(url, "pull_request", payload, delivery="guid-500").status_code == 202
    assert len(real.pending_requests()) == 1


class UnreadableQueue:
    def enqueue(self, request: AnalysisRequest) -> bool:
        raise AssertionError("not called")

    def stats(self) -> QueueStats:
        raise OSError("disk I/O error")

    def accepted(self, delivery_id: str) -> bool:
        raise OSError("disk I/O error")


def test_healthz_is_503_when_the_queue_cannot_be_read(
    make_settings: MakeSettings, start_server: StartServer
) -> None:
    url = start_server(create_app(make_settings(), queue=UnreadableQueue()))
    response = httpx.get(f"{url}/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "queue unreachable"


def test_readyz_is_503_when_the_store_cannot_be_read(
    make_settings: MakeSettings, start_server: StartServer
) -> None:
    url = start_server(create_app(make_settings(), queue=UnreadableQueue()))
    response = httpx.get(f"{url}/readyz")
    assert (response.status_code, response.json()["status"]) == (503, "queue unreachable")


def test_readyz_is_200_when_the_queue_answers(served: Served) -> None:
    response = httpx.get(f"{served.url}/readyz")
    assert (response.status_code, response.json()["status"]) == (200, "ready")


def test_readyz_is_503_in_setup_mode(make_settings: MakeSettings, start_server: StartServer) -> None:
    url = start_server(create_app(make_settings(app_id=None, private_key=None, webhook_secret=None)))
    assert httpx.get(f"{url}/readyz").status_code == 503


def test_home_page_lists_the_last_deliveries_and_their_runs(served: Served) -> None:
    deliver(served.url, "pull_request", example("pull_request.opened"), delivery="guid-home")
    page = httpx.get(f"{served.url}/").text
    assert "Last deliveries and runs" in page
    assert "guid-home" in page and "pull_request.opened" in page and "Codertocat/Hello-World#" in page
    assert "<td>queued</td>" in page


def test_healthz_reports_the_queue(served: Served) -> None:
    deliver(served.url, "pull_request", example("pull_request.opened"))
    assert httpx.get(f"{served.url}/healthz").json() == {
        "status": "ok",
        "pending": 1,
        "running": 0,
        "workers": None,
    }


# Logs and metrics.


def test_every_log_line_of_a_delivery_names_it(served: Served) -> None:
    with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        deliver(served.url, "pull_request", example("pull_request.opened"), delivery="guid-log")
        deliver(served.url, "pull_request", example("pull_request.closed"), delivery="guid-log-2")
    lines = [entry for entry in logs if entry.get("delivery") in ("guid-log", "guid-log-2")]
    assert [entry["event"] for entry in lines] == ["delivery queued", "delivery ignored"]
    for entry in lines:
        assert (entry["github_event"], entry["repo"]) == ("pull_request", "Codertocat/Hello-World")
        assert entry["action"] in ("opened", "closed")


def test_metrics_count_deliveries_by_event_and_outcome(served: Served) -> None:
    deliver(served.url, "pull_request", example("pull_request.opened"))
    deliver(served.url, "pull_request", example("pull_request.closed"))
    body = b"{}"
    post(served, body, {**signed_headers("pull_request", body), "X-Hub-Signature-256": "sha256=0"})
    text = httpx.get(f"{served.url}/metrics").text
    assert 'faultline_webhook_deliveries_total{event="pull_request",outcome="queued"} 1.0' in text
    assert 'faultline_webhook_deliveries_total{event="pull_request",outcome="ignored"} 1.0' in text
    assert 'faultline_webhook_deliveries_total{event="other",outcome="unverified"} 1.0' in text
    assert "faultline_queue_pending 1.0" in text


# Setup mode.


def test_setup_mode_refuses_webhooks_and_reports_itself(
    make_settings: MakeSettings, start_server: StartServer
) -> None:
    settings = make_settings(app_id=None, private_key=None, webhook_secret=None)
    url = start_server(create_app(settings))
    body = json.dumps(example("pull_request.opened")).encode()
    response = httpx.post(f"{url}/webhook", content=body, headers={**signed_headers("pull_request", body)})
    assert response.status_code == 503
    assert httpx.get(f"{url}/healthz").json() == {"status": "setup"}
    assert not settings.queue_path.exists()


def test_signature_helper_matches_github_docs_example() -> None:
    # GitHub's documented example: secret "It's a Secret to Everybody", payload "Hello, World!".
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign("It's a Secret to Everybody", b"Hello, World!") == expected
    assert WEBHOOK_SECRET


# The whole way: a signed delivery, the queue's worker, the job, the GitHub simulator.


def test_delivery_ends_in_a_completed_check_run(tmp_path: Path, start_server: StartServer) -> None:
    with sim_world(tmp_path) as world:
        pull = world.open_pull({"app/settings.py": "DEBUG = False\n"})
        queue = JobQueue(world.settings)
        url = start_server(create_app(world.settings, queue=queue))
        queue.start()
        try:
            payload = pull_request_payload(world.sim, pull, "opened", installation=world.installation)
            body = json.dumps(payload).encode()
            headers = signed_headers("pull_request", body, secret=world.sim.app.webhook_secret)
            response = httpx.post(f"{url}/webhook", content=body, headers=headers)
            assert response.status_code == 202
            deadline = time.monotonic() + 30
            while queue.stats().jobs.get("succeeded") != 1:
                assert time.monotonic() < deadline, f"job did not finish: {queue.stats()}"
                time.sleep(0.05)
        finally:
            queue.stop()
        [check] = [run for run in world.sim.check_run_records.values() if run.head_sha == pull.head_sha]
        assert (check.name, check.status, check.conclusion) == ("Faultline", "completed", "success")
