"""Pull request routes: a pull request, the open pull requests, a pull request's files."""

from __future__ import annotations

from .calls import Call, not_found, ok, route
from .faults import Reply
from .records import PullRequest
from .render_pulls import diff_entry, pull

# GitHub lists at most this many files of a pull request, however many changed.
MAX_LISTED_FILES = 3000
READ = [("pull_requests", "read")]


def the_pull(call: Call) -> PullRequest:
    found = call.sim.pulls.get((call.the_repo().full_name.lower(), call.int_param("pull_number")))
    if found is None:
        raise not_found()
    return found


@route("GET", "/repos/{owner}/{repo}/pulls", needs=READ)
def list_pulls(call: Call) -> Reply:
    repo = call.the_repo()
    state = call.query.get("state", "open")
    head_filter = call.query.get("head")  # "owner:branch"
    found = [
        pr
        for pr in call.sim.pulls.values()
        if pr.repo is repo
        and state in ("all", pr.state)
        and (head_filter is None or head_filter == f"{pr.head_repo.owner.login}:{pr.head_ref}")
    ]
    found.sort(key=lambda pr: -pr.number)
    return ok([pull(call.sim, pr) for pr in call.paginate(found)])


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}", needs=READ)
def get_pull(call: Call) -> Reply:
    return ok(pull(call.sim, the_pull(call)))


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files", needs=READ)
def list_files(call: Call) -> Reply:
    pr = the_pull(call)
    changes = call.sim.diff(pr.base_sha, pr.head_sha)[:MAX_LISTED_FILES]
    return ok([diff_entry(call.sim, pr, change) for change in call.paginate(changes)])
