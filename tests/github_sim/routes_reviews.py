"""Review routes: reviews, review comments, replies."""

from __future__ import annotations

from . import reviews
from .calls import ApiError, Call, not_found, ok, route
from .faults import Reply
from .records import Review, ReviewComment, User, now
from .render_pulls import review, review_comment
from .routes_pulls import the_pull

READ = [("pull_requests", "read")]
WRITE = [("pull_requests", "write")]


def _actor(call: Call) -> User:
    return call.sim.add_user(call.actor_login())


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", needs=READ)
def list_reviews(call: Call) -> Reply:
    pr = the_pull(call)
    found = [r for r in call.sim.reviews(pr) if r.state != "PENDING" or r.user.login == call.actor_login()]
    return ok([review(call.sim, item) for item in call.paginate(found)])


@route("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", needs=WRITE)
def create_review(call: Call) -> Reply:
    pr = the_pull(call)
    created = reviews.create_review(call.sim, pr, _actor(call), call.json_object())
    return ok(review(call.sim, created))


def _the_review(call: Call) -> Review:
    pr = the_pull(call)
    found = call.sim.review_records.get(call.int_param("review_id"))
    # A pending review is seen by nobody but its author.
    hidden = found is not None and found.state == "PENDING" and found.user.login != call.actor_login()
    if found is None or found.pr is not pr or hidden:
        raise not_found()
    return found


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}", needs=READ)
def get_review(call: Call) -> Reply:
    return ok(review(call.sim, _the_review(call)))


@route("DELETE", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}", needs=WRITE)
def delete_review(call: Call) -> Reply:
    item = _the_review(call)
    shown = review(call.sim, item)
    reviews.delete_pending_review(call.sim, item)
    return ok(shown)


@route("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/events", needs=WRITE)
def submit_review(call: Call) -> Reply:
    item = _the_review(call)
    body = call.json_object()
    reviews.submit_review(item, body.get("event"), body.get("body"))
    return ok(review(call.sim, item))


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/comments", needs=READ)
def list_comments(call: Call) -> Reply:
    pr = the_pull(call)
    found = [c for c in call.sim.review_comments(pr) if reviews.visible(call.sim, c)]
    return ok([review_comment(call.sim, c) for c in call.paginate(found)])


@route("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/comments", needs=WRITE)
def create_comment(call: Call) -> Reply:
    pr = the_pull(call)
    created = reviews.create_comment(call.sim, pr, _actor(call), call.json_object())
    return ok(review_comment(call.sim, created), 201)


@route("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies", needs=WRITE)
def create_reply(call: Call) -> Reply:
    pr = the_pull(call)
    parent = call.sim.comment_records.get(call.int_param("comment_id"))
    if parent is None or parent.pr is not pr:
        raise not_found()
    text = call.json_object().get("body")
    if not isinstance(text, str) or not text:
        raise ApiError(422, 'Invalid request.\n\n"body" wasn\'t supplied.')
    return ok(review_comment(call.sim, reviews.reply(call.sim, parent, _actor(call), text)), 201)


def _the_comment(call: Call) -> ReviewComment:
    found = call.sim.comment_records.get(call.int_param("comment_id"))
    if found is None or found.pr.repo is not call.the_repo():
        raise not_found()
    return found


@route("GET", "/repos/{owner}/{repo}/pulls/comments/{comment_id}", needs=READ)
def get_comment(call: Call) -> Reply:
    return ok(review_comment(call.sim, _the_comment(call)))


@route("PATCH", "/repos/{owner}/{repo}/pulls/comments/{comment_id}", needs=WRITE)
def update_comment(call: Call) -> Reply:
    comment = _the_comment(call)
    comment.body = reviews.check_body(call.json_object().get("body"), reviews.COMMENT_RESOURCE)
    comment.updated_at = now()
    return ok(review_comment(call.sim, comment))


@route("DELETE", "/repos/{owner}/{repo}/pulls/comments/{comment_id}", needs=WRITE)
def delete_comment(call: Call) -> Reply:
    reviews.delete_comment(call.sim, _the_comment(call))
    return Reply(204)
