"""The App's webhook as GitHub runs it: every delivery sent is an attempt on record.

    sim.hook_deliveries.url = f"{server}/webhook"      # the App's webhook URL
    guid = sim.hook_deliveries.send(sim.app, "pull_request", payload)

A target that is down or answers non-2xx leaves a failed attempt, as on GitHub; a
``POST /app/hook/deliveries/{id}/attempts`` (routes_hook_deliveries.py) sends the same
body again under the same guid, with ``redelivery: true``. GitHub never retries by itself.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from .records import App, now

# GitHub gives the target 10 seconds to answer.
DELIVERY_TIMEOUT = 10.0
# GitHub's delivery ids are large numbers; these look alike and never meet other ids.
FIRST_DELIVERY_ID = 12_000_000_001
CONNECT_FAILED = "failed to connect to host"
TIMED_OUT = "timed out"


@dataclass
class Attempt:
    """One delivery attempt, with what the item of ``GET /app/hook/deliveries`` shows."""

    id: int
    guid: str
    app_id: int
    event: str
    action: str | None
    installation_id: int | None
    repository_id: int | None
    redelivery: bool
    headers: dict[str, str]
    body: bytes
    delivered_at: datetime = field(default_factory=now)
    duration: float = 0.0
    status: str = "pending"
    status_code: int = 0
    response_body: str = ""

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status_code < 300

    def item(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "guid": self.guid,
            "delivered_at": self.delivered_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "redelivery": self.redelivery,
            "duration": round(self.duration, 2),
            "status": self.status,
            "status_code": self.status_code,
            "event": self.event,
            "action": self.action,
            "installation_id": self.installation_id,
            "repository_id": self.repository_id,
            "throttled_at": None,
        }


class HookDeliveries:
    """The delivery log of every App of one simulator, newest last."""

    def __init__(self) -> None:
        self.url: str | None = None
        self.attempts: list[Attempt] = []
        self._ids = itertools.count(FIRST_DELIVERY_ID)
        self._lock = threading.Lock()
        self._pending: list[threading.Thread] = []
        self._http: httpx.Client | None = None

    def send(self, app: App, event: str, payload: dict[str, Any], url: str | None = None) -> str:
        """Deliver ``payload`` to ``url`` (the App's webhook URL by default) now; returns the guid."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        guid = str(uuid.uuid4())
        attempt = self._record(app, event, payload, guid, _headers(app, event, guid, body), body, False)
        _post(self._client(), attempt, url or self._target())
        return guid

    def redeliver(self, original: Attempt) -> Attempt:
        """A new attempt of ``original``, sent in the background, as GitHub answers 202 first."""
        payload = json.loads(original.body)
        app_stub = _AppRef(original.app_id)
        attempt = self._record(
            app_stub, original.event, payload, original.guid, dict(original.headers), original.body, True
        )
        target = self._target()
        thread = threading.Thread(
            target=_post, args=(self._client(), attempt, target), name="sim-redelivery", daemon=True
        )
        with self._lock:
            self._pending.append(thread)
        thread.start()
        return attempt

    def wait(self, timeout: float = 30.0) -> None:
        """Until the redeliveries asked so far have been answered (or failed)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            pending = list(self._pending)
        for thread in pending:
            thread.join(max(0.0, deadline - time.monotonic()))

    def find(self, delivery_id: int) -> Attempt | None:
        with self._lock:
            return next((a for a in self.attempts if a.id == delivery_id), None)

    def of_app(self, app_id: int) -> list[Attempt]:
        """The App's attempts, newest first (GitHub's order)."""
        with self._lock:
            return [a for a in reversed(self.attempts) if a.app_id == app_id]

    def for_guid(self, guid: str) -> list[Attempt]:
        """Every attempt of one delivery, first first."""
        with self._lock:
            return [a for a in self.attempts if a.guid == guid]

    def _client(self) -> httpx.Client:
        # One client for every attempt, made on the first (each costs a TLS context, ~0.1 s,
        # and most simulators never deliver). No keep-alive: GitHub opens a connection per
        # delivery, and a restarted target must not meet a dead one.
        with self._lock:
            if self._http is None:
                limits = httpx.Limits(max_keepalive_connections=0)
                self._http = httpx.Client(timeout=DELIVERY_TIMEOUT, limits=limits)
            return self._http

    def _target(self) -> str:
        if self.url is None:
            raise RuntimeError("set sim.hook_deliveries.url to the App's webhook URL first")
        return self.url

    def _record(
        self,
        app: App | _AppRef,
        event: str,
        payload: dict[str, Any],
        guid: str,
        headers: dict[str, str],
        body: bytes,
        redelivery: bool,
    ) -> Attempt:
        installation = payload.get("installation")
        repository = payload.get("repository")
        action = payload.get("action")
        with self._lock:
            attempt = Attempt(
                id=next(self._ids),
                guid=guid,
                app_id=app.id,
                event=event,
                action=action if isinstance(action, str) else None,
                installation_id=installation.get("id") if isinstance(installation, dict) else None,
                repository_id=repository.get("id") if isinstance(repository, dict) else None,
                redelivery=redelivery,
                headers=headers,
                body=body,
            )
            self.attempts.append(attempt)
        return attempt


@dataclass(frozen=True)
class _AppRef:
    id: int


def _headers(app: App, event: str, guid: str, body: bytes) -> dict[str, str]:
    secret = app.webhook_secret.encode()
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/044aadd",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": guid,
        "X-GitHub-Hook-ID": "1",
        "X-GitHub-Hook-Installation-Target-Type": "integration",
        "X-GitHub-Hook-Installation-Target-ID": str(app.id),
        "X-Hub-Signature": "sha1=" + hmac.new(secret, body, hashlib.sha1).hexdigest(),
        "X-Hub-Signature-256": "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest(),
    }


def _post(client: httpx.Client, attempt: Attempt, url: str) -> None:
    started = time.monotonic()
    try:
        response = client.post(url, content=attempt.body, headers=attempt.headers)
    except httpx.TimeoutException:
        attempt.status, attempt.status_code = TIMED_OUT, 0
    except httpx.TransportError:
        attempt.status, attempt.status_code = CONNECT_FAILED, 0
    else:
        attempt.status_code = response.status_code
        ok = 200 <= response.status_code < 300
        attempt.status = "OK" if ok else f"Invalid HTTP Response: {response.status_code}"
        attempt.response_body = response.text[:1000]
    attempt.duration = time.monotonic() - started
