"""The SQLite job queue: durable, deduplicated by delivery, bounded retries, survives kills."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from githubkit.exception import SecondaryRateLimitExceeded
from githubkit.response import Response as GitHubResponse

from faultline.app.github.client import TransientGitHubError
from faultline.app.settings import Settings
from faultline.app.work import queue as queue_module
from faultline.app.work.queue import RETRIES, JobQueue, is_transient, retry_after
from faultline.app.work.request import AnalysisRequest
from tests.app.conftest import MakeSettings
from tests.app.queue_worker import REQUEST, STARTED_FILE

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 15.0


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Recorder:
    """A job runner that records its calls and can fail the first ones."""

    def __init__(self, failures: list[BaseException] | None = None) -> None:
        self.calls: list[AnalysisRequest] = []
        self.failures = list(failures or [])
        self.lock = threading.Lock()

    def __call__(self, settings: Settings, request: AnalysisRequest) -> None:
        with self.lock:
            self.calls.append(request)
            failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            raise failure

    def requests(self) -> list[AnalysisRequest]:
        """The requests run, without what the queue adds to each attempt."""
        return [dataclasses.replace(call, retry_in=None) for call in self.calls]


@pytest.fixture
def queues() -> Iterator[list[JobQueue]]:
    """JobQueues to stop after the test."""
    started: list[JobQueue] = []
    yield started
    for item in started:
        item.stop()


def request(delivery: str = "d-1") -> AnalysisRequest:
    return AnalysisRequest(
        delivery, "pull_request.opened", 7, "octo", "demo", pull_number=3, head_sha="b" * 40
    )


def test_enqueue_stores_the_request_once_per_delivery(make_settings: MakeSettings) -> None:
    queue = JobQueue(make_settings())
    assert queue.enqueue(request("d-1"))
    assert not queue.enqueue(request("d-1"))  # a redelivery
    assert queue.enqueue(request("d-2"))
    assert queue.pending_requests() == [request("d-1"), request("d-2")]
    assert queue.stats().pending == 2


def test_delivery_ids_are_remembered_across_restarts(make_settings: MakeSettings) -> None:
    settings = make_settings()
    JobQueue(settings).enqueue(request("d-1"))
    assert not JobQueue(settings).enqueue(request("d-1"))


def test_old_delivery_ids_are_forgotten(make_settings: MakeSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    queue = JobQueue(make_settings())
    queue.enqueue(request("d-1"))
    time.sleep(0.01)
    monkeypatch.setattr(queue_module, "DELIVERY_MEMORY", timedelta(0))
    assert queue.enqueue(request("d-1"))


def test_job_queued_by_a_killed_process_runs_on_the_next_start(
    make_settings: MakeSettings, queues: list[JobQueue]
) -> None:
    settings = make_settings(workers=1)
    killed = subprocess.run(
        [sys.executable, "-m", "tests.app.queue_worker", str(settings.data_dir), "enqueue"],
        cwd=ROOT,
        check=False,
    )
    assert killed.returncode == -9
    recorder = Recorder()
    queue = JobQueue(settings, runner=recorder)
    queues.append(queue)
    queue.start()
    wait_for(lambda: len(recorder.calls) == 1, "the job to run")
    assert recorder.requests() == [REQUEST]
    wait_for(lambda: queue.stats().jobs.get("succeeded") == 1, "the job to finish")
    assert queue.stats().pending == 0


def test_job_running_when_the_process_is_killed_runs_again_with_one_retry_less(
    make_settings: MakeSettings, queues: list[JobQueue]
) -> None:
    settings = make_settings(workers=1)
    JobQueue(settings).enqueue(REQUEST)
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.app.queue_worker", str(settings.data_dir), "hang"], cwd=ROOT
    )
    try:
        wait_for((settings.data_dir / STARTED_FILE).exists, "the job to start")
    finally:
        worker.kill()
        worker.wait()
    recorder = Recorder()
    queue = JobQueue(settings, runner=recorder)
    queues.append(queue)
    queue.start()
    wait_for(lambda: len(recorder.calls) == 1, "the interrupted job to run again")
    assert recorder.requests() == [REQUEST]


def test_job_interrupted_with_no_retries_left_is_dropped(
    make_settings: MakeSettings, queues: list[JobQueue]
) -> None:
    settings = make_settings(workers=1)
    queue = JobQueue(settings)
    task = queue._task.s(REQUEST.__dict__)
    task.retries = 0  # it was interrupted as often as it may be
    queue._storage.mark_running(task.id, queue.huey.serialize_task(task))
    queue._storage.mark_running("other", queue.huey.serialize_task(queue._task.s(request("d-9").__dict__)))
    recorder = Recorder()
    restarted = JobQueue(settings, runner=recorder)
    queues.append(restarted)
    restarted.start()
    wait_for(lambda: len(recorder.calls) == 1, "the job with retries left to run")
    time.sleep(0.3)
    assert recorder.requests() == [request("d-9")]
    assert restarted.stats().running == 0


@pytest.fixture
def no_retry_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queue_module, "RETRY_DELAY_SECONDS", 0)


@pytest.mark.usefixtures("no_retry_delay")
def test_transient_failures_are_retried_a_bounded_number_of_times(
    make_settings: MakeSettings, queues: list[JobQueue]
) -> None:
    recorder = Recorder([ConnectionError("reset")] * 10)
    queue = JobQueue(make_settings(), runner=recorder)
    queues.append(queue)
    queue.enqueue(request())
    queue.start()
    wait_for(lambda: queue.stats().jobs.get("failed") == 1, "the job to give up")
    time.sleep(0.3)
    assert len(recorder.calls) == 1 + RETRIES
    # The job knows when the queue would try again (0 s here), and that the last attempt is the last.
    assert [call.retry_in for call in recorder.calls] == [0.0] * RETRIES + [None]
    assert queue.stats().jobs == {"retried": RETRIES, "failed": 1}
    assert (queue.stats().pending, queue.stats().running) == (0, 0)


@pytest.mark.usefixtures("no_retry_delay")
def test_transient_failure_then_success(make_settings: MakeSettings, queues: list[JobQueue]) -> None:
    recorder = Recorder([TimeoutError("slow")])
    queue = JobQueue(make_settings(), runner=recorder)
    queues.append(queue)
    queue.enqueue(request())
    queue.start()
    wait_for(lambda: queue.stats().jobs.get("succeeded") == 1, "the retry to succeed")
    assert [call.delivery_id for call in recorder.calls] == ["d-1", "d-1"]


@pytest.mark.usefixtures("no_retry_delay")
def test_a_bug_is_not_retried(make_settings: MakeSettings, queues: list[JobQueue]) -> None:
    recorder = Recorder([KeyError("pull_request")])
    queue = JobQueue(make_settings(), runner=recorder)
    queues.append(queue)
    queue.enqueue(request())
    queue.start()
    wait_for(lambda: queue.stats().jobs.get("failed") == 1, "the job to fail")
    time.sleep(0.3)
    assert len(recorder.calls) == 1


def rate_limited(seconds: int) -> SecondaryRateLimitExceeded:
    raw = httpx.Response(403, request=httpx.Request("POST", "http://github.test/repos/o/r/check-runs"))
    return SecondaryRateLimitExceeded(GitHubResponse(raw, object), timedelta(seconds=seconds))


def test_rate_limited_job_waits_as_long_as_github_asks(
    make_settings: MakeSettings, queues: list[JobQueue]
) -> None:
    recorder = Recorder([rate_limited(600)])
    queue = JobQueue(make_settings(), runner=recorder)
    queues.append(queue)
    queue.enqueue(request())
    queue.start()
    # huey signals the error before it stores the retry in its schedule: wait for both.
    wait_for(
        lambda: queue.stats().jobs.get("retried") == 1 and len(queue.huey.scheduled()) == 1,
        "the job to be rescheduled",
    )
    [scheduled] = queue.huey.scheduled()
    wait = scheduled.eta.replace(tzinfo=UTC) - datetime.now(UTC)
    assert timedelta(seconds=590) < wait <= timedelta(seconds=600)
    assert queue.stats().pending == 1


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (ConnectionError(), True),
        (TimeoutError(), True),
        (httpx.ConnectError("refused"), True),
        (ValueError("bug"), False),
        (NotImplementedError(), False),
    ],
)
def test_which_errors_are_transient(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient


def test_rate_limit_is_transient_and_says_how_long_to_wait() -> None:
    error = rate_limited(42)
    assert is_transient(error)
    assert retry_after(error) == 42.0
    assert retry_after(ConnectionError()) is None


def test_the_jobs_transient_error_says_how_long_to_wait() -> None:
    error = TransientGitHubError("GitHub answered 502 three times", 90.0)
    assert is_transient(error)
    assert retry_after(error) == 90.0


def test_stats_count_workers(make_settings: MakeSettings, queues: list[JobQueue]) -> None:
    queue = JobQueue(make_settings(workers=3))
    assert queue.stats().workers_alive is None
    queues.append(queue)
    queue.start()
    assert queue.stats().workers_alive == 3


@pytest.mark.parametrize(("status", "transient"), [(404, False), (403, False), (429, True), (502, True)])
def test_a_github_answer_is_transient_only_for_5xx_and_429(status: int, transient: bool) -> None:
    from githubkit.exception import RequestError, RequestFailed
    from githubkit.response import Response

    request = httpx.Request("POST", "https://api.github.com/app/installations/1/access_tokens")
    failed = RequestFailed(Response(httpx.Response(status, request=request), dict))
    assert is_transient(failed) is transient
    # Raised while minting the installation token, it comes wrapped in a RequestError.
    assert is_transient(RequestError(failed)) is transient
