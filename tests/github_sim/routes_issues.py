"""Issue comment and reaction routes (a pull request is an issue for these)."""

from __future__ import annotations

from typing import Any

from . import render
from .calls import Call, invalid, not_found, ok, route
from .faults import Reply
from .records import IssueComment, Reaction, Repo, now
from .render import WEB, iso
from .render_pulls import association
from .reviews import check_body
from .state import GitHubSim, node_id

REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")
READ = [("issues", "read"), ("pull_requests", "read")]
WRITE = [("issues", "write"), ("pull_requests", "write")]
SUBJECT_PATHS = {"issue_comment": "issues/comments", "review_comment": "pulls/comments"}


def reaction_summary(sim: GitHubSim, repo: Repo, kind: str, comment_id: int) -> dict[str, Any]:
    found = sim.reactions(comment_id, kind)
    url = f"{sim.api_url}/repos/{repo.full_name}/{SUBJECT_PATHS[kind]}/{comment_id}/reactions"
    counts = {content: sum(r.content == content for r in found) for content in REACTIONS}
    return {"url": url, "total_count": len(found), **counts}


def comment_json(sim: GitHubSim, item: IssueComment) -> dict[str, Any]:
    full, api = item.repo.full_name, sim.api_url
    kind = "pull" if (full.lower(), item.number) in sim.pulls else "issues"
    app = next((a for a in sim.apps.values() if a.bot is item.user), None)
    return {
        "id": item.id,
        "node_id": item.node_id,
        "url": f"{api}/repos/{full}/issues/comments/{item.id}",
        "html_url": f"{WEB}/{full}/{kind}/{item.number}#issuecomment-{item.id}",
        "body": item.body,
        "user": render.user(api, item.user),
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
        "issue_url": f"{api}/repos/{full}/issues/{item.number}",
        "author_association": association(sim, item.repo, item.user),
        "performed_via_github_app": render.app(api, app) if app else None,
        "reactions": reaction_summary(sim, item.repo, "issue_comment", item.id),
    }


def _issue_number(call: Call) -> int:
    number = call.int_param("issue_number")
    key = (call.the_repo().full_name.lower(), number)
    if key not in call.sim.pulls and key not in call.sim.issues:
        raise not_found()
    return number


@route("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments", needs=READ)
def list_comments(call: Call) -> Reply:
    found = call.sim.issue_comments(call.the_repo().full_name, _issue_number(call))
    return ok([comment_json(call.sim, item) for item in call.paginate(found)])


@route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments", needs=WRITE)
def create_comment(call: Call) -> Reply:
    number = _issue_number(call)
    text = check_body(call.json_object().get("body"), "IssueComment")
    item = call.sim.add_issue_comment(call.the_repo().full_name, number, text, call.actor_login())
    return ok(comment_json(call.sim, item), 201)


def _the_comment(call: Call) -> IssueComment:
    found = call.sim.issue_comment_records.get(call.int_param("comment_id"))
    if found is None or found.repo is not call.the_repo():
        raise not_found()
    return found


@route("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}", needs=READ)
def get_comment(call: Call) -> Reply:
    return ok(comment_json(call.sim, _the_comment(call)))


@route("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}", needs=WRITE)
def update_comment(call: Call) -> Reply:
    item = _the_comment(call)
    item.body = check_body(call.json_object().get("body"), "IssueComment")
    item.updated_at = now()
    return ok(comment_json(call.sim, item))


@route("DELETE", "/repos/{owner}/{repo}/issues/comments/{comment_id}", needs=WRITE)
def delete_comment(call: Call) -> Reply:
    del call.sim.issue_comment_records[_the_comment(call).id]
    return Reply(204)


def _subject(call: Call, kind: str) -> tuple[str, int]:
    comment_id = call.int_param("comment_id")
    repo = call.the_repo()
    if kind == "issue_comment":
        issue_comment = call.sim.issue_comment_records.get(comment_id)
        exists = issue_comment is not None and issue_comment.repo is repo
    else:
        review_comment = call.sim.comment_records.get(comment_id)
        exists = review_comment is not None and review_comment.pr.repo is repo
    if not exists:
        raise not_found()
    return kind, comment_id


def reaction_json(call: Call, item: Reaction) -> dict[str, Any]:
    user = render.user(call.api, item.user)
    return {
        "id": item.id,
        "node_id": item.node_id,
        "user": user,
        "content": item.content,
        "created_at": iso(item.created_at),
    }


def _create_reaction(call: Call, kind: str) -> Reply:
    subject = _subject(call, kind)
    content = call.json_object().get("content")
    if content not in REACTIONS:
        raise invalid(f"For 'properties/content', {content!r} is not a member of {list(REACTIONS)}.")
    user = call.sim.add_user(call.actor_login())
    for existing in call.sim.reactions(subject[1], kind):
        if existing.user is user and existing.content == content:
            return ok(reaction_json(call, existing), 200)  # the same reaction again: 200, not 201
    rid = call.sim.next_id()
    item = Reaction(rid, subject, user, node_id("REA", rid), str(content))
    call.sim.reaction_records[rid] = item
    return ok(reaction_json(call, item), 201)


def _list_reactions(call: Call, kind: str) -> Reply:
    subject = _subject(call, kind)
    wanted = call.query.get("content")
    found = [r for r in call.sim.reactions(subject[1], kind) if wanted in (None, r.content)]
    return ok([reaction_json(call, item) for item in call.paginate(found)])


def _delete_reaction(call: Call, kind: str) -> Reply:
    subject = _subject(call, kind)
    item = call.sim.reaction_records.get(call.int_param("reaction_id"))
    if item is None or item.subject != subject:
        raise not_found()
    del call.sim.reaction_records[item.id]
    return Reply(204)


@route("POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", needs=WRITE)
def create_issue_comment_reaction(call: Call) -> Reply:
    return _create_reaction(call, "issue_comment")


@route("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", needs=READ)
def list_issue_comment_reactions(call: Call) -> Reply:
    return _list_reactions(call, "issue_comment")


@route("DELETE", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions/{reaction_id}", needs=WRITE)
def delete_issue_comment_reaction(call: Call) -> Reply:
    return _delete_reaction(call, "issue_comment")


@route("POST", "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions", needs=WRITE)
def create_review_comment_reaction(call: Call) -> Reply:
    return _create_reaction(call, "review_comment")


@route("GET", "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions", needs=READ)
def list_review_comment_reactions(call: Call) -> Reply:
    return _list_reactions(call, "review_comment")


@route("DELETE", "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions/{reaction_id}", needs=WRITE)
def delete_review_comment_reaction(call: Call) -> Reply:
    return _delete_reaction(call, "review_comment")
