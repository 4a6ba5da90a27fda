"""What a run learns of reviewers' feedback from Faultline's threads, before it resolves
or reopens any: per comment, the 👎 on it, whether a person resolved its thread while its
finding still stands (a dismissal), or whether its finding is gone (fixed).

The threads come from the one GraphQL query the run makes anyway (``app/github/threads.py``);
the states go to the store (``app/observe/feedback.py``), which keeps one row per comment.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence

from faultline.analyzers.core.findings import Finding
from faultline.app.github.threads import BotThread
from faultline.app.observe.feedback import CommentState, FeedbackStore

log = logging.getLogger(__name__)


def comment_states(
    threads: Sequence[BotThread], findings: Sequence[Finding], unchecked: frozenset[str], truncated: bool
) -> list[CommentState]:
    """A file this run could not check, or an incomplete file list, tells nothing of
    whether a finding is gone: then only the 👎 are read."""
    current = {finding.fingerprint for finding in findings}
    states = []
    for thread in threads:
        if thread.comment_id is None or not thread.rule:
            continue
        present = thread.fingerprint in current
        known = present or not (truncated or thread.path in unchecked)
        # A fixed finding was useful, whoever resolved its thread.
        dismissed = present and thread.resolved and not thread.resolved_by_us
        states.append(
            CommentState(
                comment_id=thread.comment_id,
                rule=thread.rule,
                thumbs_down=thread.thumbs_down,
                dismissed=dismissed if known else None,
                fixed=(not present) if known else None,
            )
        )
    return states


def record(store: FeedbackStore, installation: int, repo: str, pull: int, states: list[CommentState]) -> None:
    """Keep the states; a store that cannot be written loses this run's counts, not the run."""
    try:
        store.record(installation, repo, pull, states)
    except (sqlite3.Error, OSError) as err:
        log.warning("could not record feedback on %s#%d: %r", repo, pull, err)
