"""Webhook deliveries for tests: GitHub's example payloads, pointed at simulator objects and signed.

The examples are in `tests/data/webhooks/`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from pathlib import Path
from typing import Any

from . import render
from .records import App, CheckRun, Installation, IssueComment, PullRequest, Repo
from .render_pulls import pull
from .routes_checks import check_run_json, pull_requests_minimal
from .routes_issues import comment_json
from .state import GitHubSim, node_id

# GitHub's example deliveries, copied into the repository (see the README there).
WEBHOOKS_DIR = Path(__file__).resolve().parent.parent / "data" / "webhooks"


def load_payload(name: str) -> dict[str, Any]:
    """An example delivery, e.g. "pull_request.opened", as GitHub's docs publish it."""
    path = WEBHOOKS_DIR / (name if name.endswith(".json") else f"{name}.json")
    payload: dict[str, Any] = json.loads(path.read_text())
    return payload


def _fill_repo(repo: dict[str, Any] | None) -> None:
    if isinstance(repo, dict):
        repo.setdefault("disabled", False)


def _fill_labels(labels: list[dict[str, Any]]) -> None:
    for label in labels:
        label.setdefault("description", None)
        label.setdefault("archived_at", None)
        label.setdefault("archived_by", None)


def _fill_app(app: dict[str, Any] | None) -> None:
    if isinstance(app, dict):
        app.setdefault("events", [])
        app.setdefault("permissions", {})


def fill_missing(payload: dict[str, Any], installation_id: int | None = None) -> dict[str, Any]:
    """Add, in place, fields real deliveries carry that some published examples lack.

    Every delivery to an App names its installation: give `installation_id` to add one.
    """
    if installation_id is not None and "installation" not in payload:
        payload["installation"] = {"id": installation_id, "node_id": node_id("IN", installation_id)}
    _fill_repo(payload.get("repository"))
    if "installation" in payload and "account" in payload["installation"]:
        for key in ("app_slug", "suspended_at", "suspended_by"):
            payload["installation"].setdefault(key, "faultline" if key == "app_slug" else None)
    if "repositories_added" in payload:
        payload.setdefault("requester", None)
    if isinstance(payload.get("label"), dict):
        _fill_labels([payload["label"]])
    if "pull_request" in payload:
        pr = payload["pull_request"]
        pr.setdefault("auto_merge", None)
        _fill_labels(pr.get("labels", []))
        for side in ("head", "base"):
            _fill_repo(pr.get(side, {}).get("repo"))
    if "issue" in payload:
        issue = payload["issue"]
        issue.setdefault("active_lock_reason", None)
        issue.setdefault("reactions", _empty_reactions(issue.get("url", "")))
        _fill_labels(issue.get("labels", []))
    if "comment" in payload:
        payload["comment"].setdefault("performed_via_github_app", None)
        payload["comment"].setdefault("reactions", _empty_reactions(payload["comment"].get("url", "")))
    if "check_run" in payload:
        run = payload["check_run"]
        run.setdefault("node_id", "CR_kwDOsim")
        run.setdefault("details_url", run.get("html_url"))
        _fill_app(run.get("app"))
        _fill_app(run.get("check_suite", {}).get("app"))
    return payload


def _empty_reactions(url: str) -> dict[str, Any]:
    counts = dict.fromkeys(("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes"), 0)
    return {"url": f"{url}/reactions", "total_count": 0, **counts}


def _base(
    sim: GitHubSim, name: str, repo: Repo, installation: Installation | None, sender: str | None
) -> dict[str, Any]:
    payload = load_payload(name)
    payload["repository"] = payload.get("repository", {}) | render.repository(sim.api_url, repo)
    payload["sender"] = render.user(sim.api_url, sim.add_user(sender or "octocat"))
    if installation is not None:
        payload["installation"] = {"id": installation.id, "node_id": node_id("IN", installation.id)}
    payload.pop("organization", None)
    return payload


def _example(name: str, fallback: str) -> str:
    return name if (WEBHOOKS_DIR / f"{name}.json").is_file() else fallback


def pull_request_payload(
    sim: GitHubSim,
    pr: PullRequest,
    action: str = "opened",
    installation: Installation | None = None,
    sender: str | None = None,
    before: str | None = None,
) -> dict[str, Any]:
    """A `pull_request` delivery about `pr`; `before` is the old head for "synchronize"."""
    with sim.lock:
        payload = _base(
            sim,
            _example(f"pull_request.{action}", "pull_request.opened"),
            pr.repo,
            installation,
            sender or pr.user.login,
        )
        payload["action"] = action
        payload["number"] = pr.number
        payload["pull_request"] = payload["pull_request"] | pull(sim, pr)
        if action == "edited":
            payload.setdefault("changes", {"title": {"from": pr.title}})
        if action == "synchronize":
            payload["before"], payload["after"] = before or pr.base_sha, pr.head_sha
        else:
            payload.pop("before", None)
            payload.pop("after", None)
        return fill_missing(payload)


def issue_comment_payload(
    sim: GitHubSim, comment: IssueComment, action: str = "created", installation: Installation | None = None
) -> dict[str, Any]:
    """An `issue_comment` delivery; `issue.pull_request` is present when the issue is a PR."""
    with sim.lock:
        repo = comment.repo
        payload = _base(
            sim,
            _example(f"issue_comment.{action}", "issue_comment.created"),
            repo,
            installation,
            comment.user.login,
        )
        payload["action"] = action
        payload["comment"] = payload["comment"] | comment_json(sim, comment)
        payload["issue"] = payload["issue"] | _issue(sim, repo, comment.number)
        if action != "edited":
            payload.pop("changes", None)
        return fill_missing(payload)


def _issue(sim: GitHubSim, repo: Repo, number: int) -> dict[str, Any]:
    key = (repo.full_name.lower(), number)
    pr, issue = sim.pulls.get(key), sim.issues.get(key)
    url = f"{sim.api_url}/repos/{repo.full_name}/issues/{number}"
    record = pr or issue
    if record is None:
        raise KeyError(f"no issue or pull request #{number} in {repo.full_name}")
    body: dict[str, Any] = {
        "id": record.id,
        "node_id": record.node_id,
        "number": number,
        "title": record.title,
        "user": render.user(sim.api_url, record.user),
        "state": record.state,
        "body": record.body,
        "url": url,
        "repository_url": f"{sim.api_url}/repos/{repo.full_name}",
        "labels_url": f"{url}/labels{{/name}}",
        "comments_url": f"{url}/comments",
        "events_url": f"{url}/events",
        "html_url": f"{render.WEB}/{repo.full_name}/{'pull' if pr else 'issues'}/{number}",
        "labels": [],
        "comments": len(sim.issue_comments(repo.full_name, number)),
        "reactions": _empty_reactions(url),
    }
    if pr is not None:
        html = f"{render.WEB}/{repo.full_name}/pull/{number}"
        body["pull_request"] = {
            "url": f"{sim.api_url}/repos/{repo.full_name}/pulls/{number}",
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "merged_at": None,
        }
    return body


def check_run_payload(
    sim: GitHubSim,
    run: CheckRun,
    action: str = "rerequested",
    installation: Installation | None = None,
    sender: str | None = None,
    requested_action: str | None = None,
) -> dict[str, Any]:
    """A `check_run` delivery; `requested_action` is the button identifier for "requested_action"."""
    with sim.lock:
        payload = _base(
            sim, _example(f"check_run.{action}", "check_run.rerequested"), run.repo, installation, sender
        )
        payload["action"] = action
        run_json = check_run_json(sim, run)
        suite = payload["check_run"]["check_suite"] | {
            "id": run_json["check_suite"]["id"],
            "head_sha": run.head_sha,
            "app": run_json["app"],
            "pull_requests": run_json["pull_requests"],
        }
        payload["check_run"] = payload["check_run"] | run_json | {"check_suite": suite}
        if requested_action is not None:
            payload["requested_action"] = {"identifier": requested_action}
        else:
            payload.pop("requested_action", None)
        return fill_missing(payload)


def check_suite_payload(
    sim: GitHubSim,
    repo: Repo,
    head_sha: str,
    action: str = "requested",
    installation: Installation | None = None,
    head_branch: str | None = None,
    app: App | None = None,
) -> dict[str, Any]:
    """A `check_suite` delivery for a pushed commit (GitHub sends "requested" on every push)."""
    with sim.lock:
        chosen = app or sim.app
        payload = _base(
            sim, _example(f"check_suite.{action}", "check_suite.requested"), repo, installation, None
        )
        payload["action"] = action
        suite_id = sim.check_suite_id(repo, head_sha, chosen)
        payload["check_suite"] = payload["check_suite"] | {
            "id": suite_id,
            "head_sha": head_sha,
            "head_branch": head_branch,
            "after": head_sha,
            "status": "queued",
            "conclusion": None,
            "app": render.app(sim.api_url, chosen),
            "pull_requests": pull_requests_minimal(sim, repo, head_sha),
            "url": f"{sim.api_url}/repos/{repo.full_name}/check-suites/{suite_id}",
            "check_runs_url": f"{sim.api_url}/repos/{repo.full_name}/check-suites/{suite_id}/check-runs",
        }
        payload["check_suite"]["head_commit"] = payload["check_suite"]["head_commit"] | {
            "id": head_sha,
            "tree_id": sim.commits[head_sha].trees[""],
        }
        return fill_missing(payload)


def installation_payload(
    sim: GitHubSim, installation: Installation, action: str = "created", sender: str | None = None
) -> dict[str, Any]:
    """An `installation` delivery listing the repositories the installation covers."""
    with sim.lock:
        payload = load_payload(_example(f"installation.{action}", "installation.created"))
        payload["action"] = action
        payload["installation"] = render.installation(sim.api_url, installation)
        covered = [repo for repo in sim.repos.values() if installation.covers(repo.full_name)]
        payload["repositories"] = [
            {"id": r.id, "node_id": r.node_id, "name": r.name, "full_name": r.full_name, "private": r.private}
            for r in covered
        ]
        payload["sender"] = render.user(sim.api_url, sim.add_user(sender or installation.account.login))
        return fill_missing(payload)


def sign(body: bytes, secret: str) -> str:
    """The `X-Hub-Signature-256` value: "sha256=" + hex HMAC-SHA256 of the exact body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery(
    event: str, payload: dict[str, Any], secret: str, app: App | None = None
) -> tuple[dict[str, str], bytes]:
    """(headers, body bytes) of a signed delivery, with the headers GitHub sends an App."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/044aadd",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "1",
        "X-GitHub-Hook-Installation-Target-Type": "integration",
        "X-GitHub-Hook-Installation-Target-ID": str(app.id if app else 0),
        "X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest(),
        "X-Hub-Signature-256": sign(body, secret),
    }
    return headers, body
