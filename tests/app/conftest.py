"""Fixtures for the App's web side: settings, the server on a loopback port, signed deliveries."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.types import ASGIApp

from faultline.app.settings import Settings
from faultline.app.web.webhooks import sign
from tests.app.redis_server import RedisServer

APP_ID = 4242
WEBHOOK_SECRET = "test-webhook-secret-0123456789"
STARTUP_TIMEOUT = 10.0

StartServer = Callable[[ASGIApp], str]
MakeSettings = Callable[..., Settings]


@cache
def private_key_pem() -> str:
    """One RSA key per test process (generating one costs about 0.1 s)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return pem.decode()


@pytest.fixture(autouse=True)
def _no_faultline_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Settings read FAULTLINE_* variables: the developer's own must not leak into the tests.
    for name in list(os.environ):
        if name.startswith("FAULTLINE_"):
            monkeypatch.delenv(name)


@pytest.fixture
def make_settings(tmp_path: Path) -> MakeSettings:
    """Settings of a registered App whose files live under tmp_path; keywords override."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "app_id": APP_ID,
            "app_slug": "faultline-test",
            "private_key": private_key_pem(),
            "webhook_secret": WEBHOOK_SECRET,
            "data_dir": tmp_path / "data",
            "env_file": tmp_path / ".env",
            "public_url": "http://127.0.0.1:8000",
            # No scan of GitHub's delivery log unless a test asks for one (it would call GitHub).
            "redeliver_every_seconds": 0,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


@pytest.fixture
def start_server() -> Iterator[StartServer]:
    """Serve ASGI apps with uvicorn on free loopback ports, each in a thread; returns the base URL."""
    running: list[tuple[uvicorn.Server, threading.Thread, socket.socket]] = []

    def start(app: ASGIApp) -> str:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False))
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="app-server", daemon=True
        )
        thread.start()
        running.append((server, thread, sock))
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the app did not start on port {port}")
            time.sleep(0.01)
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread, sock in running:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT)
        sock.close()


def signed_headers(
    event: str, body: bytes, *, secret: str = WEBHOOK_SECRET, delivery: str | None = None
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/044aadd",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(secret, body),
    }


def deliver(base_url: str, event: str, payload: Any, *, delivery: str | None = None) -> httpx.Response:
    """POST a delivery signed with WEBHOOK_SECRET, as GitHub sends it."""
    body = json.dumps(payload).encode()
    return httpx.post(
        f"{base_url}/webhook", content=body, headers=signed_headers(event, body, delivery=delivery)
    )


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A real redis-server for this test, appending every write to disk (so a restart keeps
    the queue and the ledger, as docs/deploy.md asks of a production Redis)."""
    server = RedisServer(tmp_path / "redis", durable=True)
    server.start()
    yield server
    server.stop()
