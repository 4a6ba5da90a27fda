"""Admitting deliveries to the ledger in groups: all those that arrived while the previous
group was being written go in the next write, one SQLite transaction (one fsync) or one
Redis pipeline (one round trip; one append-only file fsync).

The receiver runs on an event loop and both stores' clients block, so an admit runs in a
thread. One thread hop and one write per delivery made each delivery wait behind the
writes of those ahead of it (the SQLite store has one connection, behind a lock) and cost
the receiver most of its CPU. Here the loop collects the deliveries and one thread at a
time writes them: under load a group holds the deliveries that came during one write, and
a delivery alone is written at once. Each delivery hears its answer once the write holding
it is done, so a 202 still means the run is stored. Measured with ``bench/webhook_ack.py``:
this costs the web process less CPU than ``redis.asyncio`` on the loop (one command, one
round trip a delivery).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio.to_thread

from faultline.app.work.request import AnalysisRequest

# At most this many deliveries a transaction: a group never holds the store for long.
MAX_GROUP = 256

Item = tuple[AnalysisRequest, bytes]
AdmitMany = Callable[[list[Item]], list[bool]]


@dataclass
class _Pending:
    items: list[tuple[AnalysisRequest, bytes, asyncio.Future[bool]]] = field(default_factory=list)
    writer: asyncio.Task[None] | None = None


class GroupCommit:
    """``admit`` from an event loop over ``admit_many`` (one transaction for a list)."""

    def __init__(self, admit_many: AdmitMany) -> None:
        self._admit_many = admit_many
        # One group per event loop: its futures belong to it.
        self._loops: dict[asyncio.AbstractEventLoop, _Pending] = {}

    async def admit(self, request: AnalysisRequest, message: bytes) -> bool:
        loop = asyncio.get_running_loop()
        pending = self._loops.setdefault(loop, _Pending())
        future: asyncio.Future[bool] = loop.create_future()
        pending.items.append((request, message, future))
        if pending.writer is None:
            pending.writer = loop.create_task(self._write(pending))
        return await future

    async def close(self) -> None:
        """Forget the running loop (its server is done): nothing is left open."""
        self._loops.pop(asyncio.get_running_loop(), None)

    async def _write(self, pending: _Pending) -> None:
        try:
            while pending.items:
                group, pending.items = pending.items[:MAX_GROUP], pending.items[MAX_GROUP:]
                items = [(request, message) for request, message, _future in group]
                try:
                    admitted = await anyio.to_thread.run_sync(self._admit_many, items)
                except Exception as err:  # noqa: BLE001  # faultline: ignore[broad-except] each delivery hears it
                    # Rolled back: none of the group is stored, each delivery answers 500.
                    for _request, _message, future in group:
                        if not future.done():
                            future.set_exception(err)
                    continue
                for (_request, _message, future), queued in zip(group, admitted, strict=True):
                    if not future.done():
                        future.set_result(queued)
        finally:
            pending.writer = None
