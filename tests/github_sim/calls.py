"""What route handlers share: the request as they see it, errors, the route table, pagination."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode

from .faults import Reply, error_body
from .records import App, Repo, Token
from .state import GitHubSim

T = TypeVar("T")
PER_PAGE_DEFAULT = 30
PER_PAGE_MAX = 100
LEVELS = {"read": 1, "write": 2, "admin": 3}

Permission = tuple[str, str]  # (permission name, least level), e.g. ("checks", "write")


class ApiError(Exception):
    """Abort the request with GitHub's error shape."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.reply = Reply(status, error_body(message, status, **extra))


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def invalid(message: str, errors: list[Any] | None = None) -> ApiError:
    """422 as GitHub's schema validation answers: "Invalid request.\n\n..."."""
    if errors is None:
        return ApiError(422, f"Invalid request.\n\n{message}")
    return ApiError(422, message, errors=errors)


def field_error(resource: str, field_name: str, message: str, code: str = "custom") -> ApiError:
    error = {"resource": resource, "code": code, "field": field_name, "message": message}
    return ApiError(422, "Validation Failed", errors=[error])


@dataclass
class Call:
    """One request as a handler sees it."""

    sim: GitHubSim
    method: str
    path: str
    url_base: str  # scheme://host:port of this server, for Link headers
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    headers: dict[str, str]  # lower-case names
    app: App | None = None  # set for App (JWT) authentication
    token: Token | None = None  # set for installation-token authentication
    repo: Repo | None = None  # set when the route has {owner}/{repo}
    reply_headers: dict[str, str] = field(default_factory=dict)

    @property
    def api(self) -> str:
        return self.sim.api_url

    def the_repo(self) -> Repo:
        if self.repo is None:
            raise not_found()
        return self.repo

    def json_object(self) -> dict[str, Any]:
        if not isinstance(self.body, dict):
            raise ApiError(400, "Problems parsing JSON")
        return self.body

    def int_param(self, name: str) -> int:
        value = self.params[name]
        if not value.isdigit():
            raise not_found()
        return int(value)

    def actor_login(self) -> str:
        if self.token is None:
            raise ApiError(403, "Resource not accessible by integration")
        return self.token.installation.app.bot.login

    def paginate(self, items: Sequence[T], default: int = PER_PAGE_DEFAULT) -> list[T]:
        """One page of `items` by `page`/`per_page`, setting the Link header GitHub sends."""
        per_page = max(1, min(_number(self.query.get("per_page"), default), PER_PAGE_MAX))
        page = max(1, _number(self.query.get("page"), 1))
        last = max(1, -(-len(items) // per_page))
        links = [(page - 1, "prev")] if page > 1 else []  # GitHub's order: prev, next, last, first
        if page < last:
            links += [(page + 1, "next"), (last, "last")]
        if page > 1:
            links.append((1, "first"))
        if links:
            self.reply_headers["Link"] = ", ".join(f'<{self._page_url(n)}>; rel="{rel}"' for n, rel in links)
        return list(items[(page - 1) * per_page : page * per_page])

    def _page_url(self, page: int) -> str:
        # GitHub's Link URLs name the repository by id: /repositories/{id}/...
        path = self.path
        if self.repo is not None:
            prefix = f"/repos/{self.params['owner']}/{self.params['repo']}"
            path = f"/repositories/{self.repo.id}" + path[len(prefix) :]
        query = {key: value for key, value in self.query.items() if key != "page"} | {"page": str(page)}
        return f"{self.url_base}{path}?{urlencode(query)}"


def _number(text: str | None, default: int) -> int:
    return int(text) if text is not None and text.isdigit() else default


Handler = Callable[[Call], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    auth: str  # "jwt", "token" or "none"
    needs: tuple[Permission, ...]  # any one of these suffices


ROUTES: list[Route] = []


def route(
    method: str, template: str, auth: str = "token", needs: Sequence[Permission] = ()
) -> Callable[[Handler], Handler]:
    """Register a handler; `{name}` matches one path segment, `{name*}` the rest of the path."""
    regex = re.sub(r"\{(\w+)\*\}", r"(?P<\1>.*)", template)
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)
    # A file name may hold a newline: "." must match it too.
    pattern = re.compile(f"^{regex}\\Z", re.DOTALL)

    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(method, pattern, handler, auth, tuple(needs)))
        return handler

    return register


def ok(body: Any, status: int = 200) -> Reply:
    return Reply(status, body)


def has_permission(granted: dict[str, str], needs: Sequence[Permission]) -> bool:
    if not needs:
        return True
    return any(LEVELS.get(granted.get(name, ""), 0) >= LEVELS[level] for name, level in needs)
