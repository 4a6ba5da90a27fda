"""Missed deliveries: scans of the simulator's delivery log, over HTTP, asking for redeliveries.

The webhook target is a small server answering what each test says; the real receiver
process is in test_redeliver_serve.py."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from faultline.app.observe.metrics import GITHUB_CALLS, REDELIVERIES
from faultline.app.settings import Settings
from faultline.app.web.redeliver import Redeliverer, RedisMemory, SqliteMemory, accepted_in_queue
from faultline.app.work.queue import JobQueue
from faultline.app.work.request import AnalysisRequest
from tests.app.conftest import MakeSettings, StartServer
from tests.github_sim import GitHubSim, RunningSim, running_sim
from tests.github_sim.faults import Reply, Rule

OPENED = {"action": "opened", "installation": {"id": 9}, "repository": {"id": 5}}


@dataclass
class Target:
    """The App's webhook URL: answers ``status`` and counts what it received."""

    url: str
    status: int = 202
    received: list[str] = field(default_factory=list)


@pytest.fixture
def sim() -> Iterator[RunningSim]:
    with running_sim() as running:
        yield running


@pytest.fixture
def target(start_server: StartServer, sim: RunningSim) -> Target:
    holder: list[Target] = []

    async def hook(request: Request) -> Response:
        holder[0].received.append(request.headers["x-github-delivery"])
        return Response(b"", holder[0].status)

    base = start_server(Starlette(routes=[Route("/webhook", hook, methods=["POST"])]))
    holder.append(Target(f"{base}/webhook"))
    sim.sim.hook_deliveries.url = holder[0].url
    return holder[0]


@pytest.fixture
def settings(make_settings: MakeSettings, sim: RunningSim) -> Settings:
    app = sim.sim.app
    return make_settings(
        app_id=app.id,
        private_key=app.private_pem,
        webhook_secret=app.webhook_secret,
        github_api_url=sim.base_url.rstrip("/"),
    )


def closed_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/webhook"


def redeliverer(settings: Settings) -> Redeliverer:
    return Redeliverer.for_settings(settings)


def scan(settings: Settings, sim: GitHubSim, redeliverer: Redeliverer | None = None) -> dict[str, int]:
    result = asyncio.run((redeliverer or Redeliverer.for_settings(settings)).scan())
    sim.hook_deliveries.wait()
    return vars(result)


def missed(sim: GitHubSim, event: str = "pull_request", payload: dict[str, object] = OPENED) -> str:
    """A delivery sent while the App's server was down."""
    return sim.hook_deliveries.send(sim.app, event, dict(payload), url=closed_url())


def attempts(sim: GitHubSim, guid: str) -> list[tuple[bool, int]]:
    return [(a.redelivery, a.status_code) for a in sim.hook_deliveries.for_guid(guid)]


def test_a_missed_delivery_is_redelivered_once(settings: Settings, sim: RunningSim, target: Target) -> None:
    guid = missed(sim.sim)
    before = REDELIVERIES.labels(outcome="requested")._value.get()
    first = scan(settings, sim.sim)
    assert (first["failed"], first["requested"]) == (1, 1)
    assert attempts(sim.sim, guid) == [(False, 0), (True, 202)]
    assert target.received == [guid]
    assert REDELIVERIES.labels(outcome="requested")._value.get() == before + 1
    # The next scan sees the successful redelivery, and the memory of the ask.
    assert scan(settings, sim.sim)["requested"] == 0
    assert len(sim.sim.requests_matching("POST", "/app/hook/deliveries/*/attempts")) == 1


def test_a_redelivery_that_fails_again_is_not_asked_for_twice(
    settings: Settings, sim: RunningSim, target: Target
) -> None:
    target.status = 503
    guid = missed(sim.sim)
    assert scan(settings, sim.sim)["requested"] == 1
    assert attempts(sim.sim, guid) == [(False, 0), (True, 503)]
    # A fresh process over the same data dir remembers the ask too.
    assert scan(settings, sim.sim, redeliverer(settings))["requested"] == 0
    assert len(attempts(sim.sim, guid)) == 2


def test_a_delivery_answered_2xx_is_left_alone(settings: Settings, sim: RunningSim, target: Target) -> None:
    answered = sim.sim.hook_deliveries.send(sim.sim.app, "pull_request", dict(OPENED))
    target.status = 500
    refused = sim.sim.hook_deliveries.send(sim.sim.app, "pull_request", dict(OPENED))
    target.status = 202
    result = scan(settings, sim.sim)
    assert (result["failed"], result["requested"]) == (1, 1)
    assert attempts(sim.sim, answered) == [(False, 202)]
    assert attempts(sim.sim, refused) == [(False, 500), (True, 202)]


def test_a_delivery_that_succeeded_on_a_later_attempt_is_left_alone(
    settings: Settings, sim: RunningSim, target: Target
) -> None:
    guid = missed(sim.sim)
    first = sim.sim.hook_deliveries.for_guid(guid)[0]
    sim.sim.hook_deliveries.redeliver(first)  # by a person, from the App's settings page
    sim.sim.hook_deliveries.wait()
    assert scan(settings, sim.sim)["failed"] == 0
    assert len(attempts(sim.sim, guid)) == 2


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("push", {"ref": "refs/heads/main", "repository": {"id": 5}}),
        ("pull_request", {"action": "closed", "installation": {"id": 9}}),
        ("issue_comment", {"action": "edited", "installation": {"id": 9}}),
        ("installation", {"action": "created", "installation": {"id": 9}}),
    ],
)
def test_events_the_app_ignores_are_not_redelivered(
    settings: Settings, sim: RunningSim, target: Target, event: str, payload: dict[str, object]
) -> None:
    missed(sim.sim, event, payload)
    result = scan(settings, sim.sim)
    assert (result["listed"], result["failed"], result["requested"]) == (1, 0, 0)


def test_a_delivery_the_queue_accepted_is_not_redelivered(
    settings: Settings, sim: RunningSim, target: Target
) -> None:
    guid = missed(sim.sim)  # as if GitHub gave up waiting although the receiver had queued it
    queue = JobQueue(settings)
    assert queue.enqueue(AnalysisRequest(guid, "pull_request.opened", 9, "acme", "shop", 1, "a" * 40))
    result = scan(settings, sim.sim)
    assert (result["failed"], result["accepted"], result["requested"]) == (1, 1, 0)


def test_no_queue_file_means_nothing_accepted(tmp_path: Path) -> None:
    assert accepted_in_queue(tmp_path / "none.sqlite3")({"g"}) == set()
    (tmp_path / "broken.sqlite3").write_text("not a database")
    assert accepted_in_queue(tmp_path / "broken.sqlite3")({"g"}) == set()


def test_every_page_of_the_log_is_read(settings: Settings, sim: RunningSim, target: Target) -> None:
    down = closed_url()
    guids = [
        sim.sim.hook_deliveries.send(sim.sim.app, "pull_request", dict(OPENED), url=down) for _ in range(105)
    ]
    result = scan(settings, sim.sim)
    assert (result["listed"], result["requested"]) == (105, 105)
    assert sorted(target.received) == sorted(guids)
    pages = sim.sim.requests_matching("GET", "/app/hook/deliveries")
    assert [r.query.get("cursor") is None for r in pages] == [True, False]
    assert all(r.query["per_page"] == "100" for r in pages)
    # Oldest first: the pushes are replayed in the order they happened.
    assert target.received == guids


def test_deliveries_older_than_the_window_are_left(
    settings: Settings, sim: RunningSim, target: Target
) -> None:
    old = missed(sim.sim)
    sim.sim.hook_deliveries.for_guid(old)[0].delivered_at -= timedelta(hours=30)
    recent = missed(sim.sim)
    result = scan(settings, sim.sim)
    assert (result["listed"], result["requested"]) == (1, 1)
    assert target.received == [recent]
    # A scan after a long outage looks back from the last scan, not from now (up to 3 days).
    memory = SqliteMemory(settings.data_dir / "redeliveries.sqlite3")
    last = memory.last_scan()
    assert last is not None
    memory.scanned(last - timedelta(hours=40))
    assert scan(settings, sim.sim)["requested"] == 1
    assert target.received == [recent, old]


def test_a_refused_ask_is_not_repeated_and_a_failed_one_is(
    settings: Settings, sim: RunningSim, target: Target
) -> None:
    refused, failed = missed(sim.sim), missed(sim.sim)
    sim.sim.reject("POST", "/app/hook/deliveries/*/attempts", times=1)
    sim.sim.fail("POST", "/app/hook/deliveries/*/attempts", status=502, times=1)
    result = scan(settings, sim.sim)
    assert (result["refused"], result["requested"], result["errors"]) == (1, 0, 1)
    again = scan(settings, sim.sim)
    assert (again["refused"], again["requested"]) == (0, 1)
    assert target.received == [failed]
    assert len(attempts(sim.sim, refused)) == 1


def test_a_rate_limited_ask_is_asked_again_and_every_call_is_counted(
    settings: Settings, sim: RunningSim, target: Target
) -> None:
    # A secondary rate limit is a 403 too: it is no refusal, the next scan asks again. The
    # scan's calls go through the transport, so the metrics count them like any other.
    guid = missed(sim.sim)
    asks = GITHUB_CALLS.labels(endpoint="POST /app/hook/deliveries/{delivery_id}/attempts", status="202")
    before = asks._value.get()
    sim.sim.rate_limit("POST", "/app/hook/deliveries/*/attempts", retry_after=1)
    first = scan(settings, sim.sim)
    assert (first["refused"], first["requested"], first["errors"]) == (0, 0, 1)
    time.sleep(1.1)  # the pause GitHub asked for
    assert scan(settings, sim.sim)["requested"] == 1
    assert target.received == [guid]
    assert asks._value.get() == before + 1


def test_a_bad_answer_is_survived_and_the_next_period_scans_again(
    make_settings: MakeSettings, sim: RunningSim, target: Target
) -> None:
    app = sim.sim.app
    settings = make_settings(
        app_id=app.id,
        private_key=app.private_pem,
        webhook_secret=app.webhook_secret,
        github_api_url=sim.base_url.rstrip("/"),
        redeliver_every_seconds=0.05,
    )
    guid = missed(sim.sim)
    wrong_shape = Reply(200, [{"id": "not a number"}])
    sim.sim.rules.append(Rule("GET", "/app/hook/deliveries", 1, wrong_shape))
    sim.sim.fail("GET", "/app/hook/deliveries", status=404, times=1)

    async def run_until_redelivered() -> None:
        task = asyncio.create_task(Redeliverer.for_settings(settings).run(first_delay=0))
        deadline = time.monotonic() + 20
        while not sim.sim.requests_matching("POST", "/app/hook/deliveries/*/attempts"):
            assert not task.done() and time.monotonic() < deadline
            await asyncio.sleep(0.02)
        task.cancel()

    asyncio.run(run_until_redelivered())
    sim.sim.hook_deliveries.wait()
    assert target.received == [guid]
    assert len(sim.sim.requests_matching("GET", "/app/hook/deliveries")) == 3


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    server = shutil.which("redis-server")
    assert server is not None, "the Debian package redis-server is needed"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, "redis-server did not start"
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_web_processes_sharing_redis_ask_once(
    make_settings: MakeSettings, sim: RunningSim, target: Target, redis_url: str, tmp_path: Path
) -> None:
    app = sim.sim.app
    both = [
        make_settings(
            app_id=app.id,
            private_key=app.private_pem,
            webhook_secret=app.webhook_secret,
            github_api_url=sim.base_url.rstrip("/"),
            redis_url=redis_url,
            data_dir=tmp_path / f"machine-{n}",
        )
        for n in (1, 2)
    ]
    guid = missed(sim.sim)
    first, second = (Redeliverer.for_settings(s) for s in both)
    assert isinstance(first.memory, RedisMemory)

    async def together() -> list[object]:
        return list(await asyncio.gather(first.scan(), second.scan()))

    results = asyncio.run(together())
    sim.sim.hook_deliveries.wait()
    assert sorted(vars(r)["requested"] for r in results) == [0, 1]
    assert target.received == [guid]
    assert first.memory.last_scan() is not None


def test_attempt_items_have_githubs_shape(sim: RunningSim, target: Target) -> None:
    guid = missed(sim.sim)
    item = sim.sim.hook_deliveries.for_guid(guid)[0].item()
    assert set(item) == {
        *("id", "guid", "delivered_at", "redelivery", "duration", "status", "status_code", "event"),
        *("action", "installation_id", "repository_id", "throttled_at"),
    }
    assert (item["status"], item["status_code"], item["redelivery"]) == (
        "failed to connect to host",
        0,
        False,
    )
