"""What reviewers did with Faultline's comments, for people: an HTML fragment the home page
embeds (``feedback_fragment``), its data (``feedback_view``), and ``/feedback`` showing it alone.

One row per installation and rule: comments made, with a 👎, dismissed (resolved by a
person while the finding stood), fixed; and the rules whose "not useful" rate (👎 or
dismissed, over commented) passes 10% on an installation, named above the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from faultline.app.observe.feedback import NOISY_RATE, FeedbackStore, RuleCounts, by_installation, noisy
from faultline.app.settings import Settings
from faultline.app.web.setup import message_page

TITLE = "Reviewers' feedback"
NOTHING_YET = "No inline comment has been counted yet."
INTRO = (
    "Counted from Faultline's inline comments on the next run of each pull request: a 👎 reaction "
    "or a thread resolved while its finding still stands says the finding was not useful. "
    "Only counts are kept."
)
NOISY = (
    "Noisy on installation {installation}: {rule}, {not_useful} of {commented} comments not useful ({rate})."
)
TABLE_HEAD = (
    "<tr><th>Installation</th><th>Rule</th><th>Commented</th><th>👎</th>"
    "<th>Dismissed</th><th>Fixed</th><th>Not useful</th></tr>"
)


@dataclass(frozen=True)
class FeedbackView:
    rows: list[RuleCounts]  # per installation and rule
    noisy: list[RuleCounts]  # those over NOISY_RATE


def feedback_view(store: FeedbackStore) -> FeedbackView:
    counts = store.counts()
    return FeedbackView(by_installation(counts), noisy(counts))


def feedback_fragment(view: FeedbackView) -> str:
    """The table and the noisy rules, as HTML to put inside a page."""
    if not view.rows:
        return f'<section class="feedback"><p>{escape(NOTHING_YET)}</p></section>'
    parts = ['<section class="feedback">', f"<p>{escape(INTRO)}</p>"]
    parts += [f'<p class="warning">{escape(_noisy_line(c))}</p>' for c in view.noisy]
    parts += ["<table>", TABLE_HEAD, *(_row(c) for c in view.rows), "</table>", "</section>"]
    return "\n".join(parts)


def _noisy_line(counts: RuleCounts) -> str:
    return NOISY.format(
        installation=counts.installation,
        rule=counts.rule,
        not_useful=counts.not_useful,
        commented=counts.commented,
        rate=_percent(counts.not_useful_rate),
    )


def _row(counts: RuleCounts) -> str:
    cells = [
        counts.installation,
        counts.rule,
        counts.commented,
        counts.thumbs_down,
        counts.dismissed,
        counts.fixed,
        _percent(counts.not_useful_rate),
    ]
    flagged = ' class="noisy"' if counts.not_useful_rate > NOISY_RATE else ""
    return f"<tr{flagged}>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in cells) + "</tr>"


def _percent(rate: float) -> str:
    return f"{rate:.0%}"


def add_feedback_page(app: FastAPI, settings: Settings) -> None:
    store = FeedbackStore.in_dir(settings.data_dir)

    @app.get("/feedback", response_class=HTMLResponse)
    async def feedback() -> HTMLResponse:
        view = await run_in_threadpool(feedback_view, store)
        return HTMLResponse(message_page(TITLE, "", more_html=feedback_fragment(view)))
