"""The real processes against the GitHub simulator: ``faultline serve`` (embedded, SQLite)
and ``faultline web`` + ``faultline worker`` over a real redis-server. Workers are SIGKILLed
at named steps of a run (``FAULTLINE_CRASH_AT``) and restarted; what GitHub ends up with
must be exactly one review and one completed check run per head."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from faultline.app.web.webhooks import sign
from tests.app.redis_server import RedisServer, free_port
from tests.app.sim_fixtures import FULL_NAME, World, sim_world
from tests.app.test_jobs_e2e import RISKY
from tests.github_sim import PullRequest
from tests.github_sim.webhooks import pull_request_payload

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 60.0
FAST = {
    "FAULTLINE_SETTLE_SECONDS": "0",
    "FAULTLINE_LEASE_SECONDS": "1",
    "FAULTLINE_SWEEP_SECONDS": "0.2",
    "FAULTLINE_RETRY_BASE_SECONDS": "0.05",
    "FAULTLINE_RETRY_MAX_SECONDS": "0.2",
    "FAULTLINE_SHUTDOWN_GRACE_SECONDS": "30",
}


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Service:
    """The App's processes for one test: ``serve`` alone, or ``web`` and ``worker`` on Redis."""

    def __init__(self, world: World, tmp_path: Path, redis: RedisServer | None) -> None:
        self.world, self.tmp_path, self.redis = world, tmp_path, redis
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.web: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.logs = 0
        self.spawned: list[subprocess.Popen[bytes]] = []

    def env(self, **extra: str) -> dict[str, str]:
        settings = self.world.settings
        env = {k: v for k, v in os.environ.items() if not k.startswith("FAULTLINE_")}
        assert settings.private_key is not None and settings.webhook_secret is not None
        env |= {
            "FAULTLINE_APP_ID": str(settings.app_id),
            "FAULTLINE_PRIVATE_KEY": settings.private_key.get_secret_value(),
            "FAULTLINE_WEBHOOK_SECRET": settings.webhook_secret.get_secret_value(),
            "FAULTLINE_GITHUB_API_URL": settings.github_api_url,
            "FAULTLINE_DATA_DIR": str(self.tmp_path / "data"),
            "FAULTLINE_ENV_FILE": str(self.tmp_path / "none.env"),
            **FAST,
            **extra,
        }
        if self.redis is not None:
            env["FAULTLINE_REDIS_URL"] = self.redis.url
        return env

    def _spawn(self, *args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        self.logs += 1
        log = (self.tmp_path / f"process-{self.logs}.log").open("wb")
        command = [sys.executable, "-m", "faultline.app.cli.main", *args]
        process = subprocess.Popen(command, cwd=self.tmp_path, env=env, stdout=log, stderr=log)
        self.spawned.append(process)  # every one is stopped, also a worker started beside another
        return process

    def start(self, **extra: str) -> None:
        """The web process (with the workers, embedded) and, on Redis, one worker."""
        command = "serve" if self.redis is None else "web"
        self.web = self._spawn(command, "--port", str(self.port), env=self.env(**extra))
        wait_for(self._ready, "the server to be ready")
        if self.redis is not None:
            self.start_worker(**extra)

    def start_worker(self, **extra: str) -> None:
        self.worker = self._spawn("worker", env=self.env(**extra))

    def _ready(self) -> bool:
        assert self.web is not None
        if self.web.poll() is not None:
            raise AssertionError(f"the server exited {self.web.returncode}: {self.log_text()}")
        try:
            return httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def working(self) -> subprocess.Popen[bytes]:
        """The process that runs the jobs."""
        process = self.worker if self.redis is not None else self.web
        assert process is not None
        return process

    def log_text(self) -> str:
        return "\n".join(path.read_text() for path in sorted(self.tmp_path.glob("process-*.log")))

    def deliver(
        self, pull: PullRequest, action: str = "opened", delivery: str | None = None
    ) -> httpx.Response:
        world = self.world
        payload = pull_request_payload(world.sim, pull, action, installation=world.installation)
        body = json.dumps(payload).encode()
        assert world.settings.webhook_secret is not None
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
            "X-Hub-Signature-256": sign(world.settings.webhook_secret.get_secret_value(), body),
        }
        response = httpx.post(f"{self.url}/webhook", content=body, headers=headers, timeout=10)
        assert response.status_code == 202, response.text
        return response

    def stop(self) -> None:
        for process in reversed(self.spawned):
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with sim_world(tmp_path) as made:
        yield made


@pytest.fixture(params=["embedded", "redis"])
def service(request: pytest.FixtureRequest, world: World, tmp_path: Path) -> Iterator[Service]:
    redis = None
    if request.param == "redis":
        redis = RedisServer(tmp_path / "redis", durable=True)
        redis.start()
    made = Service(world, tmp_path, redis)
    yield made
    made.stop()
    if redis is not None:
        redis.stop()


def completed(world: World, sha: str) -> bool:
    runs = world.sim.check_runs(FULL_NAME, sha)
    return bool(runs) and all(run.status == "completed" for run in runs)


def restart_after_kill(service: Service) -> None:
    """Wait for the working process to kill itself, restart Redis (scale-out), start it again."""
    process = service.working()
    process.wait(timeout=WAIT_SECONDS)
    assert process.returncode == -signal.SIGKILL, service.log_text()
    if service.redis is not None:
        service.redis.restart()  # what it held comes back from its append-only file
        service.start_worker()
    else:
        service.start()


@pytest.mark.parametrize("step", ["check_created", "review_posted"])
def test_a_worker_killed_mid_run_and_restarted_leaves_one_review_and_one_check_run(
    service: Service, world: World, tmp_path: Path, step: str
) -> None:
    pull = world.open_pull(RISKY)
    service.start(FAULTLINE_CRASH_AT=f"{step}:{tmp_path / 'crashed'}")
    service.deliver(pull)
    restart_after_kill(service)
    wait_for(lambda: completed(world, pull.head_sha), "the check run to be completed")
    [run] = world.sim.check_runs(FULL_NAME, pull.head_sha)
    assert (run.status, run.conclusion) == ("completed", "failure")  # RISKY has errors
    assert len(world.sim.reviews(pull)) == 1
    assert (tmp_path / "crashed").read_text() == step


def test_a_worker_killed_while_resolving_threads_finishes_them_after_restart(
    service: Service, world: World, tmp_path: Path
) -> None:
    pull = world.open_pull(RISKY)
    service.start(FAULTLINE_CRASH_AT=f"resolving_threads:{tmp_path / 'crashed'}")
    service.deliver(pull)
    wait_for(lambda: completed(world, pull.head_sha), "the first run")
    fixed = world.push(pull, dict.fromkeys(RISKY, "x = 1\n"))
    service.deliver(pull, "synchronize")
    restart_after_kill(service)
    wait_for(lambda: completed(world, fixed), "the second run")
    wait_for(
        lambda: all(thread.is_resolved for thread in world.sim.thread_records.values()),
        "every thread to be resolved",
    )
    [run] = world.sim.check_runs(FULL_NAME, fixed)
    assert run.conclusion == "success"
    assert len(world.sim.reviews(pull)) == 1


def test_a_duplicate_delivery_runs_once(service: Service, world: World) -> None:
    pull = world.open_pull(RISKY)
    service.start()
    first = service.deliver(pull, delivery="same-delivery")
    again = service.deliver(pull, delivery="same-delivery")
    assert (first.json()["queued"], again.json()["queued"]) == (True, False)
    wait_for(lambda: completed(world, pull.head_sha), "the check run")
    assert len(world.sim.check_runs(FULL_NAME, pull.head_sha)) == 1
    assert len(world.sim.reviews(pull)) == 1


def test_ten_pushes_give_one_analysis_of_the_last_head(service: Service, world: World) -> None:
    # The newest delivery waits 3 s for a newer push: the ten come well within that.
    service.start(FAULTLINE_SETTLE_SECONDS="3")
    pull = world.open_pull(RISKY)
    heads = [pull.head_sha]
    service.deliver(pull, "opened")
    for number in range(9):
        heads.append(world.push(pull, {"app/extra.py": f"n = {number}\n"}))
        service.deliver(pull, "synchronize")  # carries the head GitHub has now
    wait_for(lambda: all(completed(world, head) for head in heads), "every head's check run")
    [last] = world.sim.check_runs(FULL_NAME, heads[-1])
    assert last.conclusion == "failure"
    for number, head in enumerate(heads[:-1]):
        [run] = world.sim.check_runs(FULL_NAME, head)
        # Superseded by the newest head known when its run was taken up.
        newer = {f"Superseded by `{later[:7]}`" for later in heads[number + 1 :]}
        assert run.conclusion == "cancelled" and (run.summary or "").split(".")[0] in newer
    assert len(world.sim.reviews(pull)) == 1


def test_sigterm_with_a_run_in_flight_exits_0_and_the_run_completes(service: Service, world: World) -> None:
    pull = world.open_pull(RISKY)
    service.start()
    service.deliver(pull)
    wait_for(lambda: bool(world.sim.check_runs(FULL_NAME, pull.head_sha)), "the run to start")
    process = service.working()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=WAIT_SECONDS) == 0, service.log_text()
    if not completed(world, pull.head_sha):
        service.start_worker() if service.redis is not None else service.start()
    wait_for(lambda: completed(world, pull.head_sha), "the check run")
    assert len(world.sim.check_runs(FULL_NAME, pull.head_sha)) == 1
    assert len(world.sim.reviews(pull)) == 1


def test_a_sustained_outage_fails_the_check_run_saying_recheck_retries(
    service: Service, world: World
) -> None:
    pull = world.open_pull(RISKY)
    world.sim.fail("POST", f"/repos/{FULL_NAME}/pulls/1/reviews", 502, times=1000)
    service.start(FAULTLINE_OUTAGE_DEADLINE_SECONDS="1")
    service.deliver(pull)
    wait_for(lambda: completed(world, pull.head_sha), "the check run to be given up")
    [run] = world.sim.check_runs(FULL_NAME, pull.head_sha)
    assert (run.conclusion, run.title) == ("failure", "Faultline itself failed")
    assert "502" in (run.summary or "") and "/recheck" in (run.summary or "")
