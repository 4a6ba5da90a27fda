"""The home page's table of the last deliveries and their runs, read from the run ledger:
so a person can see why a check did not appear (ignored, queued, retrying, given up)."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Protocol, runtime_checkable

import structlog

from faultline.app.work.ledger import RunRecord

RECENT_RUNS = 20

log = structlog.get_logger("faultline.server")


@runtime_checkable
class Ledgered(Protocol):
    def recent(self, limit: int = RECENT_RUNS) -> list[RunRecord]: ...


def runs_table(queue: object) -> str:
    """HTML for the last runs, or a line saying why there is none."""
    if not isinstance(queue, Ledgered):
        return ""
    try:
        runs = queue.recent(RECENT_RUNS)
    except Exception as err:  # noqa: BLE001  # faultline: ignore[broad-except] the page must still render
        log.warning("could not read the run ledger", error=str(err))
        return f"<p>The run ledger cannot be read: {escape(str(err))}</p>"
    if not runs:
        return "<p>No delivery has asked for a run yet.</p>"
    rows = "".join(_row(run) for run in runs)
    head = "<tr><th>Received</th><th>Delivery</th><th>Trigger</th><th>Pull request</th>"
    head += "<th>Head</th><th>State</th><th>Outcome</th><th>Tries</th></tr>"
    return f'<h2>Last deliveries and runs</h2><table class="runs">{head}{rows}</table>'


def _row(run: RunRecord) -> str:
    received = datetime.fromtimestamp(run.received, UTC).strftime("%Y-%m-%d %H:%M:%S")
    pull = f"{run.repository}#{run.pull_number}" if run.pull_number is not None else run.repository
    state = run.state if run.state != "queued" or not run.errors else "retrying"
    outcome = run.conclusion or ""
    if run.detail:
        outcome = f"{outcome}: {run.detail}" if outcome else run.detail
    cells = (
        received,
        run.run_id,
        run.trigger,
        pull,
        (run.head_sha or "")[:7],
        state,
        outcome,
        f"{run.starts} ({run.errors} failed)",
    )
    return "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in cells) + "</tr>"
