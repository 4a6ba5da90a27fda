"""The job queue over its two stores (SQLite in the data dir, a real Redis): durable,
deduplicated by delivery, JSON only, leases that survive kills, retries until the outage
deadline, runs of one pull request that never overlap, a shutdown that hands runs back."""

from __future__ import annotations

import asyncio
import os
import pickle
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from githubkit.exception import SecondaryRateLimitExceeded
from githubkit.response import Response as GitHubResponse
from huey.registry import Message

from faultline.app.github.client import TransientGitHubError
from faultline.app.settings import Settings
from faultline.app.work.group_commit import GroupCommit
from faultline.app.work.ledger import DONE, QUEUED
from faultline.app.work.queue import (
    TASK_NAME,
    WORKER_NICENESS,
    JobQueue,
    StoreLeases,
    is_transient,
    retry_after,
)
from faultline.app.work.request import AnalysisRequest, RunOutcome
from tests.app.conftest import MakeSettings
from tests.app.queue_worker import REQUEST, STARTED_FILE
from tests.app.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 15.0
FAST = {"settle_seconds": 0, "lease_seconds": 1.0, "sweep_seconds": 0.2, "retry_base_seconds": 0.05}


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Recorder:
    """A job runner that records its calls and can fail the first ones."""

    def __init__(
        self,
        failures: list[BaseException] | None = None,
        *,
        always: BaseException | None = None,
        give_up_failures: list[BaseException] | None = None,
    ) -> None:
        self.calls: list[AnalysisRequest] = []
        self.failures = list(failures or [])
        self.always = always
        self.given_up: list[tuple[str, BaseException]] = []
        self.give_up_failures = list(give_up_failures or [])
        self.lock = threading.Lock()

    def __call__(self, settings: Settings, request: AnalysisRequest, leases: StoreLeases) -> RunOutcome:
        with self.lock:
            self.calls.append(request)
            failure = self.failures.pop(0) if self.failures else self.always
        if failure is not None:
            raise failure
        return RunOutcome("success", "ok", request.head_sha)

    def give_up(self, settings: Settings, request: AnalysisRequest, err: BaseException) -> None:
        with self.lock:
            self.given_up.append((request.delivery_id, err))
            if self.give_up_failures:
                raise self.give_up_failures.pop(0)


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """None for SQLite in the data dir, or the URL of a real redis-server."""
    if request.param == "sqlite":
        yield None
        return
    server = RedisServer(tmp_path / "redis", durable=True)
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def queues() -> Iterator[list[JobQueue]]:
    """JobQueues to stop after the test."""
    started: list[JobQueue] = []
    yield started
    for item in started:
        item.stop()


def make_queue(
    make_settings: MakeSettings,
    store: str | None,
    queues: list[JobQueue],
    recorder: Recorder | None = None,
    **knobs: Any,
) -> JobQueue:
    settings = make_settings(redis_url=store, **{**FAST, **knobs})
    queue = JobQueue(settings, runner=recorder, give_up=recorder.give_up if recorder else None)
    return queue


def start(queue: JobQueue, queues: list[JobQueue], store: str | None) -> JobQueue:
    queues.append(queue)
    queue.start(exclusive=store is None)
    return queue


def request(delivery: str = "d-1", head: str = "b" * 40, pull: int = 3) -> AnalysisRequest:
    return AnalysisRequest(
        delivery, "pull_request.opened", 7, "octo", "demo", pull_number=pull, head_sha=head
    )


def record(queue: JobQueue, run_id: str = "d-1") -> Any:
    return next(run for run in queue.recent(100) if run.run_id == run_id)


def test_enqueue_stores_the_run_once_per_delivery(
    make_settings: MakeSettings, store: str | None, queues: list[JobQueue]
) -> None:
    queue = make_queue(make_settings, store, queues)
    assert queue.enqueue(request("d-1"))
    assert not queue.enqueue(request("d-1"))  # a redelivery
    assert queue.enqueue(request("d-2", head="c" * 40))
    assert [run.run_id for run in queue.recent()] == ["d-2", "d-1"]
    assert queue.stats().pending == 2
    # Remembered across a restart too.
    assert not make_queue(make_settings, store, queues).enqueue(request("d-1"))


def test_deliveries_admitted_together_are_written_in_groups_each_stored_once(
    make_settings: MakeSettings, store: str | None, queues: list[JobQueue]
) -> None:
    queue = make_queue(make_settings, store, queues)
    writes: list[int] = []
    admit_many = queue.store.admit_many

    def counted(items: list[tuple[AnalysisRequest, bytes]]) -> list[bool]:
        writes.append(len(items))
        return admit_many(items)

    queue._admission = GroupCommit(counted)
    # 40 deliveries at once, one of them twice in the same group, one seen before.
    assert queue.enqueue(request("seen"))
    ids = [f"d-{number}" for number in range(40)] + ["d-7", "seen"]

    async def admit_all() -> list[bool]:
        return await asyncio.gather(*(queue.admit(request(run_id, pull=n)) for n, run_id in enumerate(ids)))

    admitted = asyncio.run(admit_all())
    assert admitted == [True] * 40 + [False, False]
    assert sum(writes) == len(ids) and len(writes) < len(ids) / 4
    assert queue.stats().pending == 41
    assert {run.run_id for run in queue.recent(100)} == {*ids}


def test_a_failed_group_write_fails_every_delivery_in_it_and_stores_none(
    make_settings: MakeSettings, store: str | None, queues: list[JobQueue]
) -> None:
    queue = make_queue(make_settings, store, queues)

    def full_disk(items: list[tuple[AnalysisRequest, bytes]]) -> list[bool]:
        raise OSError(28, "No space left on device")

    queue._admission = GroupCommit(full_disk)

    async def admit_two() -> list[bool | BaseException]:
        return await asyncio.gather(
            queue.admit(request("a")), queue.admit(request("b")), return_exceptions=True
        )

    assert all(isinstance(outcome, OSError) for outcome in asyncio.run(admit_two()))
    assert queue.recent(10) == []


@pytest.mark.skipif(sys.platform != "linux", reason="a thread's own nice value is Linux's")
def test_jobs_run_at_a_lower_priority_than_the_receiver(
    make_settings: MakeSettings, store: str | None, queues: list[JobQueue]
) -> None:
    niceness: list[int] = []

    def runner(settings: Settings, job: AnalysisRequest, leases: StoreLeases) -> RunOutcome:
        niceness.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return RunOutcome("success")

    queue = JobQueue(make_settings(redis_url=store, **FAST), runner=runner)
    start(queue, queues, store)
    queue.enqueue(request())
    wait_for(lambda: bool(niceness), "the run")
    here = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert niceness == [min(19, here + WORKER_NICENESS)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == here  # this thread's is unchanged


def test_a_duplicate_delivery_runs_once(
    make_settings: MakeSettings, store: str | None, queues: list[JobQueue]
) -> None:
    recorder = Recorder()
    queue = make_queue(make_settings, store, queues, recorder)
    queue.enqueue(request("d-1"))
    queue.enqueue(request("d-1"))
    queue._wake("d-1")  # a sweep that queued it again
    start(queue, queues, store)
    wait_for(lambda: record(queue).state == DONE, "the run to finish")
    time.sleep(0.3)
    assert [call.delivery_id for call in recorder.calls] == ["d-1"]


class Exploit:
    """Unpickling this would write a file: the queue must never unpickle."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.write_text, (self.path, "pwned"))


def test_a_pickled_message_is_refused_not_executed(
    make_settings: MakeSettings, store: str | None, queues: list[JobQueue], tmp_path: Path
) -> None:
    recorder = Recorder()
    queue = make_queue(make_settings, store, queues, recorder)
    target = tmp_path / "pwned"
    message = Message("x", TASK_NAME, None, 0, 0, None, (Exploit(target),), {}, None, None, None, None)
    queue.huey.storage.enqueue(pickle.dumps(message))
    queue.enqueue(request("d-1"))
    start(queue, queues, store)
    wait_for(lambda: record(queue).state == DONE, "the JSON job after it to run")
    assert not target.exists()
    assert [call.delivery_id for call in recorder.calls] == ["d-1"]


def test_job_queued_by_a_killed_process_runs_on_the_next_start(
    make_settings: MakeSettings, store: str | None, queues: list[JobQueue]
) -> None:
    queue = make_queue(make_settings, store, queues, Recorder())
    data_dir = str(queue._settings.data_dir)
    killed = subprocess.run(
        [sys.executable, "-m", "tests.app.queue_worker", data_dir, "enqueue", *([store] if store else [])],
        cwd=ROOT,
        check=False,
    )
    assert killed.returncode == -9
    recorder = Recorder()
    queue = start(make_queue(make_settings, store, queues, recorder), queues, store)
    wait_for(lambda: len(recorder.calls) == 1, "the job to run")
    assert [call.delivery_id for call in recorder.calls] == [REQUEST.delivery_id]


def test_a_run_whose_worker_was_killed_runs_again_without_counting_an_error(
    make_settings: MakeSettings, store: str | None, queues: list[JobQueue]
) -> None:
    first = make_queue(make_settings, store, queues)
    first.enqueue(REQUEST)
    data_dir = first._settings.data_dir
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.app.queue_worker", str(data_dir), "hang", *([store] if store else [])],
        cwd=ROOT,
    )
    try:
        wait_for((data_dir / STARTED_FILE).exists, "the job to start")
    finally:
        worker.kill()
        worker.wait()
    recorder = Recorder()
    # On Redis another worker takes the run over once the dead one's lease expires.
    queue = start(make_queue(make_settings, store, queues, recorder), queues, store)
    wait_for(lambda: record(queue, REQUEST.delivery_id).state == DONE, "the interrupted run to finish")
    run = record(queue, REQUEST.delivery_id)
    assert [call.delivery_id for call in recorder.calls] == [REQUEST.delivery_id]
    assert (run.starts, run.errors, run.conclusion) == (2, 0, "success")


def test_an_exclusive_start_takes_back_the_pull_leases_of_a_killed_process(
    make_settings: MakeSettings, queues: list[JobQueue]
) -> None:
    # A serve process SIGKILLed while a run held its pull request's lease: the next start
    # holds the data dir's lock, so that lease is a dead process's and must not hold up the
    # pull request's runs (and a worker thread) until it expires.
    queue = make_queue(make_settings, None, queues, lease_seconds=3600)
    now = time.time()
    assert queue.store.take_pull("7/octo/demo#3", "killed-owner", "killed-owner/1", now + 3600, now)
    start(queue, queues, None)
    now = time.time()
    assert queue.store.take_pull("7/octo/demo#3", queue.owner, f"{queue.owner}/1", now + 60, now)


def messages(queue: JobQueue) -> int:
    storage = queue.huey.storage
    return int(storage.queue_size() + storage.schedule_size())


def test_a_sweep_queues_again_only_the_runs_that_lost_their_message(
    make_settings: MakeSettings, queues: list[JobQueue]
) -> None:
    # The SQLite file holds the messages beside the ledger. A run waiting its turn behind a
    # backlog is not lost: a message more for it per sweep, or per restart, only gave the
    # workers more to read and drop, and made the backlog longer (thousands of messages
    # for 300 runs under load, the chaos bench showed).
    queue = make_queue(make_settings, None, queues, sweep_grace_seconds=0)
    for number in range(3):
        queue.enqueue(request(f"d-{number}", head=f"{number:040d}", pull=number))
    queue.huey.storage.dequeue()  # d-0's message, read by a process killed before its claim
    queue.store.sql(  # d-1 waits for a retry, scheduled in a minute
        "update run set due = ? where run_id = ?", (time.time() + 60, "d-1"), commit=True
    )
    queue._wake("d-1", 60)
    assert messages(queue) == 3
    assert queue.sweep() == 1  # d-0 alone
    assert messages(queue) == 4
    # A restart holding the data dir's lock queues nothing again: each run has its message.
    assert queue.sweep(everything=True) == 0
    assert messages(queue) == 4


def test_a_restart_wakes_a_run_whose_only_message_comes_too_late(
    make_settings: MakeSettings, queues: list[JobQueue]
) -> None:
    # A message scheduled past the run's due time does not count: the run is woken when due.
    queue = make_queue(make_settings, None, queues)
    queue.enqueue(request())
    queue.huey.storage.dequeue()
    queue._wake("d-1", 600)
    assert queue.sweep(everything=True) == 1


def test_transient_errors_are_retried_until_the_outage_deadline_then_given_up(
    make_settings: MakeSettings, store: str | None, queues: list[JobQueue]
) -> None:
    recorder = Recorder(always=ConnectionError("reset"))
    queue = make_queue(
        make_settings, store, queues, recorder, outage_deadline_seconds=0.5, retry_max_seconds=0.1
    )
    queue.enqueue(request())
    start(queue, queues, store)
    wait_for(lambda: record(queue).state == DONE, "the run to be given up")
    run = record(queue)
    assert len(recorder.calls) >= 2 and run.errors == len(recorder.calls) - 1
    assert [delivery for delivery, _err in recorder.given_up] == ["d-1"]
    assert run.conclusion == "error" and "reset" in (run.detail or "")


def test_transient_failure_then_success(
    make_settings: MakeSettings, store: str | None, queues: list[JobQueue]
) -> None:
    recorder = Recorder([TimeoutError("slow")])
    queue = make_queue(make_settings, store, queues, recorder)
    queue.enqueue(request())
    start(queue, queues, store)
    wait_for(lambda: record(queue).state == DONE, "the retry to succeed")
    assert [call.delivery_id for call in recorder.calls] == ["d-1", "d-1"]
    assert (record(queue).conclusion, recorder.given_up) == ("success", [])


def test_a_bug_is_not_retried_and_its_run_is_given_up(
    make_settings: MakeSettings, store: str | None, queues: list[JobQueue]
) -> None:
    recorder = Recorder([KeyError("pull_request")])
    queue = make_queue(make_settings, store, queues, recorder)
    queue.enqueue(request())
    start(queue, queues, store)
    wait_for(lambda: record(queue).state == DONE, "the run to be given up")
    assert len(recorder.calls) == 1 and len(recorder.given_up) == 1


def rate_limited(seconds: int) -> SecondaryRateLimitExceeded:
    raw = httpx.Response(403, request=httpx.Request("POST", "http://github.test/repos/o/r/check-runs"))
    return SecondaryRateLimitExceeded(GitHubResponse(raw, object), timedelta(seconds=seconds))


def test_a_run_given_up_whose_check_run_could_not_be_completed_is_given_up_again(
    make_settings: MakeSettings, store: str | None, queues: list[JobQueue]
) -> None:
    # Completing the check run as failed met a 502: the run stays owed, or the check run
    # would be left in progress for good while the ledger said done.
    recorder = Recorder(always=KeyError("pull_request"), give_up_failures=[ConnectionError("reset")])
    queue = make_queue(make_settings, store, queues, recorder, retry_max_seconds=0.1)
    queue.enqueue(request())
    start(queue, queues, store)
    wait_for(lambda: record(queue).state == DONE, "the run to be given up")
    assert [delivery for delivery, _err in recorder.given_up] == ["d-1", "d-1"]
    assert record(queue).conclusion == "error"


def fail_once(target: object, name: str, error: Exception) -> list[int]:
    """Make ``target.name`` raise ``error`` on its first call; the list counts the calls."""
    real = getattr(target, name)
    calls = [0]

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == 1:
            raise error
        return real(*args, **kwargs)

    setattr(target, name, failing)
    return calls


def test_a_run_the_store_failed_under_is_taken_up_again_not_held_forever(
    make_settings: MakeSettings, store: str | None, queues: list[JobQueue]
) -> None:
    # A busy SQLite file ("database is locked" after its timeout) or a Redis gone, in the
    # middle of a run and again when the run is handed back: the worker drops the run, and
    # the heartbeat must stop renewing its lease, or the run stays leased for good.
    recorder = Recorder()
    queue = make_queue(make_settings, store, queues, recorder)
    queue.enqueue(request())
    busy = sqlite3.OperationalError("database is locked")
    newest = fail_once(queue.store, "newest", busy)
    requeued = fail_once(queue.store, "requeue", busy)
    start(queue, queues, store)
    wait_for(lambda: record(queue).state == DONE, "the run to finish")
    assert newest[0] == 2 and requeued[0] == 1
    assert [call.delivery_id for call in recorder.calls] == ["d-1"]
    assert record(queue).conclusion == "success"


def test_a_pull_request_lease_the_store_failed_to_drop_expires(
    make_settings: MakeSettings, store: str | None, queues: list[JobQueue]
) -> None:
    # The lease is not renewed once its run let go of it: the pull request's next run gets
    # it when it expires, instead of a worker waiting for it for good.
    done: list[str] = []

    def runner(settings: Settings, request: AnalysisRequest, leases: StoreLeases) -> RunOutcome:
        holder = leases.acquire("7/octo/demo#3")
        leases.release("7/octo/demo#3", holder)
        done.append(request.delivery_id)
        return RunOutcome("success")

    queue = JobQueue(make_settings(redis_url=store, workers=1, **FAST), runner=runner)
    dropped = fail_once(queue.store, "drop_pull", sqlite3.OperationalError("database is locked"))
    queue.enqueue(request("d-1", pull=10))
    queue.enqueue(request("d-2", head="c" * 40, pull=11))
    start(queue, queues, store)
    wait_for(lambda: len(done) == 2, "both runs to finish")
    assert dropped[0] == 2
    wait_for(lambda: all(run.conclusion == "success" for run in queue.recent()), "both runs to succeed")


def test_rate_limited_run_is_due_no_sooner_than_github_asks(
    make_settings: MakeSettings, store: str | None, queues: list[JobQueue]
) -> None:
    recorder = Recorder([rate_limited(600)])
    queue = make_queue(make_settings, store, queues, recorder)
    queue.enqueue(request())
    before = time.time()
    start(queue, queues, store)
    wait_for(lambda: record(queue).errors == 1, "the run to be put back")
    run = record(queue)
    assert run.state == QUEUED and run.due >= before + 600


def test_runs_of_one_pull_request_never_overlap_across_workers(
    make_settings: MakeSettings, store: str | None, queues: list[JobQueue]
) -> None:
    inside, most = [0], [0]
    lock = threading.Lock()

    def runner(settings: Settings, request: AnalysisRequest, leases: StoreLeases) -> RunOutcome:
        holder = leases.acquire("7/octo/demo#3")
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.05)
        with lock:
            inside[0] -= 1
        leases.release("7/octo/demo#3", holder)
        return RunOutcome("success")

    workers = 2 if store is None else 1
    one = JobQueue(make_settings(redis_url=store, workers=workers, **FAST), runner=runner)
    for number in range(6):
        one.enqueue(request(f"d-{number}", head=f"{number:040d}", pull=number + 10))
    start(one, queues, store)
    if store is not None:  # a second process's queue on the same Redis
        start(JobQueue(make_settings(redis_url=store, **FAST), runner=runner), queues, store)
    wait_for(lambda: one.stats().pending + one.stats().running == 0, "every run to finish")
    assert most[0] == 1


def test_newest_head_runs_and_older_ones_are_superseded(
    make_settings: MakeSettings, store: str | None, queues: list[JobQueue]
) -> None:
    recorder = Recorder()
    queue = make_queue(make_settings, store, queues, recorder, settle_seconds=0.3)
    heads = [f"{number:040d}" for number in range(10)]
    for number, head in enumerate(heads):
        queue.enqueue(request(f"d-{number}", head=head))
    start(queue, queues, store)
    wait_for(lambda: all(run.state == DONE for run in queue.recent(100)), "every run to finish")
    superseded = {call.head_sha: call.superseded_by for call in recorder.calls}
    assert superseded == {**{head: heads[-1] for head in heads[:-1]}, heads[-1]: None}


def test_stop_hands_a_running_job_back_and_the_next_start_runs_it(
    make_settings: MakeSettings, store: str | None, queues: list[JobQueue]
) -> None:
    release = threading.Event()
    started = threading.Event()

    def slow(settings: Settings, request: AnalysisRequest, leases: StoreLeases) -> RunOutcome:
        started.set()
        release.wait(WAIT_SECONDS)
        return RunOutcome("success")

    settings = make_settings(redis_url=store, shutdown_grace_seconds=0.2, **FAST)
    queue = JobQueue(settings, runner=slow)
    queue.enqueue(request())
    queue.start(exclusive=store is None)
    assert started.wait(WAIT_SECONDS)
    assert queue.stop() == ["d-1"]
    assert record(queue).state == QUEUED
    release.set()
    recorder = Recorder()
    again = start(JobQueue(settings, runner=recorder), queues, store)
    wait_for(lambda: record(again).state == DONE, "the handed back run to finish")
    assert [call.delivery_id for call in recorder.calls] == ["d-1"]


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


@pytest.mark.parametrize(("status", "transient"), [(404, False), (403, False), (429, True), (502, True)])
def test_a_github_answer_is_transient_only_for_5xx_and_429(status: int, transient: bool) -> None:
    from githubkit.exception import RequestError, RequestFailed
    from githubkit.response import Response

    request = httpx.Request("POST", "https://api.github.com/app/installations/1/access_tokens")
    failed = RequestFailed(Response(httpx.Response(status, request=request), dict))
    assert is_transient(failed) is transient
    # Raised while minting the installation token, it comes wrapped in a RequestError.
    assert is_transient(RequestError(failed)) is transient
