"""A process that uses the queue and then dies without warning, for the durability tests.

python -m tests.app.queue_worker DATA_DIR enqueue [REDIS_URL]  # enqueue one job, then SIGKILL itself
python -m tests.app.queue_worker DATA_DIR hang [REDIS_URL]     # run the queued job, which hangs until killed
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from faultline.app.settings import Settings
from faultline.app.work.queue import JobQueue, StoreLeases
from faultline.app.work.request import AnalysisRequest, RunOutcome

STARTED_FILE = "job-started"
REQUEST = AnalysisRequest(
    delivery_id="kill-test",
    trigger="pull_request.opened",
    installation_id=7,
    owner="octo",
    repo="demo",
    pull_number=3,
    head_sha="a" * 40,
)


def _hang(settings: Settings, request: AnalysisRequest, leases: StoreLeases) -> RunOutcome:
    (settings.data_dir / STARTED_FILE).write_text(request.delivery_id)
    time.sleep(3600)
    return RunOutcome("success")


def settings_for(data_dir: str, redis_url: str | None = None) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=Path(data_dir),
        workers=1,
        redis_url=redis_url,
        settle_seconds=0,
        lease_seconds=1.0,
        sweep_seconds=0.2,
    )


def main(data_dir: str, mode: str, redis_url: str | None = None) -> None:
    settings = settings_for(data_dir, redis_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if mode == "enqueue":
        JobQueue(settings).enqueue(REQUEST)
    else:
        JobQueue(settings, runner=_hang).start(exclusive=redis_url is None)
        time.sleep(3600)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    main(*sys.argv[1:])
