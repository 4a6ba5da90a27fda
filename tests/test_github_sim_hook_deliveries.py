"""The simulator's webhook delivery log, read through githubkit as the App reads GitHub's."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from githubkit import AppAuthStrategy, GitHub
from githubkit.exception import RequestFailed

from tests.github_sim import RunningSim, running_sim

OPENED = {"action": "opened", "installation": {"id": 9}, "repository": {"id": 5}}


@contextmanager
def webhook_target(status: int, received: list[str]) -> Iterator[str]:
    """A webhook URL answering ``status``, noting each delivery's guid."""

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            received.append(self.headers["X-GitHub-Delivery"])
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/webhook"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def sim() -> Iterator[RunningSim]:
    with running_sim() as running:
        yield running


def closed_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/webhook"


def as_app(running: RunningSim) -> GitHub[AppAuthStrategy]:
    return GitHub(AppAuthStrategy(running.sim.app.id, running.sim.app.private_pem), base_url=running.base_url)


def test_attempts_are_listed_newest_first_in_githubs_shape_and_paged_by_cursor(sim: RunningSim) -> None:
    down = closed_url()
    guids = [
        sim.sim.hook_deliveries.send(sim.sim.app, "pull_request", dict(OPENED), url=down) for _ in range(5)
    ]
    github = as_app(sim)
    first = github.rest.apps.list_webhook_deliveries(per_page=2)
    items = first.parsed_data  # githubkit validates every item against GitHub's schema
    assert [item.guid for item in items] == guids[::-1][:2]
    assert (items[0].status_code, items[0].redelivery, items[0].event, items[0].action) == (
        0,
        False,
        "pull_request",
        "opened",
    )
    assert (items[0].installation_id, items[0].repository_id) == (9, 5)
    seen = [item.guid for item in items]
    link = first.raw_response.links["next"]["url"]
    assert set(parse_qs(urlsplit(link).query)) == {"per_page", "cursor"}
    while link:
        page = github.request("GET", link)
        seen += [item["guid"] for item in page.json()]
        link = page.raw_response.links.get("next", {}).get("url")
    assert seen == guids[::-1]


def test_a_redelivery_is_a_new_attempt_with_the_same_guid_sent_to_the_apps_url(sim: RunningSim) -> None:
    received: list[str] = []
    with webhook_target(202, received) as url:
        sim.sim.hook_deliveries.url = url
        guid = sim.sim.hook_deliveries.send(sim.sim.app, "pull_request", dict(OPENED), url=closed_url())
        github = as_app(sim)
        failed = github.rest.apps.list_webhook_deliveries(status="failure").parsed_data
        assert [item.guid for item in failed] == [guid]
        answer = github.rest.apps.redeliver_webhook_delivery(failed[0].id)
        assert answer.status_code == 202
        sim.sim.hook_deliveries.wait()
    listed = github.rest.apps.list_webhook_deliveries().parsed_data
    assert [(item.guid, item.redelivery, item.status_code, item.status) for item in listed] == [
        (guid, True, 202, "OK"),
        (guid, False, 0, "failed to connect to host"),
    ]
    assert received == [guid]
    detail = github.rest.apps.get_webhook_delivery(listed[0].id).parsed_data
    assert detail.request.model_dump(mode="json")["payload"] == OPENED


def test_a_non_2xx_answer_is_a_failed_attempt(sim: RunningSim) -> None:
    received: list[str] = []
    with webhook_target(503, received) as url:
        guid = sim.sim.hook_deliveries.send(sim.sim.app, "pull_request", dict(OPENED), url=url)
    attempt = sim.sim.hook_deliveries.for_guid(guid)[0]
    assert (attempt.status_code, attempt.status, attempt.succeeded) == (
        503,
        "Invalid HTTP Response: 503",
        False,
    )
    assert received == [guid]


def test_the_log_needs_the_apps_jwt_and_shows_only_its_own(sim: RunningSim) -> None:
    other = sim.sim.add_app(slug="other")
    mine = sim.sim.hook_deliveries.send(sim.sim.app, "pull_request", dict(OPENED), url=closed_url())
    sim.sim.hook_deliveries.send(other, "pull_request", dict(OPENED), url=closed_url())
    github = as_app(sim)
    assert [item.guid for item in github.rest.apps.list_webhook_deliveries().parsed_data] == [mine]
    theirs = sim.sim.hook_deliveries.of_app(other.id)[0].id
    with pytest.raises(RequestFailed) as refused:
        github.rest.apps.redeliver_webhook_delivery(theirs)
    assert refused.value.response.status_code == 404
    assert httpx.get(f"{sim.base_url}app/hook/deliveries").status_code == 401
    with pytest.raises(RequestFailed) as bad:
        github.rest.apps.list_webhook_deliveries(cursor="12")
    assert bad.value.response.status_code == 400
