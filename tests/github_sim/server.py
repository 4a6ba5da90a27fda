"""The HTTP face of the simulator: one Starlette endpoint that logs, injects faults, authenticates
and dispatches to the registered routes."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute

from . import (
    auth,
    graphql_api,
    routes_apps,
    routes_checks,
    routes_hook_deliveries,
    routes_issues,
    routes_pulls,
    routes_repos,
    routes_reviews,
)
from .calls import ROUTES, ApiError, Call, Route, has_permission, not_found
from .faults import Reply
from .records import App, RequestRecord, Token, now
from .state import GitHubSim

# The route modules register themselves on import; name them so linters see them used.
ROUTE_MODULES = (
    graphql_api,
    routes_apps,
    routes_checks,
    routes_hook_deliveries,
    routes_issues,
    routes_pulls,
    routes_repos,
    routes_reviews,
)
REPOSITORY_BY_ID = re.compile(r"^/repositories/(\d+)(/.*)?$")
MINTING = re.compile(r"^/app/installations/(\d+)/access_tokens$")
METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]


class AnyPath(Convertor[str]):
    """Starlette's "path" convertor, newlines included."""

    regex = "(?s:.*)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("anything", AnyPath())
NOT_ACCESSIBLE = "Resource not accessible by integration"


def create_app(current: Callable[[], GitHubSim]) -> Starlette:
    """The ASGI app; `current()` gives the simulator each request is served from.

    Every path reaches the endpoint: a file name may hold a newline, which Starlette's
    own path pattern would not match (it would answer 404 before the simulator saw it)."""

    async def endpoint(request: Request) -> Response:
        sim = current()
        raw = await request.body()
        url_base = f"{request.url.scheme}://{request.url.netloc}"
        # scope["path"] is percent-decoded, as GitHub routes it (request.url.path is not).
        path = request.scope["path"]
        at = sim.clock()
        reply, record, delay = handle(
            sim, request.method, path, dict(request.query_params), raw, request.headers, url_base
        )
        record.at = at
        # The path as it came over the wire, percent-encoding and all: what proves where a request went.
        record.raw_path = request.scope.get("raw_path", b"").decode("latin-1")
        with sim.lock:
            sim.requests.append(record)
        if delay > 0:
            await asyncio.sleep(delay)  # a client that waits less has given up: a timeout
        return to_response(reply)

    return Starlette(routes=[StarletteRoute("/{path:anything}", endpoint, methods=METHODS)])


def to_response(reply: Reply) -> Response:
    if reply.raw is not None:
        return Response(reply.raw, reply.status, reply.headers, media_type=reply.media_type)
    if reply.status == 204:
        return Response(b"", 204, reply.headers)
    body = json.dumps(reply.body).encode()
    return Response(body, reply.status, reply.headers, media_type=reply.media_type)


def handle(
    sim: GitHubSim, method: str, path: str, query: dict[str, str], raw: bytes, headers: Any, url_base: str
) -> tuple[Reply, RequestRecord, float]:
    """The answer, the record of the request, and how long to hold the answer back."""
    body = _decode(raw)
    with sim.lock:
        path = _canonical_path(sim, path)
        call = Call(sim, method, path, url_base, {}, query, body, {k.lower(): v for k, v in headers.items()})
        kind = _credential_kind(call)
        installation = _installation_of(call, kind)
        injected, delay = _injected(call)
        try:
            reply = injected or _limited(call, kind, installation) or _dispatch(call)
        except ApiError as error:
            reply = error.reply
        late, late_delay = _injected(call, after=True)
        reply = late or reply
        reply.headers = {**reply.headers, **call.reply_headers}
        record = RequestRecord(method, path, query, reply.status, body, kind, installation=installation)
        return reply, record, delay + late_delay


def _installation_of(call: Call, kind: str) -> int | None:
    """The installation whose token the request carries, or whose token it mints."""
    if kind == "token":
        return call.sim.tokens[call.headers["authorization"].partition(" ")[2]].installation.id
    match = MINTING.match(call.path)
    return int(match.group(1)) if match else None


def _limited(call: Call, kind: str, installation: int | None) -> Reply | None:
    """Spend the request from its installation's hourly budget: GitHub's 403 when it is spent."""
    if kind != "token" or installation is None:
        return None
    resource = "graphql" if call.path == "/graphql" else "core"
    refused, headers = call.sim.budgets.spend(installation, resource)
    call.reply_headers.update(headers)
    return refused


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _canonical_path(sim: GitHubSim, path: str) -> str:
    """/repositories/{id}/rest (used in Link headers) -> /repos/{owner}/{name}/rest."""
    match = REPOSITORY_BY_ID.match(path)
    if match:
        for repo in sim.repos.values():
            if repo.id == int(match.group(1)):
                return f"/repos/{repo.full_name}{match.group(2) or ''}"
    return path


def _injected(call: Call, after: bool = False) -> tuple[Reply | None, float]:
    """The canned answer of the first matching rule (every matching hook runs), and its delay."""
    reply, delay = None, 0.0
    for rule in list(call.sim.rules):
        if rule.after is not after or not rule.matches(call.method, call.path):
            continue
        if rule.hook is not None:
            rule.times -= 1
            rule.hook(call.sim)
        elif rule.delay > 0 and delay == 0 and reply is None:
            rule.times -= 1
            delay = rule.delay
            reply = (
                None
                if rule.reply is None
                else Reply(rule.reply.status, rule.reply.body, dict(rule.reply.headers))
            )
        elif reply is None and delay == 0:
            drawn = rule.draw()
            if drawn is not None:
                rule.times -= 1
                reply = drawn
    return reply, delay


def _credential_kind(call: Call) -> str:
    scheme, _, value = call.headers.get("authorization", "").partition(" ")
    if not value:
        return "none"
    if scheme.lower() in ("token", "bearer") and value in call.sim.tokens:
        return "token"
    return "jwt" if scheme.lower() == "bearer" and value.count(".") == 2 else "invalid"


def _dispatch(call: Call) -> Reply:
    kind = _credential_kind(call)
    if kind == "invalid":
        raise ApiError(401, auth.BAD_CREDENTIALS)
    for candidate in ROUTES:
        match = candidate.pattern.match(call.path)
        if match and candidate.method == call.method:
            call.params = match.groupdict()
            _authenticate(call, candidate, kind)
            _authorize(call, candidate)
            return candidate.handler(call)
    raise not_found()


def _authenticate(call: Call, target: Route, kind: str) -> None:
    value = call.headers.get("authorization", "").partition(" ")[2]
    if target.auth == "none":
        return
    if target.auth == "jwt":
        if kind != "jwt":
            raise ApiError(401, auth.JWT_UNDECODABLE)
        call.app = _app_for_jwt(call.sim, value)
        return
    if kind == "none":
        raise ApiError(401, "Requires authentication")
    if kind == "jwt":
        raise ApiError(401, auth.BAD_CREDENTIALS)
    token = call.sim.tokens[value]
    if token.expires_at <= now():
        raise ApiError(401, auth.BAD_CREDENTIALS)
    call.token = token


def _app_for_jwt(sim: GitHubSim, value: str) -> App:
    try:
        issuer = auth.jwt_issuer(value)
        app = next((a for a in sim.apps.values() if issuer in (str(a.id), a.client_id)), None)
        if app is None:
            raise auth.JwtRejected(auth.JWT_NO_APP)
        auth.verify_jwt(value, app.public_pem)
    except auth.JwtRejected as error:
        raise ApiError(401, str(error)) from error
    return app


def _authorize(call: Call, target: Route) -> None:
    """Repository visibility for the token, then the installation's permissions."""
    token = call.token
    if "owner" in call.params and "repo" in call.params:
        call.repo = call.sim.find_repo(f"{call.params['owner']}/{call.params['repo']}")
        if call.repo is None:
            raise not_found()
        if token is not None and not _token_covers(token, call.repo.full_name):
            # Installation tokens can read public repositories they are not installed on.
            if call.repo.private:
                raise not_found()
            if call.method != "GET":
                raise ApiError(403, NOT_ACCESSIBLE)
            return
    if token is not None and not has_permission(token.permissions, target.needs):
        raise ApiError(403, NOT_ACCESSIBLE)


def _token_covers(token: Token, full_name: str) -> bool:
    if not token.installation.covers(full_name):
        return False
    return token.repos is None or full_name.lower() in {name.lower() for name in token.repos}
