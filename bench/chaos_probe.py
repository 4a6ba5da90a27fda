"""What ``chaos.py`` says about a head left without a completed check run: the ledger's rows
for it (state, lease, tries, due time, last error), whether its run has a queue message
(queued now, or scheduled for later), what the simulator holds for the head, and the last
log lines about its delivery. From these the bench tells a run still on its way (due soon,
leased and renewed, or its message waiting on a backlog) from a lost one (nothing will ever
wake it: leased by a process that works on it no more, queued with no message, ...).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from faultline.app.work.ledger import message_wake
from tests.github_sim import GitHubSim

QUEUE_PREFIX = "faultline.faultline."  # the ledger's keys (RedisLedger.prefix)
LOG_LINES = 4


@dataclass(frozen=True)
class LedgerRow:
    run_id: str
    head_sha: str | None
    pull_number: int | None
    state: str
    lease_owner: str | None
    lease_until: float | None
    starts: int
    errors: int
    due: float
    received: float
    detail: str | None
    conclusion: str | None


@dataclass(frozen=True)
class Snapshot:
    """The ledger and the queue's messages at one moment."""

    rows: list[LedgerRow]
    queued_messages: Counter[str]  # run id -> messages waiting on the queue
    scheduled: dict[str, float]  # run id -> the earliest time a scheduled message is due
    taken_at: float

    def states(self) -> Counter[str]:
        return Counter(row.state for row in self.rows)


def snapshot(data_dir: Path, redis_url: str | None) -> Snapshot:
    if redis_url is None:
        return _sqlite_snapshot(data_dir / "queue.sqlite3")
    return _redis_snapshot(redis_url)


def _message_run(data: bytes) -> tuple[str, float]:
    return message_wake(bytes(data)) or ("?", 0.0)


def _sqlite_snapshot(path: Path) -> Snapshot:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        rows = connection.execute(
            "select run_id, head_sha, pull_number, state, lease_owner, lease_until, starts, errors, "
            "due, received, detail, conclusion from run"
        ).fetchall()
        tasks = [row[0] for row in connection.execute("select data from task")]
        schedule = connection.execute("select data from schedule").fetchall()
    finally:
        connection.close()
    queued: Counter[str] = Counter(_message_run(data)[0] for data in tasks)
    scheduled: dict[str, float] = {}
    for (data,) in schedule:
        run_id, stamp = _message_run(data)
        scheduled[run_id] = min(scheduled.get(run_id, stamp), stamp)
    return Snapshot([LedgerRow(*row) for row in rows], queued, scheduled, time.time())


def _redis_snapshot(url: str) -> Snapshot:
    client = redis.Redis.from_url(url)
    rows = []
    for key in client.scan_iter(match=f"{QUEUE_PREFIX}run:*", count=1000):
        values = {k.decode(): v.decode() for k, v in client.hgetall(key).items()}
        run_id = key.decode()[len(f"{QUEUE_PREFIX}run:") :]
        rows.append(_redis_row(run_id, values))
    queued: Counter[str] = Counter()
    for data in client.lrange("huey.redis.faultline", 0, -1):
        queued[_message_run(data)[0]] += 1
    scheduled: dict[str, float] = {}
    for data in client.zrange("huey.schedule.faultline", 0, -1):
        run_id, stamp = _message_run(data)
        scheduled[run_id] = min(scheduled.get(run_id, stamp), stamp)
    client.close()
    return Snapshot(rows, queued, scheduled, time.time())


def _redis_row(run_id: str, values: dict[str, str]) -> LedgerRow:
    def number(name: str) -> float | None:
        text = values.get(name)
        return float(text) if text else None

    pull = values.get("pull_number")
    return LedgerRow(
        run_id=run_id,
        head_sha=values.get("head_sha") or None,
        pull_number=int(pull) if pull else None,
        state=values.get("state", "?"),
        lease_owner=values.get("lease_owner"),
        lease_until=number("lease_until"),
        starts=int(number("starts") or 0),
        errors=int(number("errors") or 0),
        due=number("due") or 0.0,
        received=number("received") or 0.0,
        detail=values.get("detail"),
        conclusion=values.get("conclusion"),
    )


def verdict(row: LedgerRow, snap: Snapshot, live_owners: set[str], grace: float) -> str:
    """Whether anything will ever run this row again, and when."""
    now = snap.taken_at
    if row.state == "done":
        return f"done ({row.conclusion}) without a completed check run: LOST"
    waiting = snap.queued_messages.get(row.run_id, 0)
    scheduled = snap.scheduled.get(row.run_id)
    if row.state == "leased":
        owner_alive = row.lease_owner in live_owners
        until = (row.lease_until or 0) - now
        if until < 0:
            return f"lease expired {-until:.0f} s ago: the next sweep queues it again"
        if owner_alive:
            return f"leased by the live process (renewed, {until:.0f} s left): running, or stuck in it"
        return f"leased by a dead process, {until:.0f} s left: taken over after it"
    if waiting:
        return f"queued, {waiting} message(s) waiting on the queue: backlog"
    if scheduled is not None:
        return f"queued, woken in {scheduled - now:.0f} s (scheduled)"
    overdue = now - row.due
    if overdue < 0:
        return f"queued, due in {-overdue:.0f} s, NO message: only the sweep wakes it"
    return f"queued and due {overdue:.0f} s ago with NO message: the sweep wakes it after {grace:.0f} s"


def explain(
    heads: set[str],
    completed: set[str],
    sim: GitHubSim,
    repo: str,
    snap: Snapshot,
    live_owners: set[str],
    grace: float,
    log_dir: Path,
) -> list[str]:
    """Lines about every head of ``heads`` that has no completed check run."""
    by_head: dict[str, list[LedgerRow]] = {}
    for row in snap.rows:
        if row.head_sha is not None:
            by_head.setdefault(row.head_sha, []).append(row)
    lines: list[str] = []
    logs = _log_lines(log_dir)
    for sha in sorted(heads - completed):
        lines.append(f"- head {sha[:10]}:")
        for run in sim.check_runs(repo, head_sha=sha):
            lines.append(
                f"    check run {run.id} {run.status} {run.conclusion} external_id={run.external_id}"
                f" title={run.title!r}"
            )
        rows = by_head.get(sha, [])
        if not rows:
            lines.append("    no ledger row: never admitted")
        for row in sorted(rows, key=lambda r: r.received):
            lease = ""
            if row.lease_owner:
                lease = f" lease {row.lease_owner} until {row.lease_until - snap.taken_at:+.0f} s"
            lines.append(
                f"    run {row.run_id[:8]} pull {row.pull_number} {row.state}{lease} starts {row.starts}"
                f" errors {row.errors} due {row.due - snap.taken_at:+.0f} s"
                f" last {row.detail or row.conclusion!r}"
            )
            lines.append(f"      -> {verdict(row, snap, live_owners, grace)}")
            lines.extend(f"      log: {line}" for line in logs.get(row.run_id, [])[-LOG_LINES:])
    return lines


def _entries(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON lines of one process's log (its other lines skipped)."""
    for raw in path.read_text(errors="replace").splitlines():
        if not raw.startswith("{"):
            continue
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if isinstance(entry, dict):
            yield entry


def _log_lines(log_dir: Path) -> dict[str, list[str]]:
    """Each delivery's log lines (event and error), from the processes' JSON logs."""
    found: dict[str, list[str]] = {}
    for path in sorted(log_dir.glob("*.log")):
        for entry in _entries(path):
            delivery = entry.get("delivery")
            if not delivery or entry.get("logger") == "httpx":
                continue
            text = " ".join(
                str(entry[name]) for name in ("timestamp", "level", "event", "error") if entry.get(name)
            )
            found.setdefault(str(delivery), []).append(f"{path.stem}: {text[:300]}")
    return found


def live_owners(log_dir: Path, running: dict[str, bool]) -> set[str]:
    """The lease owner of each process still running (its last ``workers started`` line)."""
    owners: set[str] = set()
    for name, alive in running.items():
        if not alive:
            continue
        path = log_dir / f"{name}.log"
        last = None
        for raw in path.read_text(errors="replace").splitlines():
            if "workers started" in raw and raw.startswith("{"):
                try:
                    last = json.loads(raw).get("owner")
                except ValueError:
                    continue
        if last:
            owners.add(last)
    return owners


def error_summary(log_dir: Path, limit: int = 12) -> list[str]:
    """The warnings and errors the processes logged, most frequent first."""
    counted: Counter[str] = Counter()
    for path in sorted(log_dir.glob("*.log")):
        for entry in _entries(path):
            if entry.get("level") not in ("warning", "error", "critical"):
                continue
            text = str(entry.get("event", ""))[:120]
            exception = str(entry.get("exception", "")).strip().splitlines()
            if exception:
                text += " | " + exception[-1][:160]
            elif entry.get("error"):
                text += " | " + str(entry["error"])[:100]
            counted[f"{entry.get('level')}: {text}"] += 1
    return [f"  {count:5d}  {text}" for text, count in counted.most_common(limit)]
