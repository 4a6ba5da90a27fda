"""CPU seconds of running processes, read from ``/proc`` (Linux).

Wall-clock latency on a shared 2-core machine moves with everyone else's work; the CPU a
server process spends on a batch of deliveries does not, so the benches print both:
CPU seconds per 1,000 deliveries of each process, measured around the send.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User + system CPU seconds the process has used so far (its threads included), or one
    of its threads (``thread`` = its id; the main thread's is the pid)."""
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    with open(path, encoding="ascii") as handle:
        # The command name (field 2) may hold spaces: the fields that follow come after ")".
        fields = handle.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def snapshot(pids: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds by name; a name ending in ``:main`` is the main thread of that pid."""
    return {name: cpu_seconds(pid, pid if name.endswith(":main") else None) for name, pid in pids.items()}


def per_thousand(before: Mapping[str, float], after: Mapping[str, float], count: int) -> dict[str, float]:
    """CPU seconds per 1,000 deliveries of each process between two snapshots."""
    return {name: (after[name] - before[name]) * 1000 / count for name in before}
