"""A process that uses the queue and then dies without warning, for the durability tests.

python -m tests.app.queue_worker DATA_DIR enqueue   # enqueue one job, then SIGKILL itself
python -m tests.app.queue_worker DATA_DIR hang      # run the queued job, which hangs until killed
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from faultline.app.settings import Settings
from faultline.app.work.queue import JobQueue
from faultline.app.work.request import AnalysisRequest

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


def _hang(settings: Settings, request: AnalysisRequest) -> None:
    (settings.data_dir / STARTED_FILE).write_text(request.delivery_id)
    time.sleep(3600)


def main(data_dir: str, mode: str) -> None:
    settings = Settings(_env_file=None, data_dir=Path(data_dir), workers=1)  # type: ignore[call-arg]
    if mode == "enqueue":
        JobQueue(settings).enqueue(REQUEST)
    else:
        JobQueue(settings, runner=_hang).start()
        time.sleep(3600)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
