"""App routes: the App itself, installations, installation tokens, manifest conversion."""

from __future__ import annotations

from typing import Any

from . import render
from .auth import new_token
from .calls import LEVELS, ApiError, Call, not_found, ok, route
from .faults import Reply
from .records import Installation, Token, now

SUSPENDED = "This installation has been suspended"
REPO_NOT_ACCESSIBLE = (
    "There is at least one repository that does not exist or is not accessible to the parent installation."
)
PERMISSION_NOT_GRANTED = "The permissions requested are not granted to this installation."


@route("GET", "/app", auth="jwt")
def get_app(call: Call) -> Reply:
    """GitHub's answer: the App the JWT was signed for (an installation token gets 401)."""
    app = call.app
    assert app is not None
    installed = sum(1 for item in call.sim.installations.values() if item.app.id == app.id)
    return ok(render.app(call.api, app) | {"installations_count": installed})


def _own_installation(call: Call, number: int) -> Installation:
    found = call.sim.installations.get(number)
    if found is None or call.app is None or found.app.id != call.app.id:
        raise not_found()
    return found


@route("GET", "/app/installations/{installation_id}", auth="jwt")
def get_installation(call: Call) -> Reply:
    return ok(render.installation(call.api, _own_installation(call, call.int_param("installation_id"))))


@route("GET", "/repos/{owner}/{repo}/installation", auth="jwt")
def get_repo_installation(call: Call) -> Reply:
    repo = call.the_repo()
    for item in call.sim.installations.values():
        if call.app is not None and item.app.id == call.app.id and item.covers(repo.full_name):
            return ok(render.installation(call.api, item))
    raise not_found()


@route("POST", "/app/installations/{installation_id}/access_tokens", auth="jwt")
def create_access_token(call: Call) -> Reply:
    installation = _own_installation(call, call.int_param("installation_id"))
    if installation.suspended:
        raise ApiError(403, SUSPENDED)
    body = call.body if isinstance(call.body, dict) else {}
    repos = _narrowed_repos(call, installation, body)
    permissions = _narrowed_permissions(installation, body.get("permissions"))
    token = Token(new_token(), installation, now() + call.sim.token_lifetime, repos, permissions)
    call.sim.tokens[token.token] = token
    reply: dict[str, Any] = {
        "token": token.token,
        "expires_at": render.iso(token.expires_at),
        "permissions": permissions,
        "repository_selection": "selected" if repos is not None or installation.repos is not None else "all",
    }
    if repos is not None:
        reply["repositories"] = [render.repository(call.api, call.sim.repo(name)) for name in sorted(repos)]
    return ok(reply, 201)


def _narrowed_repos(call: Call, installation: Installation, body: dict[str, Any]) -> set[str] | None:
    names = body.get("repositories")
    ids = body.get("repository_ids")
    if not names and not ids:
        return None
    chosen: set[str] = set()
    for repo in call.sim.repos.values():
        if repo.name in (names or []) and repo.owner.login.lower() == installation.account.login.lower():
            chosen.add(repo.full_name)
        if repo.id in (ids or []):
            chosen.add(repo.full_name)
    wanted = len(set(names or [])) + len(set(ids or []))
    if len(chosen) < wanted or not all(installation.covers(name) for name in chosen):
        raise ApiError(422, REPO_NOT_ACCESSIBLE)
    return chosen


def _narrowed_permissions(installation: Installation, wanted: Any) -> dict[str, str]:
    if not wanted:
        return dict(installation.permissions)
    for name, level in dict(wanted).items():
        if LEVELS.get(installation.permissions.get(name, ""), 0) < LEVELS.get(level, 9):
            raise ApiError(422, PERMISSION_NOT_GRANTED)
    return dict(wanted)


@route("POST", "/app-manifests/{code}/conversions", auth="none")
def convert_manifest(call: Call) -> Reply:
    # A code works once (GitHub also expires it after an hour).
    app = call.sim.manifest_codes.pop(call.params["code"], None)
    if app is None:
        raise not_found()
    body = render.app(call.api, app) | {
        "client_secret": app.client_secret,
        "webhook_secret": app.webhook_secret,
        "pem": app.private_pem,
    }
    return ok(body, 201)
