"""``faultline worker``: run jobs from the queue, without a web server.

With ``FAULTLINE_REDIS_URL`` any number of workers, on any machines, share the queue and the
run ledger in Redis. Without it the worker uses the SQLite queue in the data dir beside a
``faultline web`` on the same machine, and it must be the only one (it takes the data dir's
lock, as ``faultline serve`` does). SIGTERM or SIGINT: running jobs get
``FAULTLINE_SHUTDOWN_GRACE_SECONDS`` to finish, the rest go back to the queue; exit 0.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

import structlog

from faultline.app.cli.serve import (
    EXIT_CONFIG,
    EXIT_OK,
    StartError,
    configure_logging,
    load_settings,
    lock_data_dir,
    open_queue,
)

log = structlog.get_logger("faultline.worker")


def work(metrics_port: int | None = None) -> int:
    try:
        settings = load_settings()
        if not settings.configured:
            raise StartError("the App is not registered: FAULTLINE_APP_ID, _PRIVATE_KEY and _WEBHOOK_SECRET")
    except StartError as err:
        print(f"faultline: {err}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(json_lines=not sys.stderr.isatty())
    stop = threading.Event()

    def stopping(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping", signal=signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stopping)
    try:
        lock = None if settings.scale_out else lock_data_dir(settings.data_dir)
        queue = open_queue(settings)
    except StartError as err:
        print(f"faultline: {err}", file=sys.stderr)
        return EXIT_CONFIG
    if metrics_port is not None:
        from prometheus_client import start_http_server

        from faultline.app.observe.metrics import REGISTRY

        start_http_server(metrics_port, registry=REGISTRY)
    queue.start(exclusive=lock is not None)
    stop.wait()
    queue.stop()
    if lock is not None:
        lock.close()
    return EXIT_OK
