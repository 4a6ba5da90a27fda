"""Check run routes, with GitHub's documented limits on output and annotations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import render
from .calls import ApiError, Call, field_error, invalid, not_found, ok, route
from .faults import Reply
from .records import CheckRun, Repo, now
from .render import WEB, iso
from .state import GitHubSim, node_id

STATUSES = ("queued", "in_progress", "completed")
CONCLUSIONS = ("action_required", "cancelled", "failure", "neutral", "success", "skipped", "timed_out")
LEVELS = ("notice", "warning", "failure")
MAX_ANNOTATIONS = 50
MAX_ACTIONS = 3
MAX_TEXT = 65535  # characters, and GitHub also refuses more than this many bytes
ANNOTATION_FIELDS = ("path", "start_line", "end_line", "annotation_level", "message")
READ = [("checks", "read")]
WRITE = [("checks", "write")]


def _supplied(missing: list[str]) -> str:
    names = ", ".join(f'"{name}"' for name in missing)
    return f"{names} wasn't supplied." if len(missing) == 1 else f"{names} weren't supplied."


def _check_text(name: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise invalid(f"For 'properties/{name}', {value!r} is not a string.")
    if len(value) > MAX_TEXT:
        raise invalid(f"Only {MAX_TEXT} characters are allowed; {len(value)} were supplied.")
    if len(value.encode()) > MAX_TEXT:
        raise field_error("CheckRun", name, f"{name} exceeds a maximum bytesize of {MAX_TEXT}")


def _check_annotations(items: Any) -> list[dict[str, Any]]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise invalid(f"For 'properties/annotations', {items!r} is not an array.")
    if len(items) > MAX_ANNOTATIONS:
        raise invalid(f"No more than {MAX_ANNOTATIONS} items are allowed; {len(items)} were supplied.")
    problems = [
        _supplied(m) for m in ([f for f in ANNOTATION_FIELDS if f not in item] for item in items) if m
    ]
    if problems:
        raise invalid("\n".join(problems))
    for item in items:
        if item["annotation_level"] not in LEVELS:
            level = item["annotation_level"]
            raise invalid(
                f"For 'properties/annotation_level', \"{level}\" is not a member of {list(LEVELS)}."
            )
        if int(item["end_line"]) < int(item["start_line"]):
            raise field_error(
                "CheckRun", "annotations", "end_line must be greater than or equal to start_line"
            )
        columns = item.get("start_column") is not None or item.get("end_column") is not None
        if columns and item["start_line"] != item["end_line"]:
            # Documented: columns are only supported when start_line equals end_line.
            raise field_error(
                "CheckRun", "annotations", "start_column and end_column require start_line == end_line"
            )
    return items


def _check_output(output: Any, creating: bool) -> dict[str, Any] | None:
    if output is None:
        return None
    if not isinstance(output, dict):
        raise invalid(f"For 'properties/output', {output!r} is not an object.")
    required = ("title", "summary") if creating else ("summary",)
    missing = [name for name in required if name not in output]
    if missing:
        raise invalid(_supplied(missing))
    for name in ("summary", "text"):
        _check_text(name, output.get(name))
    _check_annotations(output.get("annotations"))
    return output


def _check_state(body: dict[str, Any], run: CheckRun | None) -> tuple[str | None, str | None]:
    """(status, conclusion) after the request; a conclusion implies status completed."""
    status, conclusion = body.get("status"), body.get("conclusion")
    if status is not None and status not in STATUSES:
        raise invalid(f"For 'properties/status', \"{status}\" is not a member of {list(STATUSES)}.")
    if conclusion is not None and conclusion not in CONCLUSIONS:
        raise invalid(
            f"For 'properties/conclusion', \"{conclusion}\" is not a member of {list(CONCLUSIONS)}."
        )
    if conclusion is not None:
        status = "completed"
    completing = status == "completed" or body.get("completed_at") is not None
    if completing and conclusion is None and (run is None or run.conclusion is None):
        raise invalid(_supplied(["conclusion"]))
    actions = body.get("actions") or []
    if len(actions) > MAX_ACTIONS:
        raise invalid(f"No more than {MAX_ACTIONS} items are allowed; {len(actions)} were supplied.")
    return status, conclusion


def _stamp(value: Any, default: datetime | None) -> datetime | None:
    if value is None:
        return default
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _apply(call: Call, run: CheckRun, body: dict[str, Any], output: dict[str, Any] | None) -> None:
    status, conclusion = _check_state(body, run)
    run.name = body.get("name", run.name)
    run.details_url = body.get("details_url", run.details_url)
    run.external_id = body.get("external_id", run.external_id)
    run.started_at = _stamp(body.get("started_at"), run.started_at)
    run.actions = body.get("actions", run.actions)
    if status is not None:
        run.status = status
    if conclusion is not None:
        run.conclusion = conclusion
    if run.status == "completed":
        run.completed_at = _stamp(body.get("completed_at"), run.completed_at or now())
    if output is not None:
        run.title = output.get("title", run.title)
        run.summary = output.get("summary", run.summary)
        run.text = output.get("text", run.text)
        # Annotations are appended across updates, as GitHub does.
        for item in output.get("annotations") or []:
            run.annotations.append(_annotation(call, run, item))


def _annotation(call: Call, run: CheckRun, item: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "path",
        "start_line",
        "end_line",
        "start_column",
        "end_column",
        "annotation_level",
        "title",
        "message",
    )
    stored = {key: item.get(key) for key in keys} | {"raw_details": item.get("raw_details")}
    return stored | {"blob_href": f"{WEB}/{run.repo.full_name}/blob/{run.head_sha}/{item['path']}"}


@route("POST", "/repos/{owner}/{repo}/check-runs", needs=WRITE)
def create_check_run(call: Call) -> Reply:
    body = call.json_object()
    missing = [name for name in ("name", "head_sha") if not body.get(name)]
    if missing:
        raise invalid(_supplied(missing))
    repo = call.the_repo()
    commit = call.sim.commits.get(str(body["head_sha"]))
    if commit is None or commit.network != repo.network:
        raise ApiError(422, f"No commit found for SHA: {body['head_sha']}")
    output = _check_output(body.get("output"), creating=True)
    _check_state(body, None)
    assert call.token is not None
    rid = call.sim.next_id()
    run = CheckRun(
        rid, repo, call.token.installation.app, str(body["name"]), commit.sha, node_id("CR", rid),
        "queued", None, now(), None, None, None,
    )  # fmt: skip
    _apply(call, run, body, output)
    call.sim.check_run_records[rid] = run
    return ok(check_run_json(call.sim, run), 201)


def _the_run(call: Call) -> CheckRun:
    run = call.sim.check_run_records.get(call.int_param("check_run_id"))
    if run is None or run.repo is not call.the_repo():
        raise not_found()
    return run


@route("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}", needs=WRITE)
def update_check_run(call: Call) -> Reply:
    run = _the_run(call)
    assert call.token is not None
    app_id = call.token.installation.app.id
    if run.app.id != app_id:
        raise ApiError(
            403,
            f"Invalid app_id `{app_id}` - check run can only be modified by the GitHub App that created it.",
        )
    body = call.json_object()
    output = _check_output(body.get("output"), creating=False)
    _check_state(body, run)
    _apply(call, run, body, output)
    return ok(check_run_json(call.sim, run))


@route("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}", needs=READ)
def get_check_run(call: Call) -> Reply:
    return ok(check_run_json(call.sim, _the_run(call)))


@route("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations", needs=READ)
def list_annotations(call: Call) -> Reply:
    return ok(call.paginate(_the_run(call).annotations))


@route("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs", needs=READ)
def list_for_ref(call: Call) -> Reply:
    repo = call.the_repo()
    sha = call.sim.resolve_ref(repo, call.params["ref"])
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {call.params['ref']}")
    runs = [run for run in call.sim.check_runs(repo.full_name, sha) if _wanted(call, run)]
    if call.query.get("filter", "latest") == "latest":
        newest: dict[tuple[int, str], CheckRun] = {}
        for run in runs:
            newest[(run.app.id, run.name)] = run
        runs = list(newest.values())
    runs.sort(key=lambda run: -run.id)
    page = call.paginate(runs)
    return ok({"total_count": len(runs), "check_runs": [check_run_json(call.sim, run) for run in page]})


def _wanted(call: Call, run: CheckRun) -> bool:
    name, status, app_id = call.query.get("check_name"), call.query.get("status"), call.query.get("app_id")
    return (
        (name is None or run.name == name)
        and (status is None or run.status == status)
        and (app_id is None or str(run.app.id) == app_id)
    )


def check_run_json(sim: GitHubSim, run: CheckRun) -> dict[str, Any]:
    api, full = sim.api_url, run.repo.full_name
    url = f"{api}/repos/{full}/check-runs/{run.id}"
    suite = sim.check_suite_id(run.repo, run.head_sha, run.app)
    output = {
        "title": run.title,
        "summary": run.summary,
        "text": run.text,
        "annotations_count": len(run.annotations),
        "annotations_url": f"{url}/annotations",
    }
    return {
        "id": run.id,
        "head_sha": run.head_sha,
        "node_id": run.node_id,
        # Unset, GitHub answers "" for external_id and the App's homepage for details_url.
        "external_id": run.external_id or "",
        "url": url,
        "html_url": f"{WEB}/{full}/runs/{run.id}",
        "details_url": run.details_url or f"{WEB}/{run.app.owner.login}",
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": iso(run.started_at),
        "completed_at": iso(run.completed_at),
        "output": output,
        "name": run.name,
        "check_suite": {"id": suite},
        "app": render.app(api, run.app),
        "pull_requests": pull_requests_minimal(sim, run.repo, run.head_sha),
    }


def pull_requests_minimal(sim: GitHubSim, repo: Repo, head_sha: str) -> list[dict[str, Any]]:
    """Open PRs whose head is this commit; like GitHub, PRs from forks are not listed."""
    found = []
    for pr in sim.pulls.values():
        if pr.repo is repo and pr.head_repo is repo and pr.head_sha == head_sha and pr.state == "open":
            ref = {"id": repo.id, "url": f"{sim.api_url}/repos/{repo.full_name}", "name": repo.name}
            found.append({
                "id": pr.id,
                "number": pr.number,
                "url": f"{sim.api_url}/repos/{repo.full_name}/pulls/{pr.number}",
                "head": {"ref": pr.head_ref, "sha": pr.head_sha, "repo": ref},
                "base": {"ref": pr.base_ref, "sha": pr.base_sha, "repo": ref},
            })  # fmt: skip
    return found
