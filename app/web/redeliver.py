"""Recover deliveries GitHub could not make: GitHub never redelivers a webhook by itself.

At start-up and every ``FAULTLINE_REDELIVER_EVERY_SECONDS`` the web process lists the App's
recent delivery attempts and asks GitHub to redeliver each delivery that never succeeded,
once. A delivery is asked for when:

- none of its attempts (redeliveries included, they share its guid) got a 2xx answer;
- it may start a run (events and actions the App ignores are left alone);
- the queue did not accept it (GitHub may list as failed a delivery it gave up on at
  10 seconds, although the receiver had queued it);
- it was never asked for before: the memory of what was asked (SQLite in the data dir, or
  Redis when several web processes share the work) is claimed before asking, so two scans,
  or two processes, never ask twice.

The window starts where the last complete scan started, less a margin; the first scan looks
back ``FAULTLINE_REDELIVER_LOOKBACK_HOURS``. A scan that fails is logged and the next period
tries again: a scan never takes the server down.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterable
from contextlib import asynccontextmanager, closing, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import structlog
from githubkit.exception import RequestFailed
from redis.exceptions import RedisError

from faultline.app.github.deliveries import AppWebhook, DeliveryAttempt
from faultline.app.observe.metrics import REDELIVERIES
from faultline.app.settings import Settings
from faultline.app.web.webhooks import may_start_a_run
from faultline.app.work.queue import Queue

log = structlog.get_logger("faultline.redeliver")

MEMORY_FILE = "redeliveries.sqlite3"
REDIS_PREFIX = "faultline:redelivery:"
# Deliveries GitHub made while the last scan was running, or just before it, are seen again.
MARGIN = timedelta(minutes=15)
GITHUB_KEEPS = timedelta(days=3)
# What was asked is remembered a little longer than GitHub keeps the deliveries.
REMEMBERED = timedelta(days=4)
# A scan asks at most this many; the rest wait for the next scan (its window stays open).
MAX_ASKS_PER_SCAN = 500
SQLITE_IN_CHUNK = 500
FIRST_SCAN_DELAY_SECONDS = 3.0

Accepted = Callable[[Collection[str]], set[str]]


class Memory(Protocol):
    """What was asked for, shared by every scan (and every process) of one App."""

    def claim(self, guid: str) -> bool:
        """True the first time ``guid`` is claimed, False ever after (until released)."""
        ...

    def release(self, guid: str) -> None:
        """The ask failed before GitHub took it: a later scan may claim ``guid`` again."""
        ...

    def last_scan(self) -> datetime | None: ...

    def scanned(self, started: datetime) -> None: ...


class SqliteMemory:
    """The memory in a small SQLite file of its own in the data dir."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with closing(self._connect()) as db, db:
            db.execute("create table if not exists asked (guid text primary key, asked_at real not null)")
            db.execute("create table if not exists scan (id integer primary key, started real not null)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def claim(self, guid: str) -> bool:
        now = time.time()
        with closing(self._connect()) as db, db:
            db.execute("delete from asked where asked_at < ?", (now - REMEMBERED.total_seconds(),))
            cursor = db.execute("insert or ignore into asked (guid, asked_at) values (?, ?)", (guid, now))
            return cursor.rowcount == 1

    def release(self, guid: str) -> None:
        with closing(self._connect()) as db, db:
            db.execute("delete from asked where guid = ?", (guid,))

    def last_scan(self) -> datetime | None:
        with closing(self._connect()) as db:
            row = db.execute("select started from scan where id = 1").fetchone()
        return None if row is None else datetime.fromtimestamp(row[0], UTC)

    def scanned(self, started: datetime) -> None:
        with closing(self._connect()) as db, db:
            db.execute("insert or replace into scan (id, started) values (1, ?)", (started.timestamp(),))


class RedisMemory:
    """The memory in Redis, for web processes on several machines: SET NX is the claim."""

    def __init__(self, url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url)

    def claim(self, guid: str) -> bool:
        claimed = self.redis.set(f"{REDIS_PREFIX}asked:{guid}", time.time(), nx=True, ex=REMEMBERED)
        return bool(claimed)

    def release(self, guid: str) -> None:
        self.redis.delete(f"{REDIS_PREFIX}asked:{guid}")

    def last_scan(self) -> datetime | None:
        value = self.redis.get(f"{REDIS_PREFIX}last-scan")
        if not isinstance(value, bytes | str):
            return None
        return datetime.fromtimestamp(float(value), UTC)

    def scanned(self, started: datetime) -> None:
        self.redis.set(f"{REDIS_PREFIX}last-scan", started.timestamp())


def accepted_in_ledger(queue: Queue) -> Accepted:
    """Which guids the receiver accepted, asked of the queue's run ledger (a run per delivery)."""

    def accepted(guids: Collection[str]) -> set[str]:
        try:
            return {guid for guid in guids if queue.accepted(guid)}
        except (sqlite3.Error, RedisError, OSError) as err:  # unreadable: GitHub's attempts decide alone
            log.warning("run ledger not readable; its deliveries count as not accepted", error=str(err))
            return set()

    return accepted


def accepted_in_queue(queue_path: Path) -> Accepted:
    """Which guids the SQLite queue accepted: a read-only look at its run ledger."""

    def accepted(guids: Collection[str]) -> set[str]:
        if not guids or not queue_path.exists():
            return set()
        ordered = sorted(guids)
        found: set[str] = set()
        try:
            with closing(sqlite3.connect(f"{queue_path.resolve().as_uri()}?mode=ro", uri=True)) as db:
                for start in range(0, len(ordered), SQLITE_IN_CHUNK):
                    chunk = ordered[start : start + SQLITE_IN_CHUNK]
                    marks = ",".join("?" * len(chunk))
                    rows = db.execute(f"select run_id from run where run_id in ({marks})", chunk)
                    found.update(str(row[0]) for row in rows)
        except sqlite3.Error as err:
            log.warning("queue not readable; its deliveries count as not accepted", error=str(err))
        return found

    return accepted


def to_redeliver(attempts: Iterable[DeliveryAttempt]) -> list[DeliveryAttempt]:
    """The latest attempt of each delivery that never succeeded and may start a run, oldest
    delivery first (so that pushes are replayed in the order they happened)."""
    by_guid: dict[str, list[DeliveryAttempt]] = {}
    for attempt in attempts:
        by_guid.setdefault(attempt.guid, []).append(attempt)
    chosen: list[tuple[int, DeliveryAttempt]] = []
    for tries in by_guid.values():
        latest = max(tries, key=lambda attempt: attempt.id)
        if any(attempt.succeeded for attempt in tries) or not may_start_a_run(latest.event, latest.action):
            continue
        chosen.append((min(attempt.id for attempt in tries), latest))
    return [latest for _first, latest in sorted(chosen, key=lambda pair: pair[0])]


@dataclass
class ScanResult:
    listed: int = 0  # attempts in the window
    failed: int = 0  # deliveries with no successful attempt that may start a run
    accepted: int = 0  # of those, queued by the receiver all the same
    requested: int = 0
    refused: int = 0  # GitHub said no (4xx): not asked again
    errors: int = 0  # the ask did not reach GitHub: asked again next scan

    @property
    def complete(self) -> bool:
        return self.errors == 0


class Redeliverer:
    """One App's scans; ``run`` scans at once, then every period, until cancelled."""

    def __init__(self, settings: Settings, memory: Memory, accepted: Accepted) -> None:
        self.settings = settings
        self.memory = memory
        self.accepted = accepted

    @classmethod
    def for_settings(cls, settings: Settings, queue: Queue | None = None) -> Redeliverer:
        # The run ledger knows every delivery the receiver accepted, in SQLite or in Redis.
        accepted = accepted_in_ledger(queue) if queue is not None else accepted_in_queue(settings.queue_path)
        if settings.redis_url:
            return cls(settings, RedisMemory(settings.redis_url.get_secret_value()), accepted)
        return cls(settings, SqliteMemory(settings.data_dir / MEMORY_FILE), accepted)

    async def run(self, first_delay: float = FIRST_SCAN_DELAY_SECONDS) -> None:
        # The lifespan starts this before uvicorn listens: a redelivery GitHub sends at once
        # must find the port open, or it fails and is never asked for again.
        await asyncio.sleep(first_delay)
        while True:
            try:
                result = await self.scan()
                log.info("redelivery scan", **vars(result))
            except Exception as err:  # noqa: BLE001
                # A bad answer, GitHub down, a bad key: the next period tries again.
                log.warning("redelivery scan failed", error=f"{type(err).__name__}: {err}")
            await asyncio.sleep(self.settings.redeliver_every_seconds)

    async def scan(self) -> ScanResult:
        started = datetime.now(UTC)
        since = self._since(started, await asyncio.to_thread(self.memory.last_scan))
        result = ScanResult()
        webhook = AppWebhook(self.settings)
        try:
            attempts = await webhook.attempts_since(since)
            result.listed = len(attempts)
            failed = to_redeliver(attempts)
            result.failed = len(failed)
            accepted = await asyncio.to_thread(self.accepted, {attempt.guid for attempt in failed})
            result.accepted = len(accepted)
            for attempt in [a for a in failed if a.guid not in accepted][:MAX_ASKS_PER_SCAN]:
                if await asyncio.to_thread(self.memory.claim, attempt.guid):
                    await self._ask(webhook, attempt, result)
        finally:
            await webhook.aclose()
        if len(failed) - len(accepted) > MAX_ASKS_PER_SCAN:
            result.errors += 1  # keep the window open for the rest
        if result.complete:
            await asyncio.to_thread(self.memory.scanned, started)
        return result

    def _since(self, started: datetime, last_scan: datetime | None) -> datetime:
        lookback = timedelta(hours=self.settings.redeliver_lookback_hours)
        since = started - lookback if last_scan is None else last_scan - MARGIN
        return max(since, started - GITHUB_KEEPS)

    async def _ask(self, webhook: AppWebhook, attempt: DeliveryAttempt, result: ScanResult) -> None:
        context = {"delivery": attempt.guid, "github_event": attempt.event, "action": attempt.action}
        try:
            await webhook.redeliver(attempt.id)
        except RequestFailed as err:
            status = err.response.status_code
            if status < 500 and status != 429:
                result.refused += 1
                REDELIVERIES.labels(outcome="refused").inc()
                log.warning("redelivery refused", status=status, **context)
                return
            await self._failed(attempt, result, f"GitHub answered {status}", context)
        except Exception as err:  # noqa: BLE001 (whatever went wrong, the next scan asks again)
            await self._failed(attempt, result, f"{type(err).__name__}: {err}", context)
        else:
            result.requested += 1
            REDELIVERIES.labels(outcome="requested").inc()
            log.info("redelivery requested", attempt=attempt.id, **context)

    async def _failed(
        self, attempt: DeliveryAttempt, result: ScanResult, error: str, context: dict[str, str | None]
    ) -> None:
        result.errors += 1
        REDELIVERIES.labels(outcome="failed").inc()
        log.warning("redelivery not requested; asked again next scan", error=error, **context)
        await asyncio.to_thread(self.memory.release, attempt.guid)


@asynccontextmanager
async def recovering(settings: Settings, queue: Queue | None = None) -> AsyncIterator[Redeliverer | None]:
    """Scan in the background while the block runs (nothing in setup mode, or when turned off)."""
    if not settings.configured or settings.redeliver_every_seconds <= 0:
        yield None
        return
    redeliverer = Redeliverer.for_settings(settings, queue)
    task = asyncio.create_task(redeliverer.run(), name="faultline-redeliver")
    try:
        yield redeliverer
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
