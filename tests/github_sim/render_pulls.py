"""JSON shapes of pull requests, their files, reviews and review comments."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from . import render
from .gitdata import FileChange
from .records import PullRequest, Repo, Review, ReviewComment, User
from .render import WEB, iso
from .reviews import head_lines, is_outdated
from .state import GitHubSim


def association(sim: GitHubSim, repo: Repo, who: User) -> str:
    if repo.owner.login.lower() == who.login.lower():
        return "OWNER"
    return "COLLABORATOR" if sim.role_of(repo, who.login) else "CONTRIBUTOR"


def _commit_count(sim: GitHubSim, pr: PullRequest) -> int:
    stop = sim.merge_base(pr.base_sha, pr.head_sha)
    count, sha = 0, pr.head_sha
    while sha != stop and count < 10000:
        count += 1
        parents = sim.commits[sha].parents
        if not parents:
            break
        sha = parents[0]
    return count


def _branch(sim: GitHubSim, repo: Repo, ref: str, sha: str) -> dict[str, Any]:
    return {
        "label": f"{repo.owner.login}:{ref}",
        "ref": ref,
        "sha": sha,
        "user": render.user(sim.api_url, repo.owner),
        "repo": render.repository(sim.api_url, repo),
    }


def pull(sim: GitHubSim, pr: PullRequest) -> dict[str, Any]:
    api, full = sim.api_url, pr.repo.full_name
    url = f"{api}/repos/{full}/pulls/{pr.number}"
    html = f"{WEB}/{full}/pull/{pr.number}"
    issue = f"{api}/repos/{full}/issues/{pr.number}"
    files = sim.diff(pr.base_sha, pr.head_sha)
    links = {
        "self": url,
        "html": html,
        "issue": issue,
        "comments": f"{issue}/comments",
        "review_comments": f"{url}/comments",
        "review_comment": f"{api}/repos/{full}/pulls/comments{{/number}}",
        "commits": f"{url}/commits",
        "statuses": f"{api}/repos/{full}/statuses/{pr.head_sha}",
    }
    head = {
        "url": url,
        "id": pr.id,
        "node_id": pr.node_id,
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": issue,
        "commits_url": links["commits"],
        "review_comments_url": links["review_comments"],
        "review_comment_url": links["review_comment"],
        "comments_url": links["comments"],
        "statuses_url": links["statuses"],
        "number": pr.number,
        "state": pr.state,
        "locked": False,
        "title": pr.title,
        "user": render.user(api, pr.user),
        "body": pr.body,
        "labels": [],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": iso(pr.created_at),
        "updated_at": iso(pr.updated_at),
        "closed_at": iso(pr.closed_at),
        "merged_at": iso(pr.closed_at) if pr.merged else None,
        "merge_commit_sha": None,
    }
    return head | {
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": _branch(sim, pr.head_repo, pr.head_ref, pr.head_sha),
        "base": _branch(sim, pr.repo, pr.base_ref, pr.base_sha),
        "_links": {name: {"href": href} for name, href in links.items()},
        "author_association": association(sim, pr.repo, pr.user),
        "auto_merge": None,
        "draft": pr.draft,
        "merged": pr.merged,
        "mergeable": True if pr.state == "open" else None,
        "rebaseable": True if pr.state == "open" else None,
        "mergeable_state": "clean" if pr.state == "open" else "unknown",
        "merged_by": None,
        "comments": len(sim.issue_comments(full, pr.number)),
        "review_comments": len(sim.review_comments(pr)),
        "maintainer_can_modify": False,
        "commits": _commit_count(sim, pr),
        "additions": sum(f.additions for f in files),
        "deletions": sum(f.deletions for f in files),
        "changed_files": len(files),
    }


def diff_entry(sim: GitHubSim, pr: PullRequest, change: FileChange) -> dict[str, Any]:
    full = pr.repo.full_name
    sha = pr.base_sha if change.status == "removed" else pr.head_sha
    path = quote(change.filename)
    entry: dict[str, Any] = {
        "sha": change.sha,
        "filename": change.filename,
        "status": change.status,
        "additions": change.additions,
        "deletions": change.deletions,
        "changes": change.additions + change.deletions,
        "blob_url": f"{WEB}/{full}/blob/{sha}/{path}",
        "raw_url": f"{WEB}/{full}/raw/{sha}/{path}",
        "contents_url": f"{sim.api_url}/repos/{full}/contents/{path}?ref={sha}",
    }
    # GitHub leaves `patch` out for binary files and for diffs too large to show.
    if change.patch is not None and change.filename not in pr.omit_patch:
        entry["patch"] = change.patch
    if change.previous_filename is not None:
        entry["previous_filename"] = change.previous_filename
    return entry


def review(sim: GitHubSim, item: Review) -> dict[str, Any]:
    pr = item.pr
    html = f"{WEB}/{pr.repo.full_name}/pull/{pr.number}#pullrequestreview-{item.id}"
    pull_url = f"{sim.api_url}/repos/{pr.repo.full_name}/pulls/{pr.number}"
    body = {
        "id": item.id,
        "node_id": item.node_id,
        "user": render.user(sim.api_url, item.user),
        "body": item.body,
        "state": item.state,
        "html_url": html,
        "pull_request_url": pull_url,
        "author_association": association(sim, pr.repo, item.user),
        "_links": {"html": {"href": html}, "pull_request": {"href": pull_url}},
        "commit_id": item.commit_id,
    }
    if item.submitted_at is not None:
        body["submitted_at"] = iso(item.submitted_at)
    return body


def _position(sim: GitHubSim, comment: ReviewComment, commit_id: str, line: int | None) -> int | None:
    if line is None or comment.side is None:
        return None
    for change in sim.diff(comment.pr.base_sha, commit_id):
        if change.filename == comment.path:
            spot = change.locate(line, comment.side)
            return change.position_of(*spot) if spot else None
    return None


def review_comment(sim: GitHubSim, item: ReviewComment) -> dict[str, Any]:
    pr, api = item.pr, sim.api_url
    url = f"{api}/repos/{pr.repo.full_name}/pulls/comments/{item.id}"
    html = f"{WEB}/{pr.repo.full_name}/pull/{pr.number}#discussion_r{item.id}"
    pull_url = f"{api}/repos/{pr.repo.full_name}/pulls/{pr.number}"
    outdated = is_outdated(sim, item)
    start_line, line = head_lines(sim, item)
    original_position = _position(sim, item, item.commit_id, item.line)
    body: dict[str, Any] = {
        "url": url,
        "pull_request_review_id": item.review_id,
        "id": item.id,
        "node_id": item.node_id,
        "diff_hunk": item.diff_hunk,
        "path": item.path,
        "position": None if outdated else _position(sim, item, pr.head_sha, line),
        "original_position": original_position,
        "commit_id": item.commit_id if outdated else pr.head_sha,
        "original_commit_id": item.commit_id,
        "user": render.user(api, item.user),
        "body": item.body,
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
        "html_url": html,
        "pull_request_url": pull_url,
        "author_association": association(sim, pr.repo, item.user),
        "_links": {"self": {"href": url}, "html": {"href": html}, "pull_request": {"href": pull_url}},
        "start_line": start_line,
        "original_start_line": item.start_line,
        "start_side": item.start_side,
        "line": line,
        "original_line": item.line,
        "side": item.side,
        "subject_type": item.subject_type,
    }
    if item.in_reply_to is not None:
        body["in_reply_to_id"] = item.in_reply_to
    return body
