"""Failure switches and state hooks: rules matched against each request before it is handled."""

from __future__ import annotations

import fnmatch
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .records import RequestRecord
    from .state import GitHubSim

Hook = Callable[["GitHubSim"], None]

SECONDARY_RATE_LIMIT = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID."
)
PRIMARY_RATE_LIMIT = "API rate limit exceeded for installation."
SERVER_ERROR = "Server Error"
DOCS_URL = "https://docs.github.com/rest"


@dataclass
class Reply:
    """A canned answer: status, JSON body (or raw bytes) and headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    media_type: str = "application/json; charset=utf-8"


@dataclass
class Rule:
    method: str  # "*" or an HTTP method
    pattern: str  # fnmatch pattern over the path, "*" also crosses "/"
    times: int  # requests left to match; a negative count never runs out
    reply: Reply | None = None
    hook: Hook | None = None
    after: bool = False  # the request is carried out first; then `reply` replaces its answer
    delay: float = 0.0  # seconds the answer is held back (longer than the client waits: a timeout)

    def matches(self, method: str, path: str) -> bool:
        if self.times == 0:
            return False
        return self.method in ("*", method.upper()) and fnmatch.fnmatchcase(path, self.pattern)

    def draw(self) -> Reply | None:
        """The answer for one matching request (a copy: headers are added to it), None to let it pass."""
        if self.reply is None:
            return None
        return Reply(self.reply.status, self.reply.body, dict(self.reply.headers))


@dataclass
class RandomRule(Rule):
    """Answers a random ``share`` of the matching requests with one of ``replies``, drawn from
    ``rng`` (seeded: the same seed draws the same sequence); ``injected`` counts what it
    answered, by label."""

    share: float = 0.0
    replies: Sequence[tuple[str, Reply]] = ()
    rng: random.Random = field(default_factory=random.Random)
    injected: Counter[str] = field(default_factory=Counter)

    def draw(self) -> Reply | None:
        if not self.replies or self.rng.random() >= self.share:
            return None
        label, reply = self.rng.choice(self.replies)
        self.injected[label] += 1
        return Reply(reply.status, reply.body, dict(reply.headers))


def error_body(message: str, status: int, **extra: Any) -> dict[str, Any]:
    return {"message": message, **extra, "documentation_url": DOCS_URL, "status": str(status)}


def failure_reply(status: int, message: str | None = None) -> Reply:
    default = SERVER_ERROR if status >= 500 else "Validation Failed"
    return Reply(status, error_body(message or default, status))


def secondary_rate_limit_reply(retry_after: int | None, status: int = 403) -> Reply:
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    return Reply(status, error_body(SECONDARY_RATE_LIMIT, status), headers)


def primary_rate_limit_reply(reset_in: int) -> Reply:
    headers = {
        "X-RateLimit-Limit": "5000",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Used": "5000",
        "X-RateLimit-Reset": str(int(time.time()) + reset_in),
        "X-RateLimit-Resource": "core",
    }
    return Reply(403, error_body(PRIMARY_RATE_LIMIT, 403), headers)


def unprocessable_reply(message: str, errors: list[Any] | None) -> Reply:
    return Reply(422, error_body(message, 422, errors=errors or []))


class FaultSwitches:
    """GitHubSim's failure switches (canned answers, hooks for matching requests) and request log.

    A pattern is an fnmatch pattern over the path ("/repos/acme/app/check-runs*"); `*` also
    crosses "/". Rules are checked before authentication, in the order they were added.
    """

    lock: threading.RLock
    rules: list[Rule]
    requests: list[RequestRecord]

    def _add_rule(
        self, method: str, pattern: str, times: int, reply: Reply | None, hook: Hook | None
    ) -> Rule:
        rule = Rule(method.upper(), pattern, times, reply, hook)
        with self.lock:
            self.rules.append(rule)
        return rule

    def fail(
        self, method: str, pattern: str, status: int = 502, times: int = 1, message: str | None = None
    ) -> Rule:
        """The next `times` matching requests answer `status` (default 502) before anything else."""
        return self._add_rule(method, pattern, times, failure_reply(status, message), None)

    def fail_after(self, method: str, pattern: str, status: int = 502, times: int = 1) -> Rule:
        """The next `times` matching requests are carried out, then answer `status`: a gateway
        that timed out while GitHub did the work (a retry may do it twice)."""
        rule = Rule(method.upper(), pattern, times, failure_reply(status), None, after=True)
        with self.lock:
            self.rules.append(rule)
        return rule

    def rate_limit(
        self, method: str, pattern: str, times: int = 1, retry_after: int | None = 1, status: int = 403
    ) -> Rule:
        """The next matching requests hit a secondary rate limit: 403 (or 429) with Retry-After
        (None: without, as GitHub sometimes answers)."""
        return self._add_rule(method, pattern, times, secondary_rate_limit_reply(retry_after, status), None)

    def hang(self, method: str, pattern: str, seconds: float, times: int = 1, applied: bool = False) -> Rule:
        """The next matching requests get their answer only after `seconds`: a client that waits
        less times out. `applied`: the request is carried out first (GitHub did the work, the
        answer was lost); otherwise nothing is done and the late answer is a 504."""
        reply = None if applied else failure_reply(504, "We couldn't respond to your request in time.")
        rule = Rule(method.upper(), pattern, times, reply, None, after=applied, delay=seconds)
        with self.lock:
            self.rules.append(rule)
        return rule

    def primary_rate_limit(self, method: str, pattern: str, times: int = 1, reset_in: int = 60) -> Rule:
        """The next matching requests answer 403 with x-ratelimit-remaining 0."""
        return self._add_rule(method, pattern, times, primary_rate_limit_reply(reset_in), None)

    def reject(
        self,
        method: str,
        pattern: str,
        times: int = 1,
        message: str = "Validation Failed",
        errors: list[Any] | None = None,
    ) -> Rule:
        """The next matching requests answer 422 with `message` and `errors`."""
        return self._add_rule(method, pattern, times, unprocessable_reply(message, errors), None)

    def random_faults(
        self, share: float, seed: int, method: str = "*", pattern: str = "*", retry_after: int = 1
    ) -> RandomRule:
        """From now on a random ``share`` of the matching requests fail, as GitHub's do on a bad
        day: a 502, a 403 secondary rate limit or a 429, each as likely (the rate limits with
        ``Retry-After``). ``seed`` makes the draws repeatable; the rule counts what it injected."""
        replies = (
            ("502", failure_reply(502)),
            ("403 secondary rate limit", secondary_rate_limit_reply(retry_after)),
            ("429 secondary rate limit", secondary_rate_limit_reply(retry_after, status=429)),
        )
        rule = RandomRule(method.upper(), pattern, -1, share=share, replies=replies, rng=random.Random(seed))
        with self.lock:
            self.rules.append(rule)
        return rule

    def on_request(self, method: str, pattern: str, hook: Hook, times: int = 1) -> Rule:
        """Run `hook(sim)` before the next `times` matching requests are handled (-1: always)."""
        return self._add_rule(method, pattern, times, None, hook)

    def clear_rules(self) -> None:
        with self.lock:
            self.rules.clear()

    def requests_matching(self, method: str = "*", pattern: str = "*") -> list[RequestRecord]:
        """Logged requests whose method and path match (fnmatch pattern, as for the switches)."""
        probe = Rule(method.upper(), pattern, -1)
        with self.lock:
            return [r for r in self.requests if probe.matches(r.method, r.path)]
