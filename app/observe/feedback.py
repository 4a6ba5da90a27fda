"""What reviewers did with Faultline's comments, kept as counts: the noise, measured where
it happens (Tricorder's "Not useful").

One row per inline comment, keyed by its GitHub id, holds that comment's state as the
latest run saw it: its rule, how many people reacted 👎, whether a person resolved its
thread while the finding still stood (dismissed), whether the finding is gone (fixed).
Every run of a pull request writes the state of every comment it read again, so the
same 👎 counts once however many runs see it. Only ids and counts are stored: no text.

The worker writes (``app/review/feedback.py``), the web process reads: ``/metrics``
through ``FeedbackCollector``, the home page through ``app/web/feedback.py``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

FEEDBACK_FILE = "feedback.sqlite3"
# A rule whose comments are "not useful" (👎 or dismissed) more often than this on an
# installation is named on the home page.
NOISY_RATE = 0.10
BUSY_TIMEOUT_SECONDS = 30.0

DDL = """
create table if not exists comment_feedback (
    installation integer not null,
    repo text not null,
    pull integer not null,
    comment_id integer not null,
    rule text not null,
    thumbs_down integer not null default 0,
    dismissed integer not null default 0,
    fixed integer not null default 0,
    updated real not null,
    primary key (installation, comment_id)
)
"""
# None in dismissed or fixed: this run could not tell (the file was not checked), keep what was known.
UPSERT = """
insert into comment_feedback
    (installation, repo, pull, comment_id, rule, thumbs_down, dismissed, fixed, updated)
values (?, ?, ?, ?, ?, ?, coalesce(?, 0), coalesce(?, 0), ?)
on conflict (installation, comment_id) do update set
    rule = excluded.rule,
    thumbs_down = excluded.thumbs_down,
    dismissed = coalesce(?, comment_feedback.dismissed),
    fixed = coalesce(?, comment_feedback.fixed),
    updated = excluded.updated
"""
COUNTS = """
select installation, repo, rule, count(*), sum(thumbs_down > 0), sum(dismissed), sum(fixed),
       sum(thumbs_down > 0 or dismissed)
from comment_feedback group by installation, repo, rule order by installation, repo, rule
"""


@dataclass(frozen=True)
class CommentState:
    """One comment as a run saw it."""

    comment_id: int
    rule: str
    thumbs_down: int  # people who reacted 👎
    dismissed: bool | None  # resolved by a person while its finding stood; None: unknown
    fixed: bool | None  # its finding is gone; None: unknown


@dataclass(frozen=True)
class RuleCounts:
    """The comments of one rule (on one repository of one installation, or summed)."""

    rule: str
    commented: int
    thumbs_down: int  # comments with at least one 👎
    dismissed: int
    fixed: int
    not_useful: int  # comments with a 👎 or dismissed (once if both)
    installation: int = 0
    repo: str = ""

    @property
    def not_useful_rate(self) -> float:
        return self.not_useful / self.commented if self.commented else 0.0

    def __add__(self, other: RuleCounts) -> RuleCounts:
        return RuleCounts(
            self.rule,
            self.commented + other.commented,
            self.thumbs_down + other.thumbs_down,
            self.dismissed + other.dismissed,
            self.fixed + other.fixed,
            self.not_useful + other.not_useful,
            self.installation,
            self.repo,
        )


class FeedbackStore:
    """The SQLite table in the data dir; every call opens its own connection (worker threads
    write, the web process reads)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def in_dir(cls, data_dir: Path) -> FeedbackStore:
        return cls(data_dir / FEEDBACK_FILE)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS)) as db:
            db.execute("pragma journal_mode=wal")
            db.execute(DDL)
            with db:  # one transaction
                yield db

    def record(self, installation: int, repo: str, pull: int, states: Iterable[CommentState]) -> None:
        now = time.time()
        rows = [
            (
                installation,
                repo.lower(),
                pull,
                s.comment_id,
                s.rule,
                s.thumbs_down,
                s.dismissed,
                s.fixed,
                now,
                s.dismissed,
                s.fixed,
            )
            for s in states
        ]
        if rows:
            with self._db() as db:
                db.executemany(UPSERT, rows)

    def counts(self) -> list[RuleCounts]:
        """Per installation, repository and rule."""
        if not self.path.exists():
            return []
        with self._db() as db:
            rows = db.execute(COUNTS).fetchall()
        return [
            RuleCounts(rule, commented, down, dismissed, fixed, not_useful, installation, repo)
            for installation, repo, rule, commented, down, dismissed, fixed, not_useful in rows
        ]


def by_rule(counts: Iterable[RuleCounts]) -> list[RuleCounts]:
    """The counts summed over repositories and installations, one per rule."""
    return _summed(counts, lambda c: (0, c.rule))


def by_installation(counts: Iterable[RuleCounts]) -> list[RuleCounts]:
    """The counts summed over the repositories of each installation, per rule."""
    return _summed(counts, lambda c: (c.installation, c.rule))


def noisy(counts: Iterable[RuleCounts]) -> list[RuleCounts]:
    """The rules whose not-useful rate passes NOISY_RATE on an installation."""
    return [c for c in by_installation(counts) if c.not_useful_rate > NOISY_RATE]


def _summed(counts: Iterable[RuleCounts], key: Callable[[RuleCounts], tuple[int, str]]) -> list[RuleCounts]:
    totals: dict[tuple[int, str], RuleCounts] = {}
    for count in counts:
        group = key(count)
        installation, rule = group
        blank = RuleCounts(rule, 0, 0, 0, 0, 0, installation)
        totals[group] = totals.get(group, blank) + count
    return [totals[group] for group in sorted(totals)]


class FeedbackCollector(Collector):
    """``/metrics``: the store's counts per rule, read at each scrape. Gauges, not counters:
    a 👎 can be taken back and a fix reverted."""

    def __init__(self, store: FeedbackStore) -> None:
        self.store = store

    def collect(self) -> Iterable[Metric]:
        totals = by_rule(self.store.counts())
        families = [
            ("faultline_feedback_commented", "Inline comments Faultline made, per rule", "commented"),
            ("faultline_feedback_thumbs_down", "Inline comments with a 👎 reaction, per rule", "thumbs_down"),
            (
                "faultline_feedback_dismissed",
                "Inline comments whose thread a person resolved while the finding stood, per rule",
                "dismissed",
            ),
            ("faultline_feedback_fixed", "Inline comments whose finding is gone (fixed), per rule", "fixed"),
        ]
        for name, documentation, field in families:
            family = GaugeMetricFamily(name, documentation, labels=["rule"])
            for count in totals:
                family.add_metric([count.rule], getattr(count, field))
            yield family
