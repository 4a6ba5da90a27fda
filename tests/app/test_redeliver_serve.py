"""A deploy that meets deliveries: the real ``faultline serve`` process, down while GitHub (the
simulator) delivers, recovers them at its next start, and analyses each one once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.app.test_serve import START_TIMEOUT, clean_env, free_port
from tests.github_sim import GitHubSim, PullRequest, RunningSim, running_sim
from tests.github_sim.records import Installation
from tests.github_sim.webhooks import pull_request_payload

REPO = "acme/shop"
WAIT_SECONDS = 90.0


class Serve:
    """``faultline serve`` on a fixed port over one data dir, started and stopped at will."""

    def __init__(self, cwd: Path, env: dict[str, str], port: int) -> None:
        self.cwd, self.env, self.port = cwd, env, port
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[str] | None = None
        self.starts = 0

    @property
    def log(self) -> Path:
        return self.cwd / f"serve-{self.starts}.log"

    def start(self) -> None:
        self.starts += 1
        command = [sys.executable, "-m", "faultline.app.cli.main", "serve", "--port", str(self.port)]
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                command, cwd=self.cwd, env=self.env, stdout=out, stderr=out, text=True
            )
        wait_for(self._answers, "faultline serve did not start", self, START_TIMEOUT)

    def _answers(self) -> bool:
        assert self.process is not None and self.process.poll() is None, self.log_text()
        try:
            httpx.get(f"{self.url}/healthz", timeout=1)
        except httpx.TransportError:
            return False
        return True

    def stop(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=START_TIMEOUT + 30) == 0

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def lines(self, event: str) -> list[dict[str, object]]:
        found = [json.loads(line) for line in self.log_text().splitlines() if line.startswith("{")]
        return [line for line in found if line.get("event") == event]


def wait_for(condition: Callable[[], bool], message: str, log: Serve, timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{message}:\n{log.log_text()}"
        time.sleep(0.1)


@pytest.fixture
def sim() -> Iterator[RunningSim]:
    with running_sim() as running:
        yield running


@pytest.fixture
def serve(sim: RunningSim, tmp_path: Path) -> Iterator[Serve]:
    app = sim.sim.app
    env = clean_env(
        APP_ID=str(app.id),
        PRIVATE_KEY=app.private_pem,
        WEBHOOK_SECRET=app.webhook_secret,
        GITHUB_API_URL=sim.base_url,
        WORKERS="1",
        # Short, so that the test sees the scan after the start-up one.
        REDELIVER_EVERY_SECONDS="1",
    )
    server = Serve(tmp_path, env, free_port())
    sim.sim.hook_deliveries.url = f"{server.url}/webhook"
    yield server
    server.kill()


def open_pull(sim: GitHubSim, main: str, n: int) -> PullRequest:
    head = sim.commit(REPO, {f"app/mod{n}.py": f"def add_{n}(a, b):\n    return a + b\n"}, parent=main)
    return sim.open_pull(REPO, head, user="alice")


def deliver(sim: GitHubSim, installation: Installation, pull: PullRequest) -> str:
    payload = pull_request_payload(sim, pull, "opened", installation=installation)
    return sim.hook_deliveries.send(sim.app, "pull_request", payload)


def completed(sim: GitHubSim, pull: PullRequest) -> bool:
    return any(run.status == "completed" for run in sim.check_runs(REPO, pull.head_sha))


def test_deliveries_missed_during_a_deploy_are_redelivered_once_and_analysed_once(
    sim: RunningSim, serve: Serve
) -> None:
    github = sim.sim
    github.add_repo(REPO)
    main = github.commit(REPO, {"README.md": "shop\n"}, branch="main")
    installation = github.add_installation("acme")
    answered, *missed = (open_pull(github, main, n) for n in range(3))

    serve.start()
    first = deliver(github, installation, answered)
    wait_for(lambda: completed(github, answered), "no check run for the answered delivery", serve)
    serve.stop()

    # The deploy: the server is down while GitHub delivers.
    lost = [deliver(github, installation, pull) for pull in missed]
    assert all(github.hook_deliveries.for_guid(guid)[0].status_code == 0 for guid in lost)

    serve.start()
    wait_for(lambda: all(completed(github, pull) for pull in missed), "not recovered", serve)
    # The scan after the start-up one finds nothing left to ask.
    wait_for(lambda: len(serve.lines("redelivery scan")) >= 2, "no second scan", serve)
    metrics = httpx.get(f"{serve.url}/metrics").text
    serve.stop()

    assert 'faultline_redeliveries_requested_total{outcome="requested"} 2.0' in metrics
    assert "faultline_webhook_ack_seconds_count 2.0" in metrics
    queued = serve.lines("delivery queued")
    assert {(line["delivery"], line["pull"], line["head_sha"]) for line in queued} == {
        (guid, pull.number, pull.head_sha) for guid, pull in zip(lost, missed, strict=True)
    }
    assert all(
        (line["github_event"], line["action"], line["repo"]) == ("pull_request", "opened", REPO)
        for line in queued
    )

    scans = serve.lines("redelivery scan")
    assert [scan["requested"] for scan in scans[:2]] == [2, 0]
    assert all(scan["requested"] == 0 for scan in scans[1:])
    asked = github.requests_matching("POST", "/app/hook/deliveries/*/attempts")
    assert len(asked) == 2
    for guid in lost:
        assert [(a.redelivery, a.status_code) for a in github.hook_deliveries.for_guid(guid)] == [
            (False, 0),
            (True, 202),
        ]
    assert [(a.redelivery, a.status_code) for a in github.hook_deliveries.for_guid(first)] == [(False, 202)]
    for pull in [answered, *missed]:
        runs = github.check_runs(REPO, pull.head_sha)
        assert [(run.status, run.conclusion) for run in runs] == [("completed", "success")], pull.number
