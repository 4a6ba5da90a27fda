"""When a failed run is tried again, and when it is given up.

Errors that time cures (``is_transient``) are retried with exponential backoff and full
jitter, never sooner than GitHub asked, until the sustained-outage deadline counted from the
run's first attempt; then the check run is completed as failed. A worker killed mid-run is
not an error: only errors count towards the backoff.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx
from githubkit.exception import RateLimitExceeded, RequestError

from faultline.app.github.client import TransientGitHubError, status_of
from faultline.app.settings import Settings


@dataclass(frozen=True)
class Retry:
    delay: float  # seconds from now


@dataclass(frozen=True)
class GiveUp:
    reason: str  # "permanent" or "outage"


def decide(
    err: BaseException, *, errors: int, first_attempt: float, now: float, settings: Settings
) -> Retry | GiveUp:
    """``errors`` is how many attempts failed before this one."""
    if not is_transient(err):
        return GiveUp("permanent")
    delay = backoff(errors, settings)
    asked = retry_after(err)
    if asked is not None:
        delay = max(delay, asked)
    if now + delay > first_attempt + settings.outage_deadline_seconds:
        return GiveUp("outage")
    return Retry(delay)


def backoff(errors: int, settings: Settings) -> float:
    """Full jitter over base * 2**errors, capped: workers that failed together spread out."""
    ceiling = min(settings.retry_max_seconds, settings.retry_base_seconds * 2.0**errors)
    return random.uniform(ceiling / 2, ceiling)


def is_transient(err: BaseException) -> bool:
    """Worth another try later: network trouble, a timeout, a rate limit or a 5xx from GitHub."""
    if isinstance(err, TransientGitHubError | RateLimitExceeded):
        return True
    status = status_of(err) if isinstance(err, Exception) else None
    if status is not None:
        # A 4xx (an installation suspended or removed, a repository gone) will not
        # mend itself; retrying it only delays the error.
        return status >= 500 or status == 429
    return isinstance(err, RequestError | httpx.TransportError | TimeoutError | ConnectionError)


def retry_after(err: BaseException) -> float | None:
    """Seconds GitHub asked us to wait, when it said."""
    if isinstance(err, TransientGitHubError):
        return max(err.retry_after, 1.0)
    if isinstance(err, RateLimitExceeded):
        return max(err.retry_after.total_seconds(), 1.0)
    return None
