"""Webhook deliveries: signature check and the decision whether a delivery starts a run.

The models below declare only the payload fields Faultline reads, so a delivery
that gains or loses other fields still parses.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from faultline.app.work.request import AnalysisRequest

SIGNATURE_PREFIX = "sha256="
RECHECK_COMMAND = "/recheck"
PULL_REQUEST_ACTIONS = frozenset({"opened", "synchronize", "reopened", "ready_for_review", "edited"})
# The events the App subscribes to (see app.yml); any other event is acknowledged and ignored.
HANDLED_EVENTS = frozenset({"pull_request", "check_run", "check_suite", "issue_comment"})


def signature_matches(secret: str, body: bytes, header: str | None) -> bool:
    """True when ``header`` is GitHub's ``X-Hub-Signature-256`` of ``body``, compared in constant time."""
    if not header or not header.startswith(SIGNATURE_PREFIX):
        return False
    expected = SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    # Compare bytes: compare_digest refuses str with non-ASCII characters, and a header may carry some.
    return hmac.compare_digest(expected.encode(), header.encode("utf-8", errors="replace"))


def sign(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body``."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Account(_Model):
    login: str
    type: str = "User"

    @property
    def is_bot(self) -> bool:
        return self.type == "Bot" or self.login.endswith("[bot]")


class Repository(_Model):
    id: int
    name: str
    full_name: str | None = None  # for the log lines
    owner: Account


class Installation(_Model):
    id: int


class Commit(_Model):
    sha: str


class PullRequest(_Model):
    number: int
    state: str
    head: Commit


class RepoRef(_Model):
    id: int


class BaseRef(_Model):
    repo: RepoRef


class PullRequestRef(_Model):
    """An entry of ``check_run.pull_requests`` (the list is empty for a pull request from a fork)."""

    number: int
    base: BaseRef


class AppRef(_Model):
    id: int


class CheckRun(_Model):
    head_sha: str
    app: AppRef
    pull_requests: list[PullRequestRef] = []


class IssuePullRequest(_Model):
    url: str | None = None


class Issue(_Model):
    number: int
    state: str
    pull_request: IssuePullRequest | None = None


class Comment(_Model):
    id: int
    body: str | None = None
    user: Account


class _Delivery(_Model):
    action: str
    repository: Repository
    installation: Installation | None = None


class PullRequestEvent(_Delivery):
    pull_request: PullRequest
    # On ``edited``: the fields changed, with their old values ("title", "body", "base").
    changes: dict[str, Any] = {}


class CheckRunEvent(_Delivery):
    check_run: CheckRun


class CheckSuiteEvent(_Delivery):
    check_suite: CheckRun


class IssueCommentEvent(_Delivery):
    issue: Issue
    comment: Comment


@dataclass(frozen=True)
class Skip:
    """A delivery that starts no run, and why (logged, and sent back to GitHub)."""

    reason: str


class PayloadError(ValueError):
    """The payload lacks a field Faultline needs; the message names it."""


Delivery = PullRequestEvent | IssueCommentEvent | CheckRunEvent | CheckSuiteEvent
_MODELS: dict[str, type[Delivery]] = {
    "pull_request": PullRequestEvent,
    "issue_comment": IssueCommentEvent,
    "check_run": CheckRunEvent,
    "check_suite": CheckSuiteEvent,
}


def read_delivery(event: str, body: bytes) -> Delivery | None:
    """A handled event's model read straight from the body, or None when the event is not
    handled or the body does not fit the model (then ``request_for`` on the whole payload
    says why). The parser builds only the fields the model declares: a pull request's
    payload is some 20 KB, of which a run needs a few values, and building all of it
    would cost the receiver more than everything else it does with a delivery."""
    model = _MODELS.get(event)
    if model is None:
        return None
    try:
        return model.model_validate_json(body)
    except ValidationError:
        return None


def request_for(event: str, payload: Any, delivery_id: str, *, app_id: int | None) -> AnalysisRequest | Skip:
    """The run a delivery asks for, or why it asks for none.

    Raises PayloadError when a handled event lacks a field the run needs.
    """
    model = _MODELS.get(event)
    if model is None:
        return Skip(f"event {event} is not handled")
    if not isinstance(payload, dict) or not isinstance(payload.get("action"), str):
        raise PayloadError("payload has no action")
    if not _relevant_action(event, payload["action"]):
        return Skip(f"{event}.{payload['action']} starts no run")
    try:
        delivery = model.model_validate(payload)
    except ValidationError as err:
        raise PayloadError(_first_error(err)) from None
    return decide(event, delivery, delivery_id, app_id=app_id)


def decide(event: str, delivery: Delivery, delivery_id: str, *, app_id: int | None) -> AnalysisRequest | Skip:
    """``request_for`` of a delivery already read into its event's model."""
    if not _relevant_action(event, delivery.action):
        return Skip(f"{event}.{delivery.action} starts no run")
    if isinstance(delivery, PullRequestEvent):
        return _for_pull_request(delivery, delivery_id)
    if isinstance(delivery, IssueCommentEvent):
        return _for_comment(delivery, delivery_id)
    return _for_rerun(event, delivery, delivery_id, app_id)


def may_start_a_run(event: str, action: str | None) -> bool:
    """Whether a delivery of this event and action can start a run (the rest are acknowledged
    and ignored whatever their payload): what is worth asking GitHub to redeliver."""
    return event in HANDLED_EVENTS and action is not None and _relevant_action(event, action)


def _relevant_action(event: str, action: str) -> bool:
    if event == "pull_request":
        return action in PULL_REQUEST_ACTIONS
    if event == "issue_comment":
        return action == "created"  # an edited comment never re-triggers a run
    return action == "rerequested"


def _for_pull_request(delivery: PullRequestEvent, delivery_id: str) -> AnalysisRequest | Skip:
    pull = delivery.pull_request
    if delivery.action == "edited" and "base" not in delivery.changes:
        # A new title or body changes nothing a run looks at; a new base branch changes the diff.
        return Skip(f"pull_request.edited of #{pull.number} leaves its base branch as it was")
    if pull.state != "open":
        return Skip(f"pull request #{pull.number} is {pull.state}")
    # Drafts are analysed too: early feedback is the point of a draft.
    return _request(delivery, f"pull_request.{delivery.action}", delivery_id, pull.number, pull.head.sha)


def _for_comment(delivery: IssueCommentEvent, delivery_id: str) -> AnalysisRequest | Skip:
    issue, comment = delivery.issue, delivery.comment
    if (comment.body or "").strip() != RECHECK_COMMAND:
        return Skip(f"comment {comment.id} is not {RECHECK_COMMAND}")
    if issue.pull_request is None:
        return Skip(f"#{issue.number} is an issue, not a pull request")
    if comment.user.is_bot:
        return Skip(f"comment {comment.id} is by the bot {comment.user.login}")
    if issue.state != "open":
        return Skip(f"pull request #{issue.number} is {issue.state}")
    # The head sha is not in this payload: the job reads it, and checks the author's permission.
    return _request(
        delivery,
        "issue_comment.recheck",
        delivery_id,
        issue.number,
        None,
        comment_id=comment.id,
        comment_author=comment.user.login,
    )


def _for_rerun(
    event: str, delivery: CheckRunEvent | CheckSuiteEvent, delivery_id: str, app_id: int | None
) -> AnalysisRequest | Skip:
    check = delivery.check_run if isinstance(delivery, CheckRunEvent) else delivery.check_suite
    if app_id is None or check.app.id != app_id:
        return Skip(f"{event} belongs to app {check.app.id}, not this app")
    # The list is empty for a pull request from a fork: the job then finds it by head sha.
    own = [ref.number for ref in check.pull_requests if ref.base.repo.id == delivery.repository.id]
    number = own[0] if own else None
    return _request(delivery, f"{event}.rerequested", delivery_id, number, check.head_sha)


def _request(
    delivery: _Delivery,
    trigger: str,
    delivery_id: str,
    pull_number: int | None,
    head_sha: str | None,
    *,
    comment_id: int | None = None,
    comment_author: str | None = None,
) -> AnalysisRequest:
    if delivery.installation is None:
        raise PayloadError("payload has no installation: is this a repository webhook rather than the App's?")
    return AnalysisRequest(
        delivery_id=delivery_id,
        trigger=trigger,
        installation_id=delivery.installation.id,
        owner=delivery.repository.owner.login,
        repo=delivery.repository.name,
        pull_number=pull_number,
        head_sha=head_sha,
        comment_id=comment_id,
        comment_author=comment_author,
    )


def _first_error(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"payload field {where}: {first['msg'].lower()}"
