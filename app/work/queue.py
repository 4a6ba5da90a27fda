"""The job queue and its workers, over one store: SQLite in the data dir (embedded, the
default) or Redis (``FAULTLINE_REDIS_URL``, scale-out). huey moves the messages; the run
ledger (``ledger.py``) in the same store is the truth about each run.

- ``enqueue`` records the run and queues its message in one transaction (one Lua script on
  Redis), deduplicated by delivery id, before the receiver answers 202.
- A message names a run; a worker claims the run with a lease, renewed by a heartbeat while
  it runs. A run whose worker died (lease expired), or that is due but fell off the queue,
  is queued again by the sweeper (at start and every ``sweep_seconds``).
- A pull request's runs hold a lease on the pull request in the store: they never overlap.
- Errors time cures are retried with backoff until the outage deadline (``policy.py``); a
  killed worker costs the run nothing but time. A run given up completes its check run.
- ``stop`` lets running jobs finish for ``shutdown_grace_seconds`` and hands the rest back.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Protocol

import structlog
from huey import RedisHuey, SqliteHuey
from huey.api import Huey
from huey.consumer import Consumer

from faultline.app.observe import metrics
from faultline.app.settings import Settings
from faultline.app.work import policy
from faultline.app.work.crash import crash_point
from faultline.app.work.group_commit import GroupCommit
from faultline.app.work.ledger import Claim, LedgerStore, RunRecord, SqliteLedger, pull_key
from faultline.app.work.request import AnalysisRequest, RunOutcome
from faultline.app.work.serializer import JsonSerializer

TASK_NAME = "faultline.run"
QUEUE_NAME = "faultline"
# Idle workers poll the SQLite file at most this far apart: a new job waits at most this long.
POLL_SECONDS = 0.5
HEALTH_CHECK_SECONDS = 10.0
# A run waiting for its pull request's lease asks again this often.
LEASE_POLL_SECONDS = 0.1
# After the store itself failed (a busy SQLite file, Redis unreachable), try again this late.
STORE_RETRY_SECONDS = 1.0

# Added to each worker thread's nice value: the receiver, in the same process (embedded) or
# on the same machine, wins the CPU from the analyses and its acknowledgements stay fast
# while every worker is busy (an analysis can wait; GitHub gives a delivery 10 seconds).
WORKER_NICENESS = 10

log = structlog.get_logger("faultline.queue")

Runner = Callable[[Settings, AnalysisRequest, "StoreLeases"], RunOutcome | None]
GiveUp = Callable[[Settings, AnalysisRequest, BaseException], None]

# Kept for callers of the old names: the decisions live in policy.py.
is_transient = policy.is_transient
retry_after = policy.retry_after


@dataclass(frozen=True)
class QueueStats:
    pending: int  # runs waiting to run, retries included
    running: int  # runs leased by a worker
    workers_alive: int | None  # None when this process runs no consumer
    jobs: Mapping[str, int]  # attempts since start: succeeded, retried, failed


class Queue(Protocol):
    """What the web side needs from a queue (tests substitute a recorder).

    A queue may also offer ``async def admit(request) -> bool``, ``enqueue`` from the event
    loop, and ``async def close_async()``: the receiver uses them when present (``JobQueue``
    has both), and otherwise calls ``enqueue`` in a thread."""

    def enqueue(self, request: AnalysisRequest) -> bool:
        """Store the job durably; False when this delivery id was queued before."""
        ...

    def stats(self) -> QueueStats:
        """Raises when the queue cannot be read."""
        ...

    def accepted(self, delivery_id: str) -> bool:
        """Whether a run was admitted for this delivery (raises when the store cannot be read)."""
        ...


class _QuietConsumer(Consumer):  # type: ignore[misc]
    """huey's consumer without its signal handlers: the command owns the process's signals."""

    def _set_signal_handlers(self) -> None:
        pass


def open_huey(settings: Settings) -> Huey:
    """huey over the ledger's store, with JSON messages."""
    if settings.redis_url is not None:
        from faultline.app.work.ledger_redis import RedisLedger, connection_pool

        pool = connection_pool(settings.redis_url.get_secret_value())
        return RedisHuey(
            QUEUE_NAME,
            storage_class=RedisLedger,
            connection_pool=pool,
            blocking=True,
            read_timeout=1,
            results=False,
            serializer=JsonSerializer(),
        )
    settings.queue_path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(
        QUEUE_NAME,
        filename=str(settings.queue_path),
        storage_class=SqliteLedger,
        results=False,
        fsync=True,
        serializer=JsonSerializer(),
    )


class JobQueue:
    """The queue of ``settings`` and, once started, its worker threads."""

    def __init__(
        self, settings: Settings, *, runner: Runner | None = None, give_up: GiveUp | None = None
    ) -> None:
        self._settings = settings
        self._runner = runner
        self._give_up = give_up
        self.huey = open_huey(settings)
        self.store: LedgerStore = self.huey.storage
        self._admission = GroupCommit(self.store.admit_many)
        self._task = self.huey.task(retries=0, name=TASK_NAME)(self._execute)
        self.huey.on_startup("faultline-priority")(_lower_priority)  # in each worker thread
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.leases = StoreLeases(self)
        self._outcomes: Counter[str] = Counter()
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._consumer: _QuietConsumer | None = None
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # The web side.

    def enqueue(self, request: AnalysisRequest) -> bool:
        return self.store.admit(request, self._message(request))

    async def admit(self, request: AnalysisRequest) -> bool:
        """``enqueue`` from the event loop, with the deliveries arriving meanwhile in one write
        (``group_commit.py``)."""
        return await self._admission.admit(request, self._message(request))

    async def close_async(self) -> None:
        """Close what ``admit`` opened on the running loop."""
        await self._admission.close()

    def _message(self, request: AnalysisRequest) -> bytes:
        message: bytes = self.huey.serialize_task(self._task.s(request.delivery_id))
        return message

    def stats(self) -> QueueStats:
        counts = self.store.counts()
        with self._lock:
            outcomes = dict(self._outcomes)
        return QueueStats(counts.get("queued", 0), counts.get("leased", 0), self._workers_alive(), outcomes)

    def recent(self, limit: int = 20) -> list[RunRecord]:
        return self.store.recent(limit)

    def accepted(self, delivery_id: str) -> bool:
        return self.store.request(delivery_id) is not None

    def pending_requests(self) -> list[AnalysisRequest]:
        """The runs waiting on the queue, oldest first."""
        runs = [run for run in reversed(self.store.recent(1000)) if run.state == "queued"]
        found = (self.store.request(run.run_id) for run in runs)
        return [request for request in found if request is not None]

    def ping(self) -> None:
        """Raises when the store cannot be read (``/readyz``)."""
        self.store.counts()

    # The worker side.

    def start(self, *, exclusive: bool = False) -> None:
        """Queue again what is owed, then start the worker threads, heartbeat and sweeper.

        ``exclusive``: no other process uses this store (the embedded server holds the data
        dir's lock), so every lease in it belongs to a dead process and is taken back now."""
        self.sweep(everything=exclusive)
        self._consumer = _QuietConsumer(
            self.huey,
            workers=self._settings.workers,
            worker_type="thread",
            periodic=False,
            max_delay=POLL_SECONDS,
            scheduler_interval=1,
        )
        self._consumer.start()
        for name, target in (("heartbeat", self._heartbeat), ("sweeper", self._sweeper)):
            thread = threading.Thread(target=target, name=f"faultline-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("workers started", workers=self._settings.workers, owner=self.owner)

    def stop(self) -> list[str]:
        """Take no new job, let running ones finish for the grace period, hand the rest back
        to the queue (their check runs are taken up again by the next worker). Returns the
        run ids handed back."""
        self._stopping.set()
        consumer = self._consumer
        if consumer is not None:
            consumer.stop_flag.set()
            deadline = time.monotonic() + self._settings.shutdown_grace_seconds
            while self._running_now() and time.monotonic() < deadline:
                time.sleep(0.05)
        handed_back = self._running_now()
        now = time.time()
        for run_id in handed_back:
            self.store.requeue(run_id, self.owner, now, error=None)
            self._wake(run_id)
        if handed_back:
            log.warning("runs handed back to the queue", runs=handed_back)
        self._consumer = None
        return handed_back

    def sweep(self, *, everything: bool = False) -> int:
        now = time.time()
        owed = self.store.owed(now, self._settings.sweep_grace_seconds, everything=everything)
        for run_id, due in owed:
            self._wake(run_id, max(0.0, due - now))
        if owed:
            log.warning("owed runs queued again", count=len(owed))
        return len(owed)

    def _running_now(self) -> list[str]:
        with self._lock:
            return sorted(self._running)

    def _heartbeat(self) -> None:
        interval = self._settings.lease_seconds / 3
        while not self._stopping.wait(interval):
            try:
                lease_until = time.time() + self._settings.lease_seconds
                self.store.renew(self.owner, lease_until, self._running_now(), self.leases.held())
            except Exception:
                log.exception("could not renew leases")
            consumer = self._consumer
            if consumer is not None:
                consumer.check_worker_health()

    def _sweeper(self) -> None:
        while not self._stopping.wait(self._settings.sweep_seconds):
            try:
                self.sweep()
            except Exception:
                log.exception("sweep failed")

    def _workers_alive(self) -> int | None:
        consumer = self._consumer
        if consumer is None:
            return None
        return sum(1 for _worker, thread in consumer.worker_threads if thread.is_alive())

    def _wake(self, run_id: str, delay: float = 0.0) -> None:
        if delay > 0:
            self._task.schedule(args=(run_id,), delay=delay)
        else:
            self._task(run_id)

    def _count(self, outcome: str) -> None:
        with self._lock:
            self._outcomes[outcome] += 1

    @contextmanager
    def _tracked(self, run_id: str) -> Iterator[None]:
        with self._lock:
            self._running.add(run_id)
        try:
            yield
        finally:
            with self._lock:
                self._running.discard(run_id)

    def _execute(self, run_id: str) -> None:
        if self._stopping.is_set():
            # A worker of a stopping process read it off the queue: put it back for the next.
            self._wake(run_id)
            return
        now = time.time()
        try:
            claim = self.store.claim(run_id, self.owner, now + self._settings.lease_seconds, now)
        except Exception:
            # Its message is spent: wake the run again, or it waits for the sweep's grace.
            log.exception("could not claim a run; woken again", run_id=run_id)
            self._wake(run_id, STORE_RETRY_SECONDS)
            return
        if claim is None:
            return  # done already, held by a live worker, or not due yet
        request = claim.request
        context = structlog.contextvars.bound_contextvars(
            delivery=request.delivery_id,
            trigger=request.trigger,
            repo=f"{request.owner}/{request.repo}",
            pull=request.pull_number,
            head=request.head_sha,
            run_id=run_id,
        )
        with context, self._tracked(run_id):
            crash_point("claimed")
            try:
                self._attempt(claim, now)
            except Exception:
                # The store failed under the run (a busy SQLite file, Redis gone): the job's own
                # errors are handled in _attempt. Hand the run back; if even that fails, its
                # lease, no longer renewed, expires and the sweeper queues it again.
                log.exception("the queue's store failed during a run; handed back")
                self._hand_back(run_id)

    def _hand_back(self, run_id: str) -> None:
        try:
            self.store.requeue(run_id, self.owner, time.time() + STORE_RETRY_SECONDS, error=None)
            self._wake(run_id, STORE_RETRY_SECONDS)
        except Exception:
            log.exception("could not hand the run back; its lease will expire")

    def _attempt(self, claim: Claim, now: float) -> None:
        request, record = claim.request, claim.record
        key = pull_key(request)
        newest = self.store.newest(key) if key is not None else None
        if newest is not None and newest.run_id == record.run_id:
            wait = newest.received + self._settings.settle_seconds - now
            if wait > 0:
                # A push often comes with more: wait a little for a newer head.
                self.store.requeue(record.run_id, self.owner, now + wait, error=None)
                self._wake(record.run_id, wait)
                return
        elif newest is not None and _newer_head(newest.head_sha, request.head_sha, newest.received, record):
            request = replace(request, superseded_by=newest.head_sha)
        started = time.monotonic()
        try:
            outcome = (self._runner or _run_job())(self._settings, request, self.leases)
        except Exception as err:  # noqa: BLE001  # faultline: ignore[broad-except] the policy sorts errors
            self._failed(claim, err, started)
            return
        outcome = outcome or RunOutcome("success")
        self.store.finish(record.run_id, self.owner, outcome.conclusion, outcome.title, outcome.head_sha)
        self._count("succeeded")
        _observe(outcome.conclusion, started)
        log.info("run finished", conclusion=outcome.conclusion)

    def _failed(self, claim: Claim, err: Exception, started: float) -> None:
        request, record = claim.request, claim.record
        now = time.time()
        decision = policy.decide(
            err,
            errors=record.errors,
            first_attempt=record.first_started or now,
            now=now,
            settings=self._settings,
        )
        described = _describe(err)
        if isinstance(decision, policy.Retry):
            self.store.requeue(record.run_id, self.owner, now + decision.delay, error=described)
            self._wake(record.run_id, decision.delay)
            self._count("retried")
            log.warning("run failed; retried", error=described, retry_in=round(decision.delay, 1))
            return
        log.error("run given up", error=described, reason=decision.reason, exc_info=err)
        try:
            (self._give_up or _give_up())(self._settings, request, err)
        except Exception as failed:  # faultline: ignore[broad-except] sorted below
            if policy.is_transient(failed):
                # The check run would be left in progress: the run stays owed and is tried
                # (and given up) again after a backoff.
                delay = policy.backoff(record.errors, self._settings)
                self.store.requeue(record.run_id, self.owner, now + delay, error=described)
                self._wake(record.run_id, delay)
                log.warning("could not complete the check run of a run given up", error=repr(failed))
                return
            log.exception("could not complete the check run of a run given up")
        self.store.finish(record.run_id, self.owner, "error", described, None)
        self._count("failed")
        _observe("error", started)


class StoreLeases:
    """Pull request leases in the queue's store, renewed by the queue's heartbeat while held."""

    def __init__(self, queue: JobQueue) -> None:
        self._queue = queue
        self._held: set[str] = set()
        self._lock = threading.Lock()

    def held(self) -> list[str]:
        """The holder tokens of the leases this process's runs hold now."""
        with self._lock:
            return sorted(self._held)

    def acquire(self, key: str) -> str:
        queue = self._queue
        holder = f"{queue.owner}/{uuid.uuid4().hex[:8]}"
        while True:
            now = time.time()
            until = now + queue._settings.lease_seconds
            try:
                taken = queue.store.take_pull(key, queue.owner, holder, until, now)
            except Exception:
                # The store is busy or away: the run waits for it as for another run's lease.
                log.exception("could not take a pull request's lease; trying again")
                taken = False
            if taken:
                with self._lock:
                    self._held.add(holder)
                return holder
            time.sleep(LEASE_POLL_SECONDS)

    def release(self, key: str, holder: str) -> None:
        # Renewed no more from here: a lease the store failed to drop expires.
        with self._lock:
            self._held.discard(holder)
        try:
            self._queue.store.drop_pull(key, holder)
        except Exception:
            log.exception("could not drop a pull request's lease; it expires")


def _lower_priority() -> None:
    # On Linux a nice value belongs to a thread, which a thread id names: the receiver's
    # thread and the heartbeat keep theirs. Elsewhere the id would name another process.
    if sys.platform != "linux":
        return
    thread = threading.get_native_id()
    niceness = os.getpriority(os.PRIO_PROCESS, thread)
    os.setpriority(os.PRIO_PROCESS, thread, min(19, niceness + WORKER_NICENESS))


def _newer_head(newest: str | None, mine: str | None, received: float, record: RunRecord) -> bool:
    return newest is not None and mine is not None and newest != mine and received >= record.received


def _observe(conclusion: str, started: float) -> None:
    metrics.RUNS.labels(conclusion=conclusion).inc()
    metrics.RUN_SECONDS.observe(time.monotonic() - started)


def _describe(err: BaseException) -> str:
    from faultline.app.github.client import describe

    return describe(err)[:500]


def _run_job() -> Runner:
    """The App's run, imported when a worker first needs it: the receiver alone never loads
    the engine. Looked up on each call so that a patched ``run_job`` is used."""
    from faultline.app.review import job

    return job.run_job


def _give_up() -> GiveUp:
    from faultline.app.review import job

    return job.give_up
