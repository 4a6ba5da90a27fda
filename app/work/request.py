"""The work item: what the receiver takes from a delivery and a worker needs to run it.

Plain data, serialised into the queue as JSON; the web process builds it without loading
the engine or the GitHub client.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AnalysisRequest:
    """Everything a run needs from the delivery that asked for it (plain data:
    it is serialised into the queue)."""

    delivery_id: str
    trigger: str  # "pull_request.synchronize", "check_run.rerequested", "issue_comment.recheck", ...
    installation_id: int
    owner: str
    repo: str
    # None when the event names only a commit (check_run/check_suite from a fork):
    # the job finds the open pull request whose head is head_sha.
    pull_number: int | None = None
    head_sha: str | None = None
    # For /recheck: the comment to react to and who asked (permission checked in the job).
    comment_id: int | None = None
    comment_author: str | None = None
    # Unused since the run ledger decides retries (app/work/policy.py); kept so that queue
    # files written by earlier versions still load.
    retry_in: float | None = None
    # Set by the queue when the ledger holds a newer delivery for another head of the same
    # pull request: the run completes this head's check run as superseded by that one.
    superseded_by: str | None = None


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended, for the ledger and the metrics."""

    conclusion: str  # the check run's, or "superseded", "skipped"
    title: str | None = None
    head_sha: str | None = None
