"""Serve the simulator as a real HTTP server on loopback, and pytest fixtures around it.

In a conftest.py (both names: `github_sim` depends on the session-wide server):

    from tests.github_sim.fixtures import github_sim, github_sim_server  # noqa: F401

    def test_x(github_sim: RunningSim) -> None:
        sim, base_url = github_sim
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NamedTuple

import pytest
import uvicorn
from githubkit import AppAuthStrategy, AppInstallationAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy

from .records import Installation
from .server import create_app
from .state import GitHubSim

STARTUP_TIMEOUT = 10.0


class RunningSim(NamedTuple):
    sim: GitHubSim
    base_url: str  # "http://127.0.0.1:PORT/", githubkit's base_url


@contextmanager
def serving(current: Callable[[], GitHubSim]) -> Iterator[str]:
    """Serve `current()` on 127.0.0.1 on a free port, in a thread; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Without TCP_NODELAY a keep-alive response body waits ~40 ms on the client's delayed ACK.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(current), log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="github-sim", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"GitHub simulator did not start on port {port}")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT)
        sock.close()


@contextmanager
def running_sim(sim: GitHubSim | None = None) -> Iterator[RunningSim]:
    """Serve `sim` (a new one by default) until the block exits; yields (sim, base_url)."""
    chosen = sim or GitHubSim()
    with serving(lambda: chosen) as base_url:
        chosen.api_url = base_url.rstrip("/")
        yield RunningSim(chosen, base_url)


class SimSlot:
    """The simulator a long-lived server answers from; tests swap in a fresh one."""

    def __init__(self) -> None:
        self.sim = GitHubSim()

    def fresh(self, base_url: str) -> RunningSim:
        self.sim = GitHubSim()
        self.sim.api_url = base_url.rstrip("/")
        return RunningSim(self.sim, base_url)


def installation_client(
    running: RunningSim, installation: Installation, auto_retry: bool = True, fresh_cache: bool = True
) -> GitHub[AppInstallationAuthStrategy]:
    """A githubkit client authenticated as `installation`, the way the App authenticates.

    `fresh_cache` gives the client its own token cache, so tokens minted by other clients of the
    same App are not reused (githubkit's default cache is shared by the whole process).
    Keep the client in a variable: githubkit's namespaces hold only a weak reference to it.
    """
    app = installation.app
    strategy = AppAuthStrategy(app.id, app.private_pem).as_installation(installation.id)
    cache = MemCacheStrategy() if fresh_cache else None
    return GitHub(strategy, base_url=running.base_url, auto_retry=auto_retry, cache_strategy=cache)


@pytest.fixture(scope="session")
def github_sim_server() -> Iterator[tuple[SimSlot, str]]:
    """One simulator server for the test session: starting and stopping uvicorn costs ~0.2 s."""
    slot = SimSlot()
    with serving(lambda: slot.sim) as base_url:
        yield slot, base_url


@pytest.fixture
def github_sim(github_sim_server: tuple[SimSlot, str]) -> RunningSim:
    """A fresh, empty simulator served on loopback: (sim, base_url)."""
    slot, base_url = github_sim_server
    return slot.fresh(base_url)
