"""An installation's limits kept in Redis, shared by every worker of the deployment (scale-out).

GitHub limits the installation, whichever machine asks, so the pause after a rate limit, the
window of content-creating requests and the budget GitHub reports live in the Redis of the
queue, under ``faultline:limits:``, each key expiring with what it holds:

- the pause is one key set with ``PX`` and max semantics: a shorter pause never shortens a
  longer one, and what is left of it is the key's own time to live;
- the write window is a sorted set of booked send times, booked by one Lua script on the
  clock of Redis (one clock for every machine), so two workers never book the same slot;
- the budget is a hash per resource: the count and GitHub's reset (epoch seconds, compared
  with this machine's wall clock as for the in-process limits).

Redis is the authority but not a dependency of a run: while it cannot be reached, each call
falls back to the process's own ``InstallationLimits`` (logged once per outage) and Redis is
tried again a few seconds later. The process's own limits are kept up to date all along.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TypeVar

import redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from faultline.app.github.limits import InstallationLimits

log = logging.getLogger(__name__)

T = TypeVar("T")
PREFIX = "faultline:limits:"
# A Redis that does not answer is left alone this long before it is asked again: runs go on
# with the process's own limits instead of waiting for a timeout on every request.
RETRY_SECONDS = 5.0
# Each request to GitHub asks Redis once or twice: a slow answer counts as none.
TIMEOUT_SECONDS = 1.0
# The budget's hash outlives GitHub's reset by this much, then expires.
RESET_MARGIN_SECONDS = 60

_PAUSE = """
local ms = tonumber(ARGV[1])
if redis.call('pttl', KEYS[1]) < ms then
  redis.call('set', KEYS[1], ARGV[2], 'PX', ms)
end
return redis.call('pttl', KEYS[1])
"""

# Booked in order, as InstallationLimits does: at most ARGV[1] sends in any ARGV[2] seconds.
_WRITE_SLOT = """
local t = redis.call('time')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('zremrangebyscore', KEYS[1], '-inf', now - window)
local at = now
if redis.call('zcard', KEYS[1]) >= limit then
  local kth = redis.call('zrange', KEYS[1], -limit, -limit, 'WITHSCORES')
  at = math.max(now, tonumber(kth[2]) + window)
end
redis.call('zadd', KEYS[1], at, ARGV[3])
redis.call('pexpire', KEYS[1], math.ceil((at - now + window) * 1000))
return tostring(at - now)
"""

# Within one reset the budget only goes down: an answer that arrives late must not raise it.
_OBSERVE = """
local known = redis.call('hmget', KEYS[1], 'count', 'reset')
if known[2] == ARGV[2] and known[1] and tonumber(known[1]) <= tonumber(ARGV[1]) then
  return 0
end
redis.call('hset', KEYS[1], 'count', ARGV[1], 'reset', ARGV[2])
redis.call('expireat', KEYS[1], tonumber(ARGV[2]) + tonumber(ARGV[3]))
return 1
"""


class LimitsStore:
    """One Redis client of the process for every installation's limits, and whether it answers."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.pause_script = client.register_script(_PAUSE)
        self.write_script = client.register_script(_WRITE_SLOT)
        self.observe_script = client.register_script(_OBSERVE)
        self._lock = threading.Lock()
        self._skip_until = 0.0  # monotonic: only this process looks at it
        self._failing = False

    def attempt(self, shared: Callable[[], T], local: Callable[[], T]) -> T:
        """``shared()``, or ``local()`` while Redis does not answer."""
        with self._lock:
            skip = time.monotonic() < self._skip_until
        if skip:
            return local()
        try:
            value = shared()
        except RedisError as err:
            self._failed(err)
            return local()
        if self._failing:
            with self._lock:
                self._failing = False
            log.info("Redis answers again: rate limits are shared between workers again")
        return value

    def _failed(self, err: RedisError) -> None:
        with self._lock:
            self._skip_until = time.monotonic() + RETRY_SECONDS
            first = not self._failing
            self._failing = True
        if first:
            log.warning(
                "Redis did not answer for the GitHub rate limits (%s): "
                "each worker keeps its own until it does",
                err,
            )


_stores: dict[str, LimitsStore] = {}
_stores_guard = threading.Lock()


def limits_store(url: str) -> LimitsStore:
    """The process's LimitsStore for this Redis: short timeouts, no retries (the fallback is)."""
    with _stores_guard:
        found = _stores.get(url)
        if found is None:
            client = redis.Redis.from_url(
                url,
                socket_connect_timeout=TIMEOUT_SECONDS,
                socket_timeout=TIMEOUT_SECONDS,
                retry=Retry(NoBackoff(), 0),
                retry_on_timeout=False,
            )
            found = _stores[url] = LimitsStore(client)
        return found


class SharedLimits:
    """An installation's pause, write window and budget in Redis; ``local`` when it is away."""

    def __init__(self, local: InstallationLimits, store: LimitsStore, api_url: str) -> None:
        self.local = local
        self.label = local.label
        self.store = store
        # Installation ids are per GitHub host: a GitHub Enterprise Server has its own.
        host = hashlib.sha256(api_url.encode()).hexdigest()[:12]
        self.prefix = f"{PREFIX}{host}:{local.label}:"

    def pause(self, seconds: float) -> None:
        """No request of this installation, from any worker, before ``seconds`` from now."""
        self.local.pause(seconds)
        ms = max(1, math.ceil(seconds * 1000))
        until = f"{time.time() + seconds:.3f}"
        self.store.attempt(
            lambda: self.store.pause_script(keys=[self.prefix + "pause"], args=[ms, until]),
            lambda: None,
        )

    def pause_left(self) -> float:
        def shared() -> float:
            left = int(self.store.client.pttl(self.prefix + "pause"))
            return max(0.0, left / 1000)

        return max(self.local.pause_left(), self.store.attempt(shared, lambda: 0.0))

    def write_slot(self, limit: int, window: float) -> float:
        """Book the next slot for a content-creating request among every worker's: the wait."""
        if limit <= 0:
            return 0.0

        def shared() -> float:
            args: list[str | float] = [limit, window, uuid.uuid4().hex]
            return max(0.0, float(self.store.write_script(keys=[self.prefix + "writes"], args=args)))

        return self.store.attempt(shared, lambda: self.local.write_slot(limit, window))

    def observe(self, headers: Mapping[str, str]) -> None:
        """Note the budget GitHub reports, for every worker of the installation."""
        self.local.observe(headers)
        remaining = headers.get("x-ratelimit-remaining", "")
        reset = headers.get("x-ratelimit-reset", "")
        if not (remaining.isdigit() and reset.isdigit()):
            return
        key = self._budget_key(headers.get("x-ratelimit-resource") or "core")
        args = [int(remaining), int(reset), RESET_MARGIN_SECONDS]
        self.store.attempt(lambda: self.store.observe_script(keys=[key], args=args), lambda: None)

    def until_reset(self, resource: str, reserve: int) -> float:
        """Seconds to wait for the reset when any worker saw no more than ``reserve`` left, else 0."""

        def shared() -> float:
            count, reset = self.store.client.hmget(self._budget_key(resource), ["count", "reset"])
            if count is None or reset is None or int(count) > reserve:
                return 0.0
            return max(0.0, int(reset) - time.time())

        return max(self.local.until_reset(resource, reserve), self.store.attempt(shared, lambda: 0.0))

    def _budget_key(self, resource: str) -> str:
        return f"{self.prefix}budget:{resource}"
