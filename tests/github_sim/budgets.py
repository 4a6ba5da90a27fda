"""GitHub's primary rate limit: requests per installation and hour, REST and GraphQL apart.

Every request made with an installation token spends one from its installation's budget
for the resource (``core`` for REST, ``graphql`` for ``POST /graphql``; GitHub counts
GraphQL in points, one a query here). Answers carry the ``x-ratelimit-*`` headers GitHub
sends; a request over the budget gets GitHub's 403 with ``x-ratelimit-remaining: 0``
(a GraphQL query: 200 with an error of type RATE_LIMITED, as GitHub answers).
The window starts with the first request and lasts an hour, on the simulator's clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .faults import PRIMARY_RATE_LIMIT, Reply, error_body

HOUR = 3600.0
PER_HOUR = 5000


@dataclass
class Window:
    started: float  # simulator clock
    started_epoch: float  # wall clock, for x-ratelimit-reset
    used: int = 0


class RateBudgets:
    """The windows of every installation; callers hold the simulator's lock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.per_hour = PER_HOUR
        self.windows: dict[tuple[int, str], Window] = {}

    def window(self, installation_id: int, resource: str) -> Window:
        now = self.clock()
        key = (installation_id, resource)
        found = self.windows.get(key)
        if found is None or now - found.started >= HOUR:
            found = self.windows[key] = Window(now, time.time())
        return found

    def spend(self, installation_id: int, resource: str) -> tuple[Reply | None, dict[str, str]]:
        """Spend one request: (GitHub's 403 when none is left, else None; the headers to send)."""
        window = self.window(installation_id, resource)
        refused = window.used >= self.per_hour
        if not refused:
            window.used += 1
        headers = {
            "X-RateLimit-Limit": str(self.per_hour),
            "X-RateLimit-Remaining": str(max(0, self.per_hour - window.used)),
            "X-RateLimit-Used": str(window.used),
            "X-RateLimit-Reset": str(int(window.started_epoch + HOUR)),
            "X-RateLimit-Resource": resource,
        }
        if not refused:
            return None, headers
        if resource == "graphql":
            error = {
                "type": "RATE_LIMITED",
                "message": f"API rate limit exceeded for installation ID {installation_id}.",
            }
            return Reply(200, {"errors": [error]}, dict(headers)), headers
        return Reply(403, error_body(PRIMARY_RATE_LIMIT, 403), dict(headers)), headers

    def use(self, installation_id: int, count: int, resource: str = "core") -> None:
        """Count ``count`` requests as made already (a test that starts near the limit)."""
        self.window(installation_id, resource).used += count

    def used(self, installation_id: int, resource: str = "core") -> int:
        found = self.windows.get((installation_id, resource))
        return 0 if found is None else found.used
