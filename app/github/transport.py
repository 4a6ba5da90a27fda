"""What happens around each request to GitHub, below githubkit: every request, token minting
included, passes through ``GitHubTransport``.

- before sending: wait out the installation's pause (a rate limit answered to any job of it),
  its primary budget when nearly spent (until the reset), and its window of content-creating
  requests (GitHub allows about 80 a minute);
- after: count the call (endpoint as a route template, status), note the budget left;
- a rate limit (403/429 with Retry-After, ``x-ratelimit-remaining: 0`` or GitHub's
  "secondary rate limit" message) pauses the installation and is tried again after the delay;
- a 5xx, a timeout or a dropped connection is tried again with exponential backoff and
  jitter, unless the request creates something (a POST that GitHub may have carried out
  before the answer was lost: the caller looks for what it made before trying again).

A call waits at most ``RetryPolicy.budget`` seconds in all; when GitHub asks for longer,
``TransientGitHubError`` carries the delay to the queue, which runs the job again then,
instead of a worker sleeping through it. The write window only ever waits: it never fails.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from faultline.app.github.endpoints import endpoint
from faultline.app.github.errors import TransientGitHubError
from faultline.app.github.limits import Limits
from faultline.app.observe.metrics import GITHUB_CALLS
from faultline.app.settings import Settings

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
SECONDARY_RATE_LIMIT = "secondary rate limit"
# GitHub's advice when a secondary rate limit names no time: wait at least a minute.
UNTIMED_RATE_LIMIT_SECONDS = 60.0
# A pause is waited a little longer than asked, so that jobs paused together do not all
# come back in the same instant.
PAUSE_JITTER = 0.1
REPEATABLE_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})
READ_METHODS = frozenset({"GET", "HEAD"})
TOKEN_SUFFIX = "/access_tokens"
# A request with this header (removed before sending) is never sent again after a 5xx or a
# lost answer, whatever its method: a check run update that adds annotations (GitHub appends
# them) is one. Its caller finds out whether GitHub made it, as for a POST.
ONCE_HEADER = "x-faultline-once"


@dataclass(frozen=True)
class RetryPolicy:
    timeout: float = 30.0  # seconds for one answer
    budget: float = 60.0  # seconds one call may spend waiting, in all
    backoff: float = 1.0  # the first wait after a 5xx or a network error; doubled each time
    attempts: int = 5  # tries of one request
    write_limit: int = 80  # content-creating requests per window and installation
    write_window: float = 60.0
    reserve: int = 50  # requests of the hour's budget kept back: below it, wait for the reset

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            timeout=settings.github_timeout_seconds,
            budget=settings.github_retry_budget_seconds,
            backoff=settings.github_backoff_seconds,
            write_limit=settings.github_write_limit,
            write_window=settings.github_write_window_seconds,
            reserve=settings.github_rate_limit_reserve,
        )

    def backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with jitter: between half and all of ``backoff * 2**attempt``."""
        return float(self.backoff * 2**attempt * random.uniform(0.5, 1.0))


@dataclass(frozen=True)
class _Request:
    """What the transport needs to know of one request."""

    method: str
    path: str  # below the API's base URL, decoded
    label: str  # "<METHOD> <route template>"
    once: bool = False  # sent with ONCE_HEADER

    @property
    def as_app(self) -> bool:
        """Signed with the App's JWT: not held against the installation's budget."""
        return self.path == "/app" or self.path.startswith("/app/")

    @property
    def resource(self) -> str:
        return "graphql" if self.path == "/graphql" else "core"

    @property
    def repeatable(self) -> bool:
        """Safe to send again after an answer was lost. GraphQL (queries, resolving a
        thread) and minting a token change nothing that a second try would double."""
        if self.once:
            return False
        return (
            self.method in REPEATABLE_METHODS or self.path == "/graphql" or self.path.endswith(TOKEN_SUFFIX)
        )


def _creates_content(request: httpx.Request, seen: _Request) -> bool:
    """A request GitHub counts among content-creating ones (about 80 a minute allowed)."""
    if seen.method in READ_METHODS or seen.path.endswith(TOKEN_SUFFIX):
        return False
    if seen.path != "/graphql":
        return True
    try:
        query = json.loads(request.content).get("query", "")
    except (ValueError, AttributeError, httpx.RequestNotRead):
        return False
    return isinstance(query, str) and query.lstrip().startswith("mutation")


class GitHubTransport(httpx.AsyncBaseTransport):
    """Wraps the connection pool shared by the short-lived httpx clients githubkit opens per
    request (each closes its transport when done: closing this one leaves the pool open)."""

    def __init__(
        self,
        pool: httpx.AsyncBaseTransport,
        limits: Limits,
        policy: RetryPolicy,
        base_path: str = "",
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.pool = pool
        self.limits = limits
        self.policy = policy
        self.base_path = base_path.rstrip("/")
        self.sleep = sleep

    async def aclose(self) -> None:
        return None

    def _seen(self, request: httpx.Request) -> _Request:
        path = request.url.path
        if self.base_path and path.startswith(self.base_path):
            path = path[len(self.base_path) :] or "/"
        once = request.headers.pop(ONCE_HEADER, None) is not None
        return _Request(request.method, path, endpoint(request.method, path), once)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        seen = self._seen(request)
        policy = self.policy
        waited = 0.0
        attempt = 0
        while True:
            waited += await self._before(request, seen, waited)
            last = attempt + 1 >= policy.attempts
            try:
                response = await self.pool.handle_async_request(request)
            except httpx.TransportError as err:
                GITHUB_CALLS.labels(endpoint=seen.label, status="error").inc()
                delay = policy.backoff_delay(attempt)
                if last or not seen.repeatable or waited + delay > policy.budget:
                    raise
                log.info("%s: %r; trying again in %.1f s", seen.label, err, delay)
            else:
                GITHUB_CALLS.labels(endpoint=seen.label, status=str(response.status_code)).inc()
                if not seen.as_app:
                    self.limits.observe(response.headers)
                if response.status_code in (403, 429):
                    response, limit = await _rate_limit(response)
                    if limit is None:
                        return response
                    self._paused(seen, limit.seconds, waited, last)
                    attempt += 1
                    continue  # the pause is waited before the next try
                delay = policy.backoff_delay(attempt)
                if (
                    response.status_code < 500
                    or last
                    or not seen.repeatable
                    or waited + delay > policy.budget
                ):
                    return response
                await response.aclose()
                log.info(
                    "%s: GitHub answered %d; trying again in %.1f s", seen.label, response.status_code, delay
                )
            await self.sleep(delay)
            waited += delay
            attempt += 1

    def _paused(self, seen: _Request, pause: float | None, waited: float, last: bool) -> None:
        """Pause the installation for a rate limit; TransientGitHubError when the call should not wait."""
        self.limits.pause(pause if pause is not None else UNTIMED_RATE_LIMIT_SECONDS)
        if pause is None or last or waited + pause > self.policy.budget:
            wait = pause if pause is not None else UNTIMED_RATE_LIMIT_SECONDS
            raise TransientGitHubError(f"GitHub rate limit on {seen.label}", max(wait, 1.0), rate_limit=True)
        log.info("%s: rate limited; installation %s paused for %.1f s", seen.label, self.limits.label, pause)

    async def _before(self, request: httpx.Request, seen: _Request, waited: float) -> float:
        """Wait for the installation's pause and budget (the seconds waited), then for a write slot."""
        spent = 0.0
        while True:
            delay = self.limits.pause_left()
            if not seen.as_app:
                delay = max(delay, self.limits.until_reset(seen.resource, self.policy.reserve))
            if delay <= 0:
                break
            if waited + spent + delay >= self.policy.budget:
                raise TransientGitHubError(
                    f"GitHub asked installation {self.limits.label} to wait before {seen.label}",
                    max(delay, 1.0),
                    rate_limit=True,
                )
            pause = delay * (1 + random.uniform(0, PAUSE_JITTER))
            await self.sleep(pause)
            spent += pause
        if _creates_content(request, seen):
            slot = self.limits.write_slot(self.policy.write_limit, self.policy.write_window)
            if slot > 0:
                await self.sleep(slot)
        return spent


@dataclass(frozen=True)
class _Limit:
    """A rate-limit answer: the seconds GitHub asked to wait, None when it named no time."""

    seconds: float | None


async def _rate_limit(response: httpx.Response) -> tuple[httpx.Response, _Limit | None]:
    """The answer (read, to be handed on as it came) and, when it is a rate limit, its _Limit."""
    raw = b"".join([chunk async for chunk in response.aiter_raw()])
    await response.aclose()
    kept = httpx.Response(
        response.status_code,
        headers=response.headers,
        stream=httpx.ByteStream(raw),
        extensions=response.extensions,
    )
    headers = response.headers
    retry_after = headers.get("retry-after", "").strip()
    if retry_after.isdigit():
        return kept, _Limit(float(retry_after))
    if headers.get("x-ratelimit-remaining") == "0":
        reset = headers.get("x-ratelimit-reset", "")
        return kept, _Limit(max(0.0, int(reset) - time.time()) if reset.isdigit() else None)
    if response.status_code == 429 or SECONDARY_RATE_LIMIT in _message(response, raw).lower():
        return kept, _Limit(None)
    return kept, None


def _message(response: httpx.Response, raw: bytes) -> str:
    """GitHub's error ``message``, "" when the body has none."""
    decoded = httpx.Response(response.status_code, headers=response.headers, content=raw)
    try:
        body = json.loads(decoded.read())
    except ValueError:
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) else ""
