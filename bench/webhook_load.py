"""Webhook load: the real server behind 50 concurrent clients, against the GitHub simulator.

Serves the simulator (tests/github_sim) on loopback in this process, opens N pull requests
on it (one small risky file each), starts the App as a deployment would and sends each pull
request a signed ``pull_request.opened`` delivery from C concurrent clients:

- ``sqlite``: one ``faultline serve`` (receiver and workers in one process, SQLite queue);
- ``redis``: ``faultline web`` plus W ``faultline worker`` processes over a redis-server
  (the Debian package) started here on a free port.

The clients run in a process of their own (``bench/ack_client.py``), apart from the simulator
in this one: the simulator's work for the workers is not counted as the server's latency.

Prints, per mode: acknowledgement p50/p95/p99, deliveries per second, the CPU seconds per
1,000 deliveries of each server process while they were sent, the time until every
check run is completed, and the counts that must be exact: completed check runs = distinct
heads, duplicate comments 0, lost heads 0, in progress 0.

    python bench/webhook_load.py [--pulls 200] [--clients 50] [--workers 2] [--modes sqlite,redis]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import cpu  # noqa: E402
from bench.deployment import Deployment, delivery_headers  # noqa: E402
from tests.app.sim_fixtures import FULL_NAME, OWNER  # noqa: E402
from tests.github_sim import GitHubSim, PullRequest, running_sim  # noqa: E402
from tests.github_sim.webhooks import pull_request_payload  # noqa: E402

RISKY = "def load(path):\n    try:\n        return open(path).read()\n    except Exception:\n        pass\n"
WAIT_SECONDS = 900.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def send_all(url: str, secret: str, bodies: list[bytes], clients: int, folder: Path) -> list[float]:
    """Sends from ``bench/ack_client.py`` in a process of its own; the latencies, in seconds."""
    deliveries = [
        {
            "body": body.decode(),
            "headers": delivery_headers(secret, body, str(uuid.uuid4())),
        }
        for body in bodies
    ]
    batch = folder / "deliveries.json"
    batch.write_text(json.dumps(deliveries))
    client = [sys.executable, str(Path(__file__).with_name("ack_client.py")), f"{url}/webhook", str(batch)]
    out = subprocess.run([*client, "--clients", str(clients)], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    if result["statuses"] != {"202": len(bodies)}:
        raise SystemExit(f"deliveries answered {result['statuses']}")
    latencies: list[float] = result["latencies"]
    return latencies


def duplicate_comments(sim: GitHubSim, pulls: list[PullRequest]) -> int:
    """Faultline's review comments beyond the first with the same body on the same file."""
    bodies: Counter[tuple[int, str, str]] = Counter()
    for pull in pulls:
        for comment in sim.review_comments(pull):
            if comment.user is sim.app.bot and comment.in_reply_to is None:
                bodies[(pull.number, comment.path, comment.body)] += 1
    return sum(count - 1 for count in bodies.values())


def counts(sim: GitHubSim, pulls: list[PullRequest]) -> dict[str, int]:
    heads = {pull.head_sha for pull in pulls}
    runs = [run for run in sim.check_runs(FULL_NAME) if run.head_sha in heads]
    done = {run.head_sha for run in runs if run.status == "completed"}
    return {
        "heads": len(heads),
        "completed": len(done),
        "check_runs": len(runs),
        "in_progress": sum(1 for run in runs if run.status != "completed"),
        "lost": len(heads - {run.head_sha for run in runs}),
        "duplicate_comments": duplicate_comments(sim, pulls),
    }


def wait_done(measured: Callable[[], dict[str, int]], wait: float = WAIT_SECONDS) -> dict[str, int]:
    """The counts once every head has a completed check run and none is in progress (or at the deadline)."""
    deadline = time.monotonic() + wait
    while True:
        figures = measured()
        done = figures["completed"] == figures["heads"] and figures["in_progress"] == 0
        if done or time.monotonic() > deadline:
            return figures
        time.sleep(0.2)


def measure(mode: str, pulls_wanted: int, clients: int, workers: int, folder: Path) -> None:
    with running_sim() as running:
        sim = running.sim
        sim.add_repo(FULL_NAME)
        main = sim.commit(FULL_NAME, {"README.md": "# shop\n"}, branch="main")
        installation = sim.add_installation(OWNER)
        pulls = []
        for number in range(pulls_wanted):
            head = sim.commit(FULL_NAME, {f"app/load_{number}.py": RISKY}, parent=main)
            pulls.append(sim.open_pull(FULL_NAME, head, user="alice"))
        bodies = [
            json.dumps(pull_request_payload(sim, pull, "opened", installation=installation)).encode()
            for pull in pulls
        ]
        deployment = Deployment(mode, sim, running.base_url, folder, workers)
        try:
            pids = {name: process.pid for name, process in deployment.processes.items()}
            before = cpu.snapshot(pids)
            started = time.perf_counter()
            acks = send_all(deployment.url, sim.app.webhook_secret, bodies, clients, folder)
            sent = time.perf_counter() - started
            used = cpu.per_thousand(before, cpu.snapshot(pids), len(bodies))
            figures = wait_done(lambda: counts(sim, pulls))
            finished = time.perf_counter() - started
        finally:
            deployment.stop()
    label = deployment.label
    ms = [ack * 1000 for ack in acks]
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"== {label}: {len(bodies)} deliveries, {clients} clients, {os.cpu_count()} cores, load {load}")
    print(
        f"ack ms p50/p95/p99 {percentile(ms, 0.5):.0f}/{percentile(ms, 0.95):.0f}/{percentile(ms, 0.99):.0f}"
        f" (mean {statistics.mean(ms):.0f}); {len(bodies) / sent:.0f} deliveries/s"
    )
    cells = ", ".join(f"{name} {seconds:.2f}" for name, seconds in used.items())
    print(f"CPU seconds per 1,000 deliveries while they were sent: {cells}")
    print(f"every check run completed after {finished:.1f} s")
    print(
        f"completed check runs {figures['completed']} = distinct heads {figures['heads']}"
        f" (check runs {figures['check_runs']}); duplicate comments {figures['duplicate_comments']};"
        f" lost {figures['lost']}; in progress {figures['in_progress']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pulls", type=int, default=200)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--modes", default="sqlite,redis")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="webhook-load-") as folder:
        for mode in args.modes.split(","):
            measure(mode, args.pulls, args.clients, args.workers, Path(folder))


if __name__ == "__main__":
    main()
