"""What a receiver's log line says about the delivery it is about.

Read from the raw payload, before (and whatever) the models make of it: a delivery that
is refused is logged with what could be read. Keys are the ones every line of a run
uses: ``repo``, ``pull``, ``head_sha``; ``action`` beside structlog's ``event``.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from faultline.app.web.webhooks import CheckRunEvent, Delivery, IssueCommentEvent, PullRequestEvent

Fields = dict[str, str | int | None]
# Where GitHub posts deliveries: the App's webhook URL may be the server's root.
WEBHOOK_PATHS = frozenset({"/webhook", "/"})


class QuietDeliveries(logging.Filter):
    """Drops uvicorn's access line of a delivery: the receiver's own line says more (the
    delivery, event, repository, pull request and status), and every line is CPU the
    receiver spends on each delivery, at the rate GitHub sends them."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn's access line: client, method, path with query, HTTP version, status.
        if isinstance(args, tuple) and len(args) == 5 and args[1] == "POST":
            return urlsplit(str(args[2])).path not in WEBHOOK_PATHS
        return True


QUIET_DELIVERIES = QuietDeliveries()


def delivery_fields(payload: Any) -> Fields:
    """``action``, ``repo``, ``pull`` and ``head_sha`` of a delivery, None where it has none."""
    if not isinstance(payload, dict):
        return {"action": None, "repo": None, "pull": None, "head_sha": None}
    pull, head_sha = _pull_and_head(payload)
    return {
        "action": _text(payload.get("action")),
        "repo": _text(_get(payload, "repository", "full_name")),
        "pull": pull,
        "head_sha": head_sha,
    }


def model_fields(delivery: Delivery) -> Fields:
    """The same fields, from a delivery read into its event's model (``read_delivery``)."""
    pull: int | None = None
    head_sha: str | None = None
    if isinstance(delivery, PullRequestEvent):
        pull, head_sha = delivery.pull_request.number, delivery.pull_request.head.sha
    elif isinstance(delivery, IssueCommentEvent):
        pull = delivery.issue.number
    else:
        check = delivery.check_run if isinstance(delivery, CheckRunEvent) else delivery.check_suite
        pull = check.pull_requests[0].number if check.pull_requests else None
        head_sha = check.head_sha
    repo = delivery.repository.full_name
    return {"action": delivery.action, "repo": repo, "pull": pull, "head_sha": head_sha}


def _pull_and_head(payload: dict[str, Any]) -> tuple[int | None, str | None]:
    if isinstance(payload.get("pull_request"), dict):
        return _number(_get(payload, "pull_request", "number")), _text(
            _get(payload, "pull_request", "head", "sha")
        )
    if isinstance(payload.get("issue"), dict):
        # A comment on an issue names no commit; on a pull request the job reads the head.
        return _number(_get(payload, "issue", "number")), None
    for key in ("check_run", "check_suite"):
        check = payload.get(key)
        if isinstance(check, dict):
            pulls = check.get("pull_requests")
            first = pulls[0] if isinstance(pulls, list) and pulls else None
            return _number(_get(first, "number")), _text(check.get("head_sha"))
    return None, None


def _get(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
