"""One run at a time per pull request: two runs reading the existing comments at once
would both post the same new ones.

``Leases`` is what a run needs; the queue gives it leases in its store (they hold across
processes and machines), and a run started without a queue (tests, tools) uses
``LocalLeases``, locks of this process.
"""

from __future__ import annotations

import threading
from typing import Protocol


def pull_key(installation_id: int, owner: str, repo: str, number: int) -> str:
    return f"{installation_id}/{owner}/{repo}#{number}".lower()


class Leases(Protocol):
    def acquire(self, key: str) -> str:
        """Block until this caller holds ``key``; returns the holder token to release with."""
        ...

    def release(self, key: str, holder: str) -> None: ...


class LocalLeases:
    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def acquire(self, key: str) -> str:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        lock.acquire()
        return key

    def release(self, key: str, holder: str) -> None:
        self._locks[key].release()


LOCAL = LocalLeases()
