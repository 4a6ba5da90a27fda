"""What one installation may ask of GitHub right now, shared by every job of the process.

GitHub limits an installation, not a job: a secondary rate limit answered to one job means
every other job of the same installation would get the same answer, and each retry is held
against the App. So the pause after a rate limit, the window of content-creating requests
(GitHub allows about 80 a minute) and the remaining primary budget are kept per installation,
process-wide; jobs run in threads with their own event loops, hence the plain thread lock.

With ``FAULTLINE_REDIS_URL`` set, workers on many machines serve the same installations, so
``limits_for`` hands out ``SharedLimits`` (``limits_redis.py``): the same three limits kept in
that Redis, with these in-process ones as the fallback while Redis cannot be reached.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from faultline.app.observe.metrics import RATE_LIMIT_REMAINING
from faultline.app.settings import Settings

Clock = Callable[[], float]


@dataclass(frozen=True)
class Remaining:
    count: int
    reset_at: float  # on the monotonic clock


class Limits(Protocol):
    """What ``transport.py`` asks of an installation's limits."""

    label: str

    def pause(self, seconds: float) -> None: ...
    def pause_left(self) -> float: ...
    def write_slot(self, limit: int, window: float) -> float: ...
    def observe(self, headers: Mapping[str, str]) -> None: ...
    def until_reset(self, resource: str, reserve: int) -> float: ...


class InstallationLimits:
    """The pause, the write window and the primary budget of one installation."""

    def __init__(self, label: str, clock: Clock = time.monotonic) -> None:
        self.label = label  # the installation id, as the metrics show it
        self.clock = clock
        self._lock = threading.Lock()
        self._paused_until = 0.0
        self._writes: deque[float] = deque()
        self._remaining: dict[str, Remaining] = {}

    def pause(self, seconds: float) -> None:
        """No request of this installation before ``seconds`` from now."""
        with self._lock:
            self._paused_until = max(self._paused_until, self.clock() + seconds)

    def pause_left(self) -> float:
        with self._lock:
            return max(0.0, self._paused_until - self.clock())

    def write_slot(self, limit: int, window: float) -> float:
        """Book the next slot for a content-creating request: the seconds to wait before sending it.

        A sliding window: at most ``limit`` sends in any ``window`` seconds. Slots are booked
        in order, so waiting requests keep their place and none is refused."""
        if limit <= 0:
            return 0.0
        with self._lock:
            now = self.clock()
            while self._writes and self._writes[0] <= now - window:
                self._writes.popleft()
            at = now if len(self._writes) < limit else max(now, self._writes[-limit] + window)
            self._writes.append(at)
            return at - now

    def observe(self, headers: Mapping[str, str]) -> None:
        """Note the budget GitHub reports in a response's ``x-ratelimit-*`` headers."""
        remaining = headers.get("x-ratelimit-remaining", "")
        reset = headers.get("x-ratelimit-reset", "")
        if not (remaining.isdigit() and reset.isdigit()):
            return
        resource = headers.get("x-ratelimit-resource") or "core"
        reset_at = self.clock() + max(0.0, int(reset) - time.time())
        with self._lock:
            self._remaining[resource] = Remaining(int(remaining), reset_at)
        RATE_LIMIT_REMAINING.labels(installation=self.label, resource=resource).set(int(remaining))

    def until_reset(self, resource: str, reserve: int) -> float:
        """Seconds to wait for the budget's reset when no more than ``reserve`` requests are left, else 0."""
        with self._lock:
            known = self._remaining.get(resource)
            if known is None or known.count > reserve:
                return 0.0
            left = known.reset_at - self.clock()
            if left <= 0:
                del self._remaining[resource]
                return 0.0
            return left


_limits: dict[tuple[str, int, str], Limits] = {}
_limits_guard = threading.Lock()


def limits_for(settings: Settings, installation_id: int) -> Limits:
    """The one Limits of this installation in this process: kept in Redis in scale-out mode,
    in the process otherwise."""
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url is not None else ""
    with _limits_guard:
        key = (settings.github_api_url, installation_id, redis_url)
        found = _limits.get(key)
        if found is None:
            found = _limits[key] = _made(settings.github_api_url, installation_id, redis_url)
        return found


def _made(api_url: str, installation_id: int, redis_url: str) -> Limits:
    local = InstallationLimits(str(installation_id))
    if not redis_url:
        return local
    from faultline.app.github.limits_redis import SharedLimits, limits_store

    return SharedLimits(local, limits_store(redis_url), api_url)
