"""The durable job queue: huey's SqliteHuey in the data dir, consumed by worker threads
inside the ``faultline serve`` process.

Three guarantees the webhook receiver relies on:
- ``enqueue`` returns only once the job is committed to disk (WAL, synchronous=FULL), and it
  records the delivery id in the same transaction, so a redelivery is never queued twice;
- a job queued but not yet run when the process dies runs on the next start (it is a row in
  the file), and so does a job that was running (its "running" row is put back on the queue);
- a job never retries forever: transient errors are retried ``RETRIES`` times, and a job that
  was interrupted uses up one of those retries.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar, Protocol

import httpx
import structlog
from githubkit.exception import RateLimitExceeded, RequestError
from huey import SqliteHuey, signals
from huey.consumer import Consumer
from huey.exceptions import CancelExecution
from huey.storage import SqliteStorage

from faultline.app.github.client import TransientGitHubError, status_of
from faultline.app.settings import Settings
from faultline.app.work.request import AnalysisRequest

TASK_NAME = "faultline.analyse"
RETRIES = 2
RETRY_DELAY_SECONDS = 30
RETRY_BACKOFF = 2  # 30 s, then 60 s
# GitHub lets a delivery be redelivered for 3 days; remember delivery ids a little longer.
DELIVERY_MEMORY = timedelta(days=4)
# Idle workers poll the SQLite file at most this far apart: a new job waits at most this long.
POLL_SECONDS = 1.0
HEALTH_CHECK_SECONDS = 10.0
SHUTDOWN_SECONDS = 20.0

log = structlog.get_logger("faultline.queue")

Runner = Callable[[Settings, AnalysisRequest], None]


@dataclass(frozen=True)
class QueueStats:
    pending: int  # waiting to run, retries included
    running: int
    workers_alive: int | None  # None when this process runs no consumer
    jobs: Mapping[str, int]  # outcomes since start: succeeded, retried, failed


class Queue(Protocol):
    """What the web side needs from a queue (tests substitute a recorder)."""

    def enqueue(self, request: AnalysisRequest) -> bool:
        """Store the job durably; False when this delivery id was queued before."""
        ...

    def stats(self) -> QueueStats:
        """Raises when the queue cannot be read."""
        ...


class FaultlineStorage(SqliteStorage):  # type: ignore[misc]
    """huey's SQLite storage plus two tables: delivery ids seen, and jobs being run."""

    ddl: ClassVar[list[str]] = [
        *SqliteStorage.ddl,
        "create table if not exists delivery (queue text not null, id text not null, "
        "received real not null, primary key(queue, id))",
        "create index if not exists delivery_received on delivery (queue, received)",
        "create table if not exists running (queue text not null, task_id text not null, "
        "data blob not null, primary key(queue, task_id))",
    ]

    def enqueue_once(self, delivery_id: str, data: bytes) -> bool:
        now = time.time()
        with self.db(commit=True) as cursor:
            cursor.execute(
                "delete from delivery where queue = ? and received < ?",
                (self.name, now - DELIVERY_MEMORY.total_seconds()),
            )
            cursor.execute(
                "insert or ignore into delivery (queue, id, received) values (?, ?, ?)",
                (self.name, delivery_id, now),
            )
            if cursor.rowcount == 0:
                return False
            cursor.execute(
                "insert into task (queue, data, priority) values (?, ?, 0)", (self.name, self.to_blob(data))
            )
        return True

    def mark_running(self, task_id: str, data: bytes) -> None:
        self.sql(
            "insert or replace into running (queue, task_id, data) values (?, ?, ?)",
            (self.name, task_id, self.to_blob(data)),
            commit=True,
        )

    def clear_running(self, task_id: str) -> None:
        self.sql("delete from running where queue = ? and task_id = ?", (self.name, task_id), commit=True)

    def running_count(self) -> int:
        rows = self.sql("select count(*) from running where queue = ?", (self.name,), results=True)
        return int(rows[0][0])

    def requeue_running(self, revise: Callable[[bytes], bytes | None]) -> int:
        """Put the jobs a dead process left running back on the queue, in one transaction.

        ``revise`` returns the job to queue again, or None to drop it.
        """
        requeued = 0
        with self.db(commit=True) as cursor:
            cursor.execute("select task_id, data from running where queue = ?", (self.name,))
            for _task_id, data in cursor.fetchall():
                revised = revise(bytes(data))
                if revised is not None:
                    cursor.execute(
                        "insert into task (queue, data, priority) values (?, ?, 0)",
                        (self.name, self.to_blob(revised)),
                    )
                    requeued += 1
            cursor.execute("delete from running where queue = ?", (self.name,))
        return requeued


class _EmbeddedConsumer(Consumer):  # type: ignore[misc]
    """huey's consumer without its signal handlers: uvicorn owns the process's signals."""

    def _set_signal_handlers(self) -> None:
        pass


class JobQueue:
    """The queue file ``settings.queue_path`` and, once started, its worker threads."""

    def __init__(self, settings: Settings, *, runner: Runner | None = None) -> None:
        self._settings = settings
        self._runner = runner
        settings.queue_path.parent.mkdir(parents=True, exist_ok=True)
        self.huey = SqliteHuey(
            "faultline",
            filename=str(settings.queue_path),
            storage_class=FaultlineStorage,
            results=False,
            fsync=True,
        )
        self._storage: FaultlineStorage = self.huey.storage
        self._task = self.huey.task(
            retries=RETRIES,
            retry_delay=RETRY_DELAY_SECONDS,
            retry_backoff=RETRY_BACKOFF,
            context=True,
            name=TASK_NAME,
        )(self._execute)
        self._outcomes: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._consumer: _EmbeddedConsumer | None = None
        self._stopping = threading.Event()
        self._monitor: threading.Thread | None = None
        self._connect_signals()

    # The web side.

    def enqueue(self, request: AnalysisRequest) -> bool:
        data = self.huey.serialize_task(self._task.s(dataclasses.asdict(request)))
        return self._storage.enqueue_once(request.delivery_id, data)

    def stats(self) -> QueueStats:
        pending = self._storage.queue_size() + self._storage.schedule_size()
        with self._lock:
            outcomes = dict(self._outcomes)
        return QueueStats(int(pending), self._storage.running_count(), self._workers_alive(), outcomes)

    def pending_requests(self) -> list[AnalysisRequest]:
        """The jobs waiting on the queue (not the scheduled retries), oldest first."""
        tasks = [self.huey.deserialize_task(data) for data in self._storage.enqueued_items()]
        return [_request_from(task.args[0]) for task in tasks]

    # The worker side.

    def start(self) -> None:
        """Requeue what a killed process left running, then start the worker threads."""
        requeued = self._storage.requeue_running(self._revise_interrupted)
        if requeued:
            log.warning("requeued interrupted jobs", count=requeued)
        self._consumer = _EmbeddedConsumer(
            self.huey,
            workers=self._settings.workers,
            worker_type="thread",
            periodic=False,
            max_delay=POLL_SECONDS,
            shutdown_timeout=SHUTDOWN_SECONDS,
        )
        self._consumer.start()
        self._monitor = threading.Thread(target=self._watch_workers, name="faultline-monitor", daemon=True)
        self._monitor.start()
        log.info("workers started", workers=self._settings.workers, queue=str(self._settings.queue_path))

    def stop(self) -> None:
        """Let running jobs finish (up to SHUTDOWN_SECONDS); what is cut short runs on the next start."""
        self._stopping.set()
        if self._consumer is not None:
            self._consumer.stop(graceful=True)
            self._consumer = None
        self.huey.storage.close()

    def _watch_workers(self) -> None:
        # huey's own consumer loop restarts dead workers; running embedded, this thread does.
        while not self._stopping.wait(HEALTH_CHECK_SECONDS):
            consumer = self._consumer
            if consumer is not None:
                consumer.check_worker_health()

    def _workers_alive(self) -> int | None:
        consumer = self._consumer
        if consumer is None:
            return None
        return sum(1 for _worker, thread in consumer.worker_threads if thread.is_alive())

    def _execute(self, payload: dict[str, Any], task: Any = None) -> None:
        request = dataclasses.replace(_request_from(payload), retry_in=_retry_in(task))
        context = structlog.contextvars.bound_contextvars(
            delivery=request.delivery_id,
            trigger=request.trigger,
            repo=f"{request.owner}/{request.repo}",
            retries_left=getattr(task, "retries", 0),
        )
        with context:
            runner = self._runner or _run_job()
            try:
                runner(self._settings, request)
            except Exception as err:
                if not is_transient(err):
                    log.exception("job failed; not retried")
                    raise CancelExecution(retry=False) from err
                delay = retry_after(err)
                if delay is not None and task is not None:
                    task.retry_delay = max(task.retry_delay or 0, delay)
                log.warning("job failed", error=repr(err), retried=bool(getattr(task, "retries", 0)))
                raise

    def _revise_interrupted(self, data: bytes) -> bytes | None:
        task = self.huey.deserialize_task(data)
        request = _request_from(task.args[0])
        if task.retries <= 0:
            log.error("interrupted job dropped: no retries left", delivery=request.delivery_id)
            return None
        task.retries -= 1  # an interrupted run counts as an attempt, so a job that kills the process stops
        log.warning("interrupted job requeued", delivery=request.delivery_id, retries_left=task.retries)
        return bytes(self.huey.serialize_task(task))

    def _connect_signals(self) -> None:
        self.huey.signal(signals.SIGNAL_EXECUTING)(self._on_executing)
        finished = (signals.SIGNAL_COMPLETE, signals.SIGNAL_ERROR, signals.SIGNAL_CANCELED)
        self.huey.signal(*finished)(self._on_finished)

    def _on_executing(self, signal: str, task: Any) -> None:
        self._storage.mark_running(task.id, self.huey.serialize_task(task))

    def _on_finished(self, signal: str, task: Any, *_args: Any) -> None:
        self._storage.clear_running(task.id)
        if signal == signals.SIGNAL_COMPLETE:
            outcome = "succeeded"
        elif signal == signals.SIGNAL_ERROR and task.retries:
            outcome = "retried"
        else:
            outcome = "failed"
        with self._lock:
            self._outcomes[outcome] += 1


def _request_from(payload: Mapping[str, Any]) -> AnalysisRequest:
    # Jobs are stored as plain dicts, so a queue file outlives a change to AnalysisRequest:
    # unknown keys are dropped and new fields take their defaults.
    known = {field.name for field in dataclasses.fields(AnalysisRequest)}
    return AnalysisRequest(**{key: value for key, value in payload.items() if key in known})


def _retry_in(task: Any) -> float | None:
    """Seconds huey waits before the task's next attempt (its delay grows by RETRY_BACKOFF
    after each), None when it has no retry left."""
    if task is None or not task.retries:
        return None
    return float(task.retry_delay or 0)


def is_transient(err: BaseException) -> bool:
    """Worth another try later: network trouble, a timeout, a rate limit or a 5xx from GitHub."""
    if isinstance(err, TransientGitHubError | RateLimitExceeded):
        return True
    status = status_of(err) if isinstance(err, Exception) else None
    if status is not None:
        # A 4xx (an installation suspended or removed, a repository gone) will not
        # mend itself; retrying it only delays the error.
        return status >= 500 or status == 429
    return isinstance(err, RequestError | httpx.TransportError | TimeoutError | ConnectionError)


def retry_after(err: BaseException) -> float | None:
    """Seconds GitHub asked us to wait, when it said."""
    if isinstance(err, TransientGitHubError):
        return max(err.retry_after, 1.0)
    if isinstance(err, RateLimitExceeded):
        return max(err.retry_after.total_seconds(), 1.0)
    return None


def _run_job() -> Runner:
    """The App's run, imported when a worker first needs it: the receiver alone never loads
    the engine. Looked up on each call so that a patched ``run_job`` is used."""
    from faultline.app.review import job

    return job.run_job
