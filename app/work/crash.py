"""Named points in a run where a test can make the worker process die (SIGKILL), to prove
that the ledger finishes what a killed worker started.

``FAULTLINE_CRASH_AT=<step>:<file>`` kills the process the first time it reaches ``<step>``
and writes ``<file>``, so the restarted process goes past it. Unset (always, in production),
``crash_point`` does nothing.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

CRASH_ENV = "FAULTLINE_CRASH_AT"
STEPS = ("claimed", "check_created", "review_posted", "resolving_threads")


def crash_point(step: str) -> None:
    spec = os.environ.get(CRASH_ENV)
    if not spec:
        return
    name, _, marker = spec.partition(":")
    if name != step:
        return
    if marker:
        path = Path(marker)
        if path.exists():
            return
        path.write_text(step)
    os.kill(os.getpid(), signal.SIGKILL)
