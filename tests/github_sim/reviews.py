"""Review rules as GitHub enforces them: where a comment may sit, reviews, replies, threads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .calls import ApiError, field_error
from .gitdata import FileChange
from .records import PullRequest, Review, ReviewComment, Thread, User, now
from .state import GitHubSim, node_id
from .tracking import follow

EVENT_STATES = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}
SIDES = ("LEFT", "RIGHT")
MAX_BODY = 65536
COMMENT_RESOURCE = "PullRequestReviewComment"
ONE_PENDING = "User can only have one pending review per pull request"
NOT_PENDING = "Can not delete a non-pending pull request review"

# (message in a review's "errors" list, field and message of the single-comment endpoint)
PATH_UNRESOLVED = ("Path could not be resolved", "pull_request_review_thread.path", "could not be resolved")
LINE_UNRESOLVED = (
    "Line could not be resolved",
    "pull_request_review_thread.line",
    "pull_request_review_thread.line must be part of the diff",
)
START_UNRESOLVED = (
    "Line could not be resolved",
    "pull_request_review_thread.start_line",
    "pull_request_review_thread.start_line must be part of the diff",
)
START_NOT_BEFORE = (
    "Pull request review thread start line must precede the end line.",
    "pull_request_review_thread.start_line",
    "pull_request_review_thread.start_line must precede the end line.",
)
START_OTHER_HUNK = (
    "Pull request review thread start line must be part of the same hunk as the line.",
    "pull_request_review_thread.start_line",
    "pull_request_review_thread.start_line must be part of the same hunk as the line.",
)
POSITION_INVALID = (
    "Pull request review thread position is invalid",
    "pull_request_review_thread.position",
    "pull_request_review_thread.position is invalid",
)
LINE_MISSING = (
    "Pull request review thread line must be specified",
    "pull_request_review_thread.line",
    "pull_request_review_thread.line is missing",
)
SIDE_INVALID = (
    "Pull request review thread side must be LEFT or RIGHT",
    "pull_request_review_thread.side",
    "pull_request_review_thread.side must be LEFT or RIGHT",
)


class Misplaced(Exception):
    """A comment that cannot be placed on the diff; carries both endpoints' wording."""

    def __init__(self, wording: tuple[str, str, str]) -> None:
        super().__init__(wording[0])
        self.wording = wording

    def for_review(self) -> ApiError:
        return ApiError(422, "Unprocessable Entity", errors=[self.wording[0]])

    def for_comment(self) -> ApiError:
        return field_error(COMMENT_RESOURCE, self.wording[1], self.wording[2])


@dataclass(frozen=True)
class Placement:
    path: str
    line: int | None
    side: str | None
    start_line: int | None
    start_side: str | None
    diff_hunk: str
    subject_type: str


def changed_file(sim: GitHubSim, pr: PullRequest, commit_id: str, path: str) -> FileChange:
    for change in sim.diff(pr.base_sha, commit_id):
        if change.filename == path:
            return change
    raise Misplaced(PATH_UNRESOLVED)


def place(sim: GitHubSim, pr: PullRequest, commit_id: str, spec: dict[str, Any]) -> Placement:
    """Resolve path/line/side/start_line/start_side (or the deprecated position) on the diff."""
    change = changed_file(sim, pr, commit_id, str(spec.get("path")))
    if spec.get("subject_type") == "file":
        first = change.hunks[0].text_through(len(change.hunks[0].lines) - 1) if change.hunks else ""
        return Placement(change.filename, None, None, None, None, first, "file")
    line, side = spec.get("line"), spec.get("side") or "RIGHT"
    if line is None and spec.get("position") is not None:
        found = change.position(int(spec["position"]))
        spot = change.hunks[found[0]].line_at(found[1]) if found else None
        if spot is None:
            raise Misplaced(POSITION_INVALID)
        line, side = spot
    if line is None:
        raise Misplaced(LINE_MISSING)
    if side not in SIDES or (spec.get("start_side") or side) not in SIDES:
        raise Misplaced(SIDE_INVALID)
    end = change.locate(int(line), side)
    start_line = spec.get("start_line")
    start_side = (spec.get("start_side") or side) if start_line is not None else None
    if start_line is not None and start_side == side and int(start_line) >= int(line):
        raise Misplaced(START_NOT_BEFORE)
    refused = sim.refused.get((pr.repo.full_name.lower(), change.filename), set())
    if end is None or int(line) in refused:
        raise Misplaced(LINE_UNRESOLVED)
    if start_line is not None and start_side is not None:
        start = change.locate(int(start_line), start_side)
        if start is None or int(start_line) in refused:
            raise Misplaced(START_UNRESOLVED)
        if start[0] != end[0]:
            raise Misplaced(START_OTHER_HUNK)
        if start[1] >= end[1]:
            raise Misplaced(START_NOT_BEFORE)
    hunk = change.hunks[end[0]]
    return Placement(
        change.filename, int(line), side, start_line, start_side, hunk.text_through(end[1]), "line"
    )


def check_body(body: Any, resource: str) -> str:
    if not isinstance(body, str) or not body.strip():
        raise field_error(resource, "body", "body can't be blank", code="missing_field")
    if len(body) > MAX_BODY:
        raise field_error(resource, "body", f"body is too long (maximum is {MAX_BODY} characters)")
    return body


def _known_commit(sim: GitHubSim, pr: PullRequest, commit_id: Any) -> str:
    sha = pr.head_sha if commit_id is None else str(commit_id)
    commit = sim.commits.get(sha)
    if commit is None or commit.network != pr.repo.network:
        raise ApiError(422, "Unprocessable Entity", errors=["Commit could not be resolved"])
    return sha


def create_review(sim: GitHubSim, pr: PullRequest, user: User, body: dict[str, Any]) -> Review:
    """All comments are placed first: one misplaced comment rejects the whole review."""
    event = body.get("event")
    if event is not None and event not in EVENT_STATES:
        raise ApiError(422, "Unprocessable Entity", errors=[f"Event '{event}' is not a valid event"])
    commit_id = _known_commit(sim, pr, body.get("commit_id"))
    specs = body.get("comments") or []
    text = body.get("body") or ""
    if event in ("REQUEST_CHANGES", "COMMENT") and not text.strip() and not specs:
        raise ApiError(422, "Unprocessable Entity", errors=["Body can't be blank"])
    if event in ("APPROVE", "REQUEST_CHANGES") and user is pr.user:
        verb = "approve" if event == "APPROVE" else "request changes on"
        raise ApiError(422, "Unprocessable Entity", errors=[f"Can not {verb} your own pull request"])
    if event is None and any(r.state == "PENDING" and r.user is user for r in sim.reviews(pr)):
        raise ApiError(422, "Unprocessable Entity", errors=[ONE_PENDING])
    placements = []
    for spec in specs:
        try:
            placements.append((place(sim, pr, commit_id, spec), spec))
        except Misplaced as error:
            raise error.for_review() from error
        check_body(spec.get("body"), COMMENT_RESOURCE)
    state = EVENT_STATES.get(event or "", "PENDING")
    review = _new_review(sim, pr, user, text, state, commit_id)
    for placement, spec in placements:
        _add_comment(sim, pr, review, str(spec["body"]), placement, commit_id)
    return review


def delete_pending_review(sim: GitHubSim, review: Review) -> None:
    """Only a pending review can be deleted; its comments (and their threads) go with it."""
    if review.state != "PENDING":
        raise ApiError(422, "Unprocessable Entity", errors=[NOT_PENDING])
    for comment in [c for c in sim.review_comments(review.pr) if c.review_id == review.id]:
        delete_comment(sim, comment)
    del sim.review_records[review.id]


def submit_review(review: Review, event: Any, body: Any) -> None:
    if review.state != "PENDING" or event not in EVENT_STATES:
        raise ApiError(422, "Unprocessable Entity", errors=["Review has already been submitted"])
    review.state = EVENT_STATES[event]
    review.body = body or review.body
    review.submitted_at = now()


def _new_review(sim: GitHubSim, pr: PullRequest, user: User, text: str, state: str, commit_id: str) -> Review:
    rid = sim.next_id()
    submitted = None if state == "PENDING" else now()
    review = Review(rid, pr, user, node_id("PRR", rid), text, state, commit_id, submitted)
    sim.review_records[rid] = review
    return review


def _add_comment(
    sim: GitHubSim, pr: PullRequest, review: Review, text: str, spot: Placement, commit_id: str
) -> ReviewComment:
    cid = sim.next_id()
    thread = Thread(node_id("PRRT", cid), pr, [cid])
    sim.thread_records[thread.node_id] = thread
    comment = ReviewComment(
        cid, pr, review.id, review.user, node_id("PRRC", cid), text, spot.path, commit_id, spot.diff_hunk,
        spot.line, spot.side, spot.start_line, spot.start_side, None, thread.node_id, spot.subject_type,
    )  # fmt: skip
    sim.comment_records[cid] = comment
    if commit_id != pr.head_sha:  # made on an older commit: GitHub shows it on the head
        files = sim.commits[commit_id].files, sim.commits[pr.head_sha].files
        follow(comment, files[0].get(spot.path), files[1].get(spot.path))
    return comment


def create_comment(sim: GitHubSim, pr: PullRequest, user: User, body: dict[str, Any]) -> ReviewComment:
    """`POST .../pulls/{n}/comments`: a reply (in_reply_to) or a new thread in its own review."""
    text = check_body(body.get("body"), COMMENT_RESOURCE)
    if body.get("in_reply_to") is not None:
        parent = sim.comment_records.get(int(body["in_reply_to"]))
        if parent is None or parent.pr is not pr:
            raise field_error(COMMENT_RESOURCE, "in_reply_to", "in_reply_to is invalid", code="invalid")
        return reply(sim, parent, user, text)
    if body.get("commit_id") is None or body.get("path") is None:
        missing = "commit_id" if body.get("commit_id") is None else "path"
        raise field_error(COMMENT_RESOURCE, missing, f"{missing} wasn't supplied", code="missing_field")
    commit_id = _known_commit(sim, pr, body["commit_id"])
    try:
        spot = place(sim, pr, commit_id, body)
    except Misplaced as error:
        raise error.for_comment() from error
    review = _new_review(sim, pr, user, "", "COMMENTED", commit_id)
    return _add_comment(sim, pr, review, text, spot, commit_id)


def reply(sim: GitHubSim, parent: ReviewComment, user: User, text: str) -> ReviewComment:
    """A reply joins the parent's thread (a reply to a reply joins the same thread)."""
    thread = sim.thread_records[parent.thread_id]
    root = sim.comment_records[thread.comment_ids[0]]
    review = _new_review(sim, parent.pr, user, "", "COMMENTED", parent.pr.head_sha)
    cid = sim.next_id()
    comment = ReviewComment(
        cid, parent.pr, review.id, user, node_id("PRRC", cid), text, root.path, root.commit_id,
        root.diff_hunk, root.line, root.side, root.start_line, root.start_side, root.id, thread.node_id,
        root.subject_type,
    )  # fmt: skip
    sim.comment_records[cid] = comment
    thread.comment_ids.append(cid)
    return comment


def delete_comment(sim: GitHubSim, comment: ReviewComment) -> None:
    del sim.comment_records[comment.id]
    thread = sim.thread_records[comment.thread_id]
    thread.comment_ids.remove(comment.id)
    if not thread.comment_ids:
        del sim.thread_records[thread.node_id]


def is_outdated(sim: GitHubSim, comment: ReviewComment) -> bool:
    """A push changed one of the thread's lines (see `tracking`), or they are no longer
    part of the pull request's diff."""
    root = sim.comment_records[sim.thread_records[comment.thread_id].comment_ids[0]]
    if root.outdated:
        return True
    try:
        change = changed_file(sim, root.pr, root.pr.head_sha, root.path)
    except Misplaced:
        return True
    if root.head_line is None or root.side is None:
        return False  # a comment on the whole file
    return change.locate(root.head_line, root.side) is None


def head_lines(sim: GitHubSim, comment: ReviewComment) -> tuple[int | None, int | None]:
    """(start_line, line) of the comment's thread on the pull request's head; both None
    when it is outdated."""
    if is_outdated(sim, comment):
        return None, None
    root = sim.comment_records[sim.thread_records[comment.thread_id].comment_ids[0]]
    return root.head_start_line, root.head_line


def visible(sim: GitHubSim, comment: ReviewComment) -> bool:
    """Comments of a pending review are seen by nobody but their author: not listed."""
    review = sim.review_records.get(comment.review_id)
    return review is None or review.state != "PENDING"


def add_thread(
    sim: GitHubSim,
    pr: PullRequest,
    user: str,
    path: str,
    line: int,
    body: str = "Looks risky",
    side: str = "RIGHT",
) -> ReviewComment:
    """Test helper: a human's single-comment thread at the PR head, placed by GitHub's rules."""
    with sim.lock:
        spec = {"body": body, "commit_id": pr.head_sha, "path": path, "line": line, "side": side}
        return create_comment(sim, pr, sim.add_user(user), spec)
