"""What a queued run does, start to finish.

The webhook receiver turns a delivery into an AnalysisRequest, enqueues it
durably and answers 202; a worker then calls ``run_job`` with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.settings import Settings


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


def run_job(settings: Settings, request: AnalysisRequest) -> None:
    raise NotImplementedError("the analysis job is being written")
