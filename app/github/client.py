"""A githubkit client acting as one installation of the App.

githubkit signs the App JWT (RS256, issued 60 s in the past, valid 10 minutes) and mints
installation tokens, caching them until a minute before they expire. Retries are ours
(``transport.py``, githubkit's own are off): rate limits pause the installation and are
waited out, 5xx and network errors are tried again with backoff, token minting included,
all within a short budget; beyond it a call raises ``TransientGitHubError(retry_after)`` for
the queue to run the job again later. What else githubkit leaves to us:

- a 401 does not refresh the token, and a new ``GitHub`` object shares the same
  process-wide cache, so it would reuse the dead token: on a 401 we drop the
  token cache and retry the call once with a fresh client;
- a request that creates something is not sent again blindly after a lost answer:
  ``create_once`` looks for what the first try may have made before trying again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator
from typing import TypeVar
from urllib.parse import quote

import httpx
from githubkit import AppAuthStrategy, AppInstallationAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy
from githubkit.core import GitHubCore
from githubkit.exception import GraphQLFailed, RateLimitExceeded, RequestError, RequestFailed

from faultline import __version__
from faultline.analyzers.core.paths import unsafe_reason

# Re-exported: the queue and the job import it from here.
from faultline.app.github.errors import TransientGitHubError as TransientGitHubError  # noqa: PLC0414
from faultline.app.github.limits import limits_for
from faultline.app.github.transport import GitHubTransport, RetryPolicy
from faultline.app.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
A = TypeVar("A", AppInstallationAuthStrategy, AppAuthStrategy)
AppGitHub = GitHub[AppInstallationAuthStrategy]

# Returns a file's bytes as they are, whatever their size (the JSON form stops at 1 MB).
RAW_MEDIA_TYPE = "application/vnd.github.raw+json"
# When GitHub gives no Retry-After: how long the queue should wait.
SERVER_ERROR_RETRY_SECONDS = 60.0
NETWORK_ERROR_RETRY_SECONDS = 30.0
# GitHub may answer a secondary rate limit with neither Retry-After nor a reset time;
# its documentation says to wait at least a minute then.
SECONDARY_RATE_LIMIT = "secondary rate limit"
SECONDARY_RATE_LIMIT_RETRY_SECONDS = 60.0
GRAPHQL_RATE_LIMITED = "RATE_LIMITED"
# Tries of a creating request whose answer was lost (each after looking for what it made).
CREATE_ATTEMPTS = 4
# A file read never holds more than this unless the caller says otherwise.
DEFAULT_READ_LIMIT = 2 * 1024 * 1024


class UnsafePathError(ValueError):
    """A path that would not stay under the repository's URL: never requested."""


class TooLargeError(Exception):
    """GitHub sent more bytes than the read's limit (the file is bigger than its size said)."""

    def __init__(self, path: str, limit: int) -> None:
        super().__init__(f"{path} is larger than {limit} bytes")
        self.path = path
        self.limit = limit


def repo_url(owner: str, repo: str, *parts: str) -> str:
    """``/repos/{owner}/{repo}/...`` with every segment percent-encoded: whatever a
    name holds (``#``, ``?``, ``%``, a newline), the request stays in the repository.
    Each part is a safe repository path (see ``unsafe_reason``) or UnsafePathError."""
    segments = [owner, repo]
    for part in parts:
        why = unsafe_reason(part)
        if why is not None:
            raise UnsafePathError(f"{part!r}: {why}")
        segments.extend(part.split("/"))
    if owner in (".", "..") or repo in (".", ".."):
        raise UnsafePathError(f"{owner}/{repo}: not a repository")
    return "/repos/" + "/".join(quote(segment, safe="") for segment in segments)


class NotConfiguredError(RuntimeError):
    """The App id or private key is missing: the server is in setup mode."""


# Installation tokens and App JWTs of this process. Replaced, not cleared, after a
# 401: clients built before keep their own reference and are simply not used again.
_token_cache = MemCacheStrategy()


def _forget_tokens() -> MemCacheStrategy:
    global _token_cache  # noqa: PLW0603 (one cache per process, by design)
    _token_cache = MemCacheStrategy()
    return _token_cache


class _InstallationTokenAuth(httpx.Auth):
    """githubkit's App auth, asked for the installation token with a stand-in request.

    githubkit picks JWT, basic or token auth from the request's decoded path: a file
    named ``a#b.py`` breaks that (InvalidURL), and a path ending in ``/installation`` or
    holding ``applications/x/token`` would get the wrong credentials. Every request of
    an InstallationClient carries the installation token, so the choice is made on a
    plain URL and its Authorization header copied onto the real request."""

    def __init__(self, inner: httpx.Auth, probe_url: httpx.URL) -> None:
        self.inner = inner
        self.probe_url = probe_url

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise NotImplementedError("InstallationClient is asynchronous")

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        probe = httpx.Request(request.method, self.probe_url)
        flow = self.inner.async_auth_flow(probe)
        outgoing = await anext(flow)
        while outgoing is not probe:  # minting a token: let httpx send it and hand back the answer
            response = yield outgoing
            outgoing = await flow.asend(response)
        await flow.aclose()
        request.headers["Authorization"] = probe.headers["Authorization"]
        yield request


class _InstallationAuthStrategy(AppInstallationAuthStrategy):
    def get_auth_flow(self, github: GitHubCore) -> httpx.Auth:  # type: ignore[type-arg]
        base = github.config.base_url
        return _InstallationTokenAuth(super().get_auth_flow(github), base.join("repos"))


class InstallationClient:
    """GitHub as one installation sees it. Use as ``async with`` so the
    connection pool is closed at the end; every call goes through ``call``."""

    def __init__(self, settings: Settings, installation_id: int) -> None:
        if settings.app_id is None or settings.private_key is None:
            raise NotConfiguredError("FAULTLINE_APP_ID and FAULTLINE_PRIVATE_KEY are required to call GitHub")
        self.settings = settings
        self.installation_id = installation_id
        self.auth = _InstallationAuthStrategy(
            settings.app_id, settings.private_key.get_secret_value(), installation_id
        )
        self.policy = RetryPolicy.from_settings(settings)
        self._pool = httpx.AsyncHTTPTransport(retries=1)
        limits = limits_for(settings, installation_id)
        base_path = httpx.URL(settings.github_api_url).path
        self.transport = GitHubTransport(self._pool, limits, self.policy, base_path)
        self._lock = asyncio.Lock()
        self.github = self._build(_token_cache)

    def _build(self, cache: MemCacheStrategy) -> AppGitHub:
        return self._github(self.auth, cache)

    def _github(self, auth: A, cache: MemCacheStrategy) -> GitHub[A]:
        return GitHub(
            auth,
            base_url=self.settings.github_api_url,
            user_agent=f"faultline/{__version__}",
            timeout=self.policy.timeout,
            async_transport=self.transport,
            cache_strategy=cache,
            # Never answer from an HTTP cache: the job must see the pull request's current head.
            http_cache=False,
            auto_retry=False,  # transport.py retries, token minting included
        )

    async def __aenter__(self) -> InstallationClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._pool.aclose()

    async def call(self, action: Callable[[AppGitHub], Awaitable[T]]) -> T:
        """Run one request (or a whole pagination) with the current client.

        A 401 refreshes the installation token once and runs ``action`` again;
        GitHub rejected the first attempt, so nothing was done twice.
        """
        github = self.github
        try:
            return await _translated(action(github))
        except RequestError as err:
            if status_of(err) != 401:
                raise
            log.info("GitHub answered 401; refreshing the installation token")
        # Retries wait for each other: the first mints the new token, the others reuse it.
        async with self._lock:
            if self.github is github:  # not refreshed yet by a concurrent call that met the same 401
                self.github = self._build(_forget_tokens())
            return await _translated(action(self.github))

    async def call_as_app(self, action: Callable[[GitHub[AppAuthStrategy]], Awaitable[T]]) -> T:
        """One request signed with the App's JWT instead of the installation token: for the
        few endpoints about the App itself (``GET /app``). Only fixed paths go this way."""
        github = self._github(self.auth.as_app(), _token_cache)
        return await _translated(action(github))

    async def collect(
        self, pages: Callable[[AppGitHub], AsyncIterator[T]], limit: int | None = None
    ) -> list[T]:
        """Every item of a paginated listing (following the Link headers), up to ``limit``."""

        async def gather(github: AppGitHub) -> list[T]:
            items: list[T] = []
            async for item in pages(github):
                items.append(item)
                if limit is not None and len(items) >= limit:
                    break
            return items

        return await self.call(gather)

    async def read_file(
        self, owner: str, repo: str, path: str, ref: str, limit: int = DEFAULT_READ_LIMIT
    ) -> bytes | None:
        """A file's bytes at ``ref``, None when absent. The answer is streamed and cut
        at ``limit`` bytes (TooLargeError): whatever size was announced, a read never
        holds more. An unsafe ``path`` raises UnsafePathError before any request."""
        url = repo_url(owner, repo, "contents", path)

        async def read(gh: AppGitHub) -> bytes:
            response = await gh.arequest(
                "GET", url, params={"ref": ref}, headers={"Accept": RAW_MEDIA_TYPE}, stream=True
            )
            try:
                return await _capped(response.raw_response, path, limit)
            except httpx.HTTPError as err:  # the connection broke mid-body
                raise RequestError(err) from err
            finally:
                await response.raw_response.aclose()

        try:
            return await self.call(read)
        except RequestFailed as err:
            if err.response.status_code == 404:
                return None
            raise

    async def create_once(
        self, create: Callable[[], Awaitable[T]], find: Callable[[], Awaitable[T | None]]
    ) -> T:
        """Make something on GitHub (a check run, a review) exactly once, whatever is lost on the way.

        A 5xx, a timeout or a dropped connection leaves unknown whether GitHub made it: then
        ``find`` looks for it (by the check run's external id, the review's markers) and only
        when it is not there is ``create`` tried again, after a backoff. A rate limit means
        GitHub made nothing; the transport waited what it could, so it is raised as it is."""
        attempt = 0
        while True:
            try:
                return await create()
            except TransientGitHubError as err:
                attempt += 1
                if err.rate_limit or attempt >= CREATE_ATTEMPTS:
                    raise
                delay = self.policy.backoff_delay(attempt - 1)
                log.info("%s; looking for what it made in %.1f s", err, delay)
            await asyncio.sleep(delay)
            found = await find()
            if found is not None:
                return found

    async def graphql(self, query: str, variables: dict[str, object]) -> dict[str, object]:
        """The query's data. GitHub answers a spent GraphQL budget with 200 and an error of type
        RATE_LIMITED: that pauses the installation like a REST rate limit, until the reset."""
        try:
            return await self.call(lambda gh: gh.async_graphql(query, dict(variables)))
        except GraphQLFailed as err:
            if not any(error.type == GRAPHQL_RATE_LIMITED for error in err.response.errors or []):
                raise
            limits = self.transport.limits
            wait = limits.until_reset("graphql", self.policy.reserve) or SECONDARY_RATE_LIMIT_RETRY_SECONDS
            limits.pause(wait)
            raise TransientGitHubError("GitHub's GraphQL rate limit", wait, rate_limit=True) from err


async def _capped(response: httpx.Response, path: str, limit: int) -> bytes:
    announced = response.headers.get("content-length", "")
    if announced.isdigit() and int(announced) > limit:
        raise TooLargeError(path, limit)
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) > limit:
            raise TooLargeError(path, limit)
    return bytes(data)


def status_of(err: Exception) -> int | None:
    """The HTTP status behind a githubkit error, also when it was raised while
    minting a token (then it comes wrapped in a RequestError)."""
    if isinstance(err, RequestFailed):
        return err.response.status_code
    if isinstance(err, RequestError) and isinstance(err.exc, RequestFailed):
        return err.exc.response.status_code
    return None


def github_message(err: RequestFailed) -> str:
    """The ``message`` of GitHub's error body, "" when it has none."""
    try:
        data = err.response.json()
    except ValueError:
        return ""
    message = data.get("message") if isinstance(data, dict) else None
    return message if isinstance(message, str) else ""


def describe(err: BaseException) -> str:
    """An error as a person reads it: GitHub's status and message, not a repr."""
    if isinstance(err, RequestFailed):
        said = f"GitHub answered {err.response.status_code} on {err.request.method} {err.request.url.path}"
        message = github_message(err)
        return f"{said}: {message}" if message else said
    if isinstance(err, TransientGitHubError):
        return str(err)
    return f"{type(err).__name__}: {err}"


async def _translated(pending: Awaitable[T]) -> T:
    """Await a request; errors that only time cures become TransientGitHubError."""
    try:
        return await pending
    except RequestError as err:
        transient = transient_of(err)
        if transient is None:
            raise
        raise transient from err


def transient_of(err: RequestError) -> TransientGitHubError | None:  # type: ignore[type-arg]
    """The TransientGitHubError a githubkit error amounts to, None when time will not cure it.

    Errors met while minting a token come wrapped in a RequestError, like network errors;
    the transport's own TransientGitHubError (a rate limit longer than a call may wait)
    comes wrapped too."""
    failed: RequestFailed | None = err if isinstance(err, RequestFailed) else None
    if failed is None:
        if isinstance(err.exc, TransientGitHubError):
            return err.exc
        if not isinstance(err.exc, RequestFailed):
            return TransientGitHubError(
                f"GitHub could not be reached: {err.exc!r}", NETWORK_ERROR_RETRY_SECONDS
            )
        failed = err.exc
    where = f"{failed.request.method} {failed.request.url.path}"
    if isinstance(failed, RateLimitExceeded):
        seconds = max(failed.retry_after.total_seconds(), 1.0)
        return TransientGitHubError(f"GitHub rate limit on {where}", seconds, rate_limit=True)
    status = failed.response.status_code
    if status >= 500:
        return TransientGitHubError(f"GitHub answered {status} on {where}", SERVER_ERROR_RETRY_SECONDS)
    if status == 429 or (status == 403 and SECONDARY_RATE_LIMIT in github_message(failed).lower()):
        return TransientGitHubError(
            f"GitHub secondary rate limit on {where}", SECONDARY_RATE_LIMIT_RETRY_SECONDS, rate_limit=True
        )
    return None
