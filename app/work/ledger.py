"""The run ledger: one row per delivery that asked for a run, in the same store as the queue.

The ledger, not the queue, is the truth about a run. A queue message only names a run id
and wakes a worker; the worker *claims* the run (an atomic update that gives it a lease),
so a duplicate message, a redelivery or a sweep that queued the run twice runs it once.
A run is ``queued`` (due at ``due``), ``leased`` by one worker until ``lease_until`` (renewed
by that worker's heartbeat) or ``done`` with the check run's conclusion. A run whose lease
expired, or that is due but was lost from the queue, is *owed*: the sweeper queues it again.

A pull request's runs take a lease on the pull request too (``take_pull``), so two runs of
one pull request never overlap, in one process or across machines.

Two stores implement ``LedgerStore``: ``SqliteLedger`` here (tables beside huey's own, in
one file, so that admitting a run and queueing its message is one transaction) and
``RedisLedger`` in ``ledger_redis.py`` (keys beside huey's, one Lua script per step).
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Protocol

from huey.storage import SqliteStorage

from faultline.app.work import leases
from faultline.app.work.request import AnalysisRequest

QUEUED, LEASED, DONE = "queued", "leased", "done"
# GitHub lets a delivery be redelivered for 3 days; remember runs a little longer.
MEMORY = timedelta(days=4)
WAKE_SLACK_SECONDS = 1.0


@dataclass(frozen=True)
class RunRecord:
    """One run as the ledger knows it (the home page lists these)."""

    run_id: str  # the delivery id that asked for it
    trigger: str
    repository: str  # owner/name
    pull_number: int | None
    head_sha: str | None
    received: float  # epoch seconds
    state: str  # queued, leased, done
    due: float
    starts: int  # attempts begun (a killed worker's included)
    errors: int  # attempts that ended in an error (a kill is not one)
    first_started: float | None
    finished: float | None
    conclusion: str | None  # success, failure, neutral, cancelled, superseded, skipped, error
    detail: str | None  # the check run's title, or the last error


@dataclass(frozen=True)
class Claim:
    """A run a worker now holds."""

    request: AnalysisRequest
    record: RunRecord


@dataclass(frozen=True)
class Newest:
    run_id: str
    head_sha: str | None
    received: float


def pull_key(request: AnalysisRequest) -> str | None:
    if request.pull_number is None:
        return None
    return leases.pull_key(request.installation_id, request.owner, request.repo, request.pull_number)


_REQUEST_FIELDS = tuple(field.name for field in fields(AnalysisRequest))


def message_wake(data: bytes) -> tuple[str, float] | None:
    """The run a queue message wakes and when it is due (epoch seconds, 0 for at once);
    None for a message that is not one of ours (``serializer.py`` writes them)."""
    try:
        fields = json.loads(data)
        run_id = fields["args"][0]
        eta = fields.get("eta")
        # huey writes its times as naive UTC.
        at = 0.0 if eta is None else datetime.fromisoformat(eta).replace(tzinfo=UTC).timestamp()
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None
    return (run_id, at) if isinstance(run_id, str) else None


def _wakes(at: float | None, due: float, now: float) -> bool:
    """Whether a message due at ``at`` wakes a run due at ``due`` in time (a second's slack:
    the message is scheduled just after the ledger's due time is written)."""
    return at is not None and at <= max(due, now) + WAKE_SLACK_SECONDS


def request_to_json(request: AnalysisRequest) -> str:
    # Every field is plain data: no need for asdict's deep copy (a tenth of a delivery's CPU).
    values = {name: getattr(request, name) for name in _REQUEST_FIELDS}
    return json.dumps(values, separators=(",", ":"))


def request_from_json(text: str | bytes) -> AnalysisRequest:
    # Stored as a plain dict, so a ledger outlives a change to AnalysisRequest:
    # unknown keys are dropped and new fields take their defaults.
    payload: Mapping[str, Any] = json.loads(text)
    known = {field.name for field in fields(AnalysisRequest)}
    return AnalysisRequest(**{key: value for key, value in payload.items() if key in known})


class LedgerStore(Protocol):
    def admit(self, request: AnalysisRequest, message: bytes) -> bool:
        """Record the run and queue its message at once; False when this delivery was seen."""
        ...

    def admit_many(self, items: list[tuple[AnalysisRequest, bytes]]) -> list[bool]:
        """``admit`` each, in one write to the store (``group_commit.py``)."""
        ...

    def claim(self, run_id: str, owner: str, lease_until: float, now: float) -> Claim | None:
        """Lease a run that is due, or whose lease expired; None when it is not claimable."""
        ...

    def renew(self, owner: str, lease_until: float, runs: Collection[str], holders: Collection[str]) -> None:
        """Extend the leases ``owner`` holds on these runs and, by holder token, pull requests:
        the ones it still works on. A lease it holds on anything else is left to expire, so
        a run its worker dropped (an error of the store itself) is taken up again."""
        ...

    def requeue(self, run_id: str, owner: str, due: float, *, error: str | None) -> None:
        """Give a leased run back, due at ``due``; ``error`` counts one failed attempt."""
        ...

    def finish(
        self, run_id: str, owner: str, conclusion: str, detail: str | None, head: str | None
    ) -> None: ...

    def take_pull(self, key: str, owner: str, holder: str, lease_until: float, now: float) -> bool: ...

    def drop_pull(self, key: str, holder: str) -> None: ...

    def newest(self, key: str) -> Newest | None:
        """The pull request's newest run (by the time its delivery came in)."""
        ...

    def owed(self, now: float, grace: float, *, everything: bool = False) -> list[tuple[str, float]]:
        """Runs to queue again, with when each is due: leases expired, or due longer than
        ``grace`` ago. ``everything``: every run not done (no other process can hold one; the
        pull requests' leases are dropped).
        Each one returned counts as queued again, due at its time."""
        ...

    def recent(self, limit: int) -> list[RunRecord]: ...

    def request(self, run_id: str) -> AnalysisRequest | None:
        """The work item a run was admitted with."""
        ...

    def counts(self) -> dict[str, int]:
        """Runs by state (queued, leased, done)."""
        ...


_COLUMNS = (
    "run_id, trigger, repository, pull_number, head_sha, received, state, due, starts, errors, "
    "first_started, finished, conclusion, detail"
)


def _record(row: tuple[Any, ...]) -> RunRecord:
    return RunRecord(*row)


class SqliteLedger(SqliteStorage):  # type: ignore[misc]
    """huey's SQLite storage plus the ledger's tables, in one file."""

    ddl: ClassVar[list[str]] = [
        *SqliteStorage.ddl,
        "create table if not exists run (queue text not null, run_id text not null, "
        "trigger text not null, repository text not null, pull_number integer, head_sha text, "
        "pull_key text, received real not null, state text not null, due real not null, "
        "lease_owner text, lease_until real, starts integer not null default 0, "
        "errors integer not null default 0, first_started real, finished real, conclusion text, "
        "detail text, payload text not null, primary key(queue, run_id))",
        "create index if not exists run_received on run (queue, received)",
        "create index if not exists run_pull on run (queue, pull_key, received)",
        "create index if not exists run_state on run (queue, state, due)",
        "create table if not exists pull_lease (queue text not null, pull_key text not null, "
        "owner text not null, holder text not null, lease_until real not null, "
        "primary key(queue, pull_key))",
    ]

    def admit(self, request: AnalysisRequest, message: bytes) -> bool:
        return self.admit_many([(request, message)])[0]

    def admit_many(self, items: list[tuple[AnalysisRequest, bytes]]) -> list[bool]:
        """``admit`` each, in one transaction: one commit (one fsync) for all of them."""
        now = time.time()
        with self.db(commit=True) as cursor:
            cursor.execute(
                "delete from run where queue = ? and state = ? and received < ?",
                (self.name, DONE, now - MEMORY.total_seconds()),
            )
            return [self._admit(cursor, request, message, now) for request, message in items]

    def _admit(self, cursor: Any, request: AnalysisRequest, message: bytes, now: float) -> bool:
        cursor.execute(
            "insert or ignore into run (queue, run_id, trigger, repository, pull_number, head_sha, "
            "pull_key, received, state, due, payload) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.name,
                request.delivery_id,
                request.trigger,
                f"{request.owner}/{request.repo}",
                request.pull_number,
                request.head_sha,
                pull_key(request),
                now,
                QUEUED,
                now,
                request_to_json(request),
            ),
        )
        if cursor.rowcount == 0:
            return False
        cursor.execute(
            "insert into task (queue, data, priority) values (?, ?, 0)",
            (self.name, self.to_blob(message)),
        )
        return True

    def claim(self, run_id: str, owner: str, lease_until: float, now: float) -> Claim | None:
        with self.db(commit=True) as cursor:
            cursor.execute(
                "update run set state = ?, lease_owner = ?, lease_until = ?, starts = starts + 1, "
                "first_started = coalesce(first_started, ?) where queue = ? and run_id = ? and "
                "((state = ? and due <= ?) or (state = ? and lease_until < ?))",
                (LEASED, owner, lease_until, now, self.name, run_id, QUEUED, now, LEASED, now),
            )
            if cursor.rowcount == 0:
                return None
            cursor.execute(
                f"select {_COLUMNS}, payload from run where queue = ? and run_id = ?", (self.name, run_id)
            )
            row = cursor.fetchone()
        return Claim(request_from_json(row[-1]), _record(row[:-1]))

    def renew(self, owner: str, lease_until: float, runs: Collection[str], holders: Collection[str]) -> None:
        with self.db(commit=True) as cursor:
            cursor.executemany(
                "update run set lease_until = ? "
                "where queue = ? and state = ? and lease_owner = ? and run_id = ?",
                [(lease_until, self.name, LEASED, owner, run_id) for run_id in runs],
            )
            cursor.executemany(
                "update pull_lease set lease_until = ? where queue = ? and owner = ? and holder = ?",
                [(lease_until, self.name, owner, holder) for holder in holders],
            )

    def requeue(self, run_id: str, owner: str, due: float, *, error: str | None) -> None:
        self.sql(
            "update run set state = ?, due = ?, lease_owner = null, lease_until = null, "
            "errors = errors + ?, detail = coalesce(?, detail) "
            "where queue = ? and run_id = ? and state = ? and lease_owner = ?",
            (QUEUED, due, 0 if error is None else 1, error, self.name, run_id, LEASED, owner),
            commit=True,
        )

    def finish(self, run_id: str, owner: str, conclusion: str, detail: str | None, head: str | None) -> None:
        self.sql(
            "update run set state = ?, finished = ?, conclusion = ?, detail = ?, "
            "head_sha = coalesce(?, head_sha), lease_owner = null, lease_until = null "
            "where queue = ? and run_id = ? and lease_owner = ?",
            (DONE, time.time(), conclusion, detail, head, self.name, run_id, owner),
            commit=True,
        )

    def take_pull(self, key: str, owner: str, holder: str, lease_until: float, now: float) -> bool:
        with self.db(commit=True) as cursor:
            cursor.execute(
                "delete from pull_lease where queue = ? and pull_key = ? and lease_until < ?",
                (self.name, key, now),
            )
            cursor.execute(
                "insert or ignore into pull_lease (queue, pull_key, owner, holder, lease_until) "
                "values (?, ?, ?, ?, ?)",
                (self.name, key, owner, holder, lease_until),
            )
            return bool(cursor.rowcount)

    def drop_pull(self, key: str, holder: str) -> None:
        self.sql(
            "delete from pull_lease where queue = ? and pull_key = ? and holder = ?",
            (self.name, key, holder),
            commit=True,
        )

    def newest(self, key: str) -> Newest | None:
        rows = self.sql(
            "select run_id, head_sha, received from run where queue = ? and pull_key = ? "
            "order by received desc, rowid desc limit 1",
            (self.name, key),
            results=True,
        )
        return Newest(*rows[0]) if rows else None

    def owed(self, now: float, grace: float, *, everything: bool = False) -> list[tuple[str, float]]:
        # The queue's messages are in this file too: a run that still has one (waiting its
        # turn behind a backlog, or scheduled for its retry) is not owed. Queueing it again
        # would only add a message per run and sweep (or per restart) for the workers to
        # read and drop, and a long backlog would grow longer.
        with self.db(commit=True) as cursor:
            if everything:
                # No other process holds a lease here: the pull requests' leases are dead ones too.
                cursor.execute("delete from pull_lease where queue = ?", (self.name,))
                cursor.execute(
                    "update run set state = ?, due = min(due, ?), lease_owner = null, lease_until = null "
                    "where queue = ? and state = ?",
                    (QUEUED, now, self.name, LEASED),
                )
                cursor.execute(
                    "select run_id, due from run where queue = ? and state = ?", (self.name, QUEUED)
                )
                queued = cursor.fetchall()
                woken = self._woken(cursor) if queued else {}
                return [(run_id, due) for run_id, due in queued if not _wakes(woken.get(run_id), due, now)]
            cursor.execute(
                "select run_id, due from run where queue = ? and state = ? and lease_until < ?",
                (self.name, LEASED, now),
            )
            expired = [run_id for run_id, _due in cursor.fetchall()]
            cursor.execute(
                "select run_id, due from run where queue = ? and state = ? and due < ?",
                (self.name, QUEUED, now - grace),
            )
            overdue = cursor.fetchall()
            woken = self._woken(cursor) if overdue else {}
            lost = [run_id for run_id, due in overdue if not _wakes(woken.get(run_id), due, now)]
            owed = [(run_id, now) for run_id in expired + lost]
            # Due now: the next sweep leaves it alone for another ``grace``.
            cursor.executemany(
                "update run set state = ?, due = ?, lease_owner = null, lease_until = null "
                "where queue = ? and run_id = ?",
                [(QUEUED, now, self.name, run_id) for run_id, _due in owed],
            )
            return owed

    def _woken(self, cursor: Any) -> dict[str, float]:
        """Each run that a message on the queue (or huey's schedule) will wake, and the
        earliest time one of them is due (epoch seconds; 0 for at once)."""
        woken: dict[str, float] = {}
        for table in ("task", "schedule"):
            cursor.execute(f"select data from {table} where queue = ?", (self.name,))
            for (data,) in cursor.fetchall():
                wake = message_wake(bytes(data))
                if wake is not None:
                    run_id, at = wake
                    woken[run_id] = min(woken.get(run_id, at), at)
        return woken

    def recent(self, limit: int) -> list[RunRecord]:
        rows = self.sql(
            f"select {_COLUMNS} from run where queue = ? order by received desc, rowid desc limit ?",
            (self.name, limit),
            results=True,
        )
        return [_record(row) for row in rows]

    def request(self, run_id: str) -> AnalysisRequest | None:
        rows = self.sql(
            "select payload from run where queue = ? and run_id = ?", (self.name, run_id), results=True
        )
        return request_from_json(rows[0][0]) if rows else None

    def counts(self) -> dict[str, int]:
        rows = self.sql(
            "select state, count(*) from run where queue = ? group by state", (self.name,), results=True
        )
        return {state: int(count) for state, count in rows}
