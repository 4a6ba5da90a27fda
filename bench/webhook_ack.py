"""How fast the receiver acknowledges deliveries, against a peer that only checks the signature.

Serves the GitHub simulator (tests/github_sim) on loopback in this process with one
installation and ``--pulls`` open pull requests, then, for each mode, starts a server
process on a free port over a fresh temp data dir and has a client process (``--clients``
concurrent httpx async clients) send one signed ``pull_request.opened`` delivery per pull
request. Prints acknowledgement p50/p95/p99 and deliveries per second per mode, and the
ratio of each Faultline mode to the peer:

- ``embedded``: ``faultline serve`` as deployed by default, its workers analysing the pull
  requests against the simulator while the receiver answers (and the time until every head
  has a completed check run);
- ``receiver``: the same web app over the same SQLite queue with no worker started (there is
  no setting to turn the workers off; this is what a receiver in front of separate workers does);
- ``web-redis``: ``faultline web`` over a redis-server (scale-out mode) with no worker;
- ``scale-out``: ``faultline web`` plus ``--workers`` ``faultline worker`` processes over a
  redis-server, the workers analysing the pull requests while the receiver answers;
- ``peer``: a minimal Starlette app on the same uvicorn settings that verifies the HMAC and
  answers 202: the floor for any Python receiver on this machine.

    python bench/webhook_ack.py [--pulls 200] [--clients 50] [--modes embedded,receiver,peer]
    python bench/webhook_ack.py --modes web-redis,scale-out,peer

Beside the latencies, the CPU seconds each server process spent per 1,000 deliveries while
they were sent (``/proc``, ``bench/cpu.py``): on a shared machine the latency moves with
everyone else's load, the CPU a delivery costs much less. In embedded mode the one process
runs the workers too, so its CPU includes their analyses; ``web:main`` is its main thread
alone, the event loop that receives (the admits' writing thread is not in it).

The client (``bench/ack_client.py``, plain keep-alive HTTP/1.1) runs in a process of its
own, so the simulator (busy in embedded mode) does not share its interpreter; the modes run
one after the other, so the figures of a shared machine are best compared within one run.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import cpu  # noqa: E402

START_TIMEOUT = 30.0
BUSY_TIMEOUT = 30.0  # for the workers to start analysing the busy batch
WORKERS_STARTED = b"workers started"  # what a worker logs once it takes jobs
MODES = ("embedded", "receiver", "web-redis", "scale-out", "peer")
# The modes whose workers analyse the pull requests while the receiver answers.
WORKING = ("embedded", "scale-out")


@dataclass(frozen=True)
class Figures:
    mode: str
    latencies: list[float]  # seconds, one per delivery
    seconds: float  # wall time of the whole send
    statuses: dict[str, int]
    cpu: dict[str, float]  # CPU seconds per 1,000 deliveries, by process
    load: float  # the machine's 1-minute load average once the deliveries were sent
    checks_seconds: float | None = None  # workers' modes: until every head has a completed check run

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# -- the servers --------------------------------------------------------------------------------


def uvicorn_config(app: Any, port: int) -> Any:
    import uvicorn

    # As ``faultline serve`` configures uvicorn (app/cli/serve.py).
    return uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, proxy_headers=True, server_header=False
    )


def receiver_main(port: int) -> None:
    """The web app over the SQLite queue, no worker started."""
    import uvicorn

    from faultline.app.cli.serve import configure_logging, freeze_startup_objects, load_settings, open_queue
    from faultline.app.web.server import create_app

    settings = load_settings()
    configure_logging(json_lines=True)
    queue = open_queue(settings)
    server = uvicorn.Server(uvicorn_config(create_app(settings, queue=queue), port))
    freeze_startup_objects()
    server.run()


def peer_main(port: int, secret: str) -> None:
    """Verify the signature, answer 202: nothing more."""
    import logging

    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def webhook(request: Request) -> JSONResponse:
        body = await request.body()
        given = request.headers.get("x-hub-signature-256", "")
        if not hmac.compare_digest(sign(secret, body).encode(), given.encode()):
            return JSONResponse({"error": "signature"}, 401)
        return JSONResponse({"queued": True, "delivery": request.headers.get("x-github-delivery")}, 202)

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    logging.basicConfig(level=logging.INFO)  # an access line per request, as Faultline writes one
    app = Starlette(routes=[Route("/webhook", webhook, methods=["POST"]), Route("/healthz", health)])
    uvicorn.Server(uvicorn_config(app, port)).run()


def start(mode: str, port: int, env: dict[str, str], workdir: Path, secret: str) -> subprocess.Popen[bytes]:
    me = [sys.executable, str(Path(__file__).resolve())]
    faultline = [sys.executable, "-m", "faultline.app.cli.main"]
    command = {
        "embedded": [*faultline, "serve", "--port", str(port)],
        "receiver": [*me, "--serve-receiver", str(port)],
        "web-redis": [*faultline, "web", "--port", str(port)],
        "scale-out": [*faultline, "web", "--port", str(port)],
        "peer": [*me, "--serve-peer", str(port), "--secret", secret],
    }[mode]
    log = (workdir / f"{mode}.log").open("wb")
    process = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=log)
    wait_until_up(f"http://127.0.0.1:{port}/healthz", process, workdir / f"{mode}.log")
    return process


def start_worker(name: str, env: dict[str, str], workdir: Path) -> subprocess.Popen[bytes]:
    path = workdir / f"{name}.log"
    command = [sys.executable, "-m", "faultline.app.cli.main", "worker"]
    out = path.open("wb")
    process = subprocess.Popen(command, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT
    # Started before the send: its imports and start-up are not counted against the receiver.
    while WORKERS_STARTED not in path.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the worker did not start:\n{path.read_text()}")
        time.sleep(0.1)
    return process


@contextmanager
def servers(
    mode: str, port: int, env: dict[str, str], workdir: Path, secret: str, workers: int
) -> Iterator[dict[str, int]]:
    """The mode's server processes, running; yields their pids by name (``web`` first)."""
    from tests.app.redis_server import RedisServer

    redis = RedisServer(workdir / "redis", durable=True) if mode in ("web-redis", "scale-out") else None
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        if redis is not None:
            redis.start()
            env = env | {"FAULTLINE_REDIS_URL": redis.url}
        processes["web"] = start(mode, port, env, workdir, secret)
        for number in range(workers if mode == "scale-out" else 0):
            processes[f"worker-{number}"] = start_worker(f"worker-{number}", env, workdir)
        pids = {name: process.pid for name, process in processes.items()}
        if mode == "embedded":
            # The event loop's thread: the receiver's share of a process that analyses too.
            pids["web:main"] = processes["web"].pid
        if redis is not None and redis.process is not None:
            pids["redis-server"] = redis.process.pid
        yield pids
    finally:
        for process in processes.values():
            stop(process)
        if redis is not None:
            redis.stop()


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    import httpx

    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start:\n{log.read_text()}") from None
            time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# -- the run ------------------------------------------------------------------------------------


def deliveries(payloads: list[bytes], secret: str) -> list[dict[str, Any]]:
    """Signed before the clock starts: the client measures the server, not its own HMACs."""
    return [
        {
            "body": body.decode(),
            "headers": {
                "Content-Type": "application/json",
                "User-Agent": "GitHub-Hookshot/044aadd",
                "X-GitHub-Event": "pull_request",
                "X-GitHub-Delivery": str(uuid.uuid4()),
                "X-Hub-Signature-256": sign(secret, body),
            },
        }
        for body in payloads
    ]


@dataclass(frozen=True)
class Batch:
    """What one mode is sent: ``busy`` first, unmeasured, in the modes with workers (so that
    they are analysing while the receiver answers), then ``measured``."""

    busy: list[bytes]
    measured: list[bytes]
    running: Any  # () -> bool: some busy pull request's check run is in progress
    checks: Any  # (mode, sent) -> seconds until every head has a completed check run, or None


def send(port: int, payloads: list[bytes], secret: str, clients: int, workdir: Path) -> dict[str, Any]:
    batch = workdir / "deliveries.json"
    batch.write_text(json.dumps(deliveries(payloads, secret)))
    client = Path(__file__).with_name("ack_client.py")
    url = f"http://127.0.0.1:{port}/webhook"
    command = [sys.executable, str(client), url, str(batch), "--clients", str(clients)]
    result: dict[str, Any] = json.loads(
        subprocess.run(command, capture_output=True, text=True, check=True).stdout
    )
    return result


def measure(mode: str, env: dict[str, str], batch: Batch, secret: str, clients: int, workers: int) -> Figures:
    with tempfile.TemporaryDirectory(prefix=f"faultline-ack-{mode}-") as folder:
        workdir = Path(folder)
        port = free_port()
        data = env | {"FAULTLINE_DATA_DIR": str(workdir / "data")}
        with servers(mode, port, data, workdir, secret, workers) as pids:
            if mode in WORKING and batch.busy:
                send(port, batch.busy, secret, clients, workdir)
                deadline = time.monotonic() + BUSY_TIMEOUT
                while not batch.running() and time.monotonic() < deadline:
                    time.sleep(0.1)
            before = cpu.snapshot(pids)
            sent = time.monotonic()
            result = send(port, batch.measured, secret, clients, workdir)
            used = cpu.per_thousand(before, cpu.snapshot(pids), len(batch.measured))
            load = os.getloadavg()[0]
            checks_seconds = batch.checks(mode, sent) if mode in WORKING and batch.checks else None
    latencies, seconds, statuses = result["latencies"], result["seconds"], result["statuses"]
    return Figures(mode, latencies, seconds, statuses, used, load, checks_seconds)


def report(figures: list[Figures]) -> None:
    peer = next((f for f in figures if f.mode == "peer"), None)
    head = f"{'mode':<10} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'deliv/s':>8} {'load':>5}"
    print(f"{head}  statuses")
    for item in figures:
        cells = [item.percentile(p) for p in (50, 95, 99)]
        print(
            f"{item.mode:<10} {len(item.latencies):>5} {cells[0]:>8.1f} {cells[1]:>8.1f} {cells[2]:>8.1f} "
            f"{item.per_second:>8.1f} {item.load:>5.1f}  {item.statuses}"
        )
    print("CPU seconds per 1,000 deliveries while they were sent, by process:")
    for item in figures:
        cells = ", ".join(f"{name} {seconds:.2f}" for name, seconds in item.cpu.items())
        print(f"  {item.mode:<10} {cells}")
    for item in figures:
        if item.checks_seconds is not None:
            took = f"{item.checks_seconds:.1f} s"
            print(f"{item.mode}: every head had a completed check run {took} after the first send")
    if peer is None:
        return
    for item in figures:
        if item is peer:
            continue
        ratios = [item.percentile(p) / peer.percentile(p) for p in (50, 95, 99)]
        rate = item.per_second / peer.per_second
        print(
            f"{item.mode} / peer: p50 x{ratios[0]:.2f}, p95 x{ratios[1]:.2f}, p99 x{ratios[2]:.2f}, "
            f"deliveries/s x{rate:.2f}; mean {statistics.mean(item.latencies) * 1000:.1f} ms "
            f"vs {statistics.mean(peer.latencies) * 1000:.1f} ms; "
            f"receiver CPU x{item.cpu.get('web:main', item.cpu['web']) / peer.cpu['web']:.2f}"
        )


def run(
    pulls: int, clients: int, workers: int, modes: list[str], checks_timeout: float, no_busy: bool
) -> None:
    from tests.github_sim import PullRequest, running_sim
    from tests.github_sim.webhooks import pull_request_payload

    with running_sim() as (sim, base_url):
        sim.add_repo("acme/shop")
        main = sim.commit("acme/shop", {"README.md": "shop\n"}, branch="main")
        installation = sim.add_installation("acme")

        def open_pulls(name: str) -> list[PullRequest]:
            """Fresh pull requests for each batch: one mode's check runs never count for another."""
            opened = []
            for n in range(pulls):
                files = {f"app/{name}/mod{n}.py": f"def f{n}(a):\n    return a\n"}
                head = sim.commit("acme/shop", files, parent=main)
                opened.append(sim.open_pull("acme/shop", head, user="alice"))
            return opened

        def payloads(opened: list[PullRequest]) -> list[bytes]:
            return [
                json.dumps(pull_request_payload(sim, pr, "opened", installation=installation)).encode()
                for pr in opened
            ]

        def in_progress(opened: list[PullRequest]) -> Any:
            heads = {pr.head_sha for pr in opened}
            return lambda: any(r.status == "in_progress" and r.head_sha in heads for r in sim.check_runs())

        app = sim.app
        env = {k: v for k, v in os.environ.items() if not k.startswith("FAULTLINE_")} | {
            "PYTHONPATH": str(ROOT),
            "FAULTLINE_APP_ID": str(app.id),
            "FAULTLINE_PRIVATE_KEY": app.private_pem,
            "FAULTLINE_WEBHOOK_SECRET": app.webhook_secret,
            "FAULTLINE_APP_SLUG": app.slug,
            "FAULTLINE_GITHUB_API_URL": base_url,
            # No scan of the delivery log during the measurement.
            "FAULTLINE_REDELIVER_EVERY_SECONDS": "0",
        }

        def every_head_checked(opened: list[PullRequest]) -> Any:
            def checked(mode: str, sent: float) -> float | None:
                heads = {pr.head_sha for pr in opened}
                deadline = time.monotonic() + checks_timeout
                while time.monotonic() < deadline:
                    runs = [r for r in sim.check_runs("acme/shop") if r.head_sha in heads]
                    if {r.head_sha for r in runs if r.status == "completed"} == heads:
                        per_head = Counter(r.head_sha for r in runs)
                        print(
                            f"{mode}: {len(runs)} check runs for {len(heads)} heads, "
                            f"at most {max(per_head.values())} on one head",
                            file=sys.stderr,
                        )
                        return time.monotonic() - sent
                    time.sleep(0.5)
                return None

            return checked if checks_timeout > 0 else None

        figures = []
        for mode in modes:
            busy = open_pulls(f"{mode}-busy") if mode in WORKING and not no_busy else []
            opened = open_pulls(mode)
            checks = every_head_checked(busy + opened)
            batch = Batch(payloads(busy), payloads(opened), in_progress(busy), checks)
            print(f"measuring {mode}...", file=sys.stderr)
            figures.append(measure(mode, env, batch, app.webhook_secret, clients, workers))
            sim.requests.clear()
    print(f"{pulls} pull_request deliveries a mode, {clients} concurrent clients, {os.cpu_count()} cores")
    if not no_busy and any(mode in WORKING for mode in modes):
        working = ", ".join(mode for mode in modes if mode in WORKING)
        print(f"(in {working}: sent after {pulls} others, while the workers analyse them)")
    report(figures)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pulls", type=int, default=200)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2, help="worker processes in scale-out mode")
    parser.add_argument("--modes", default="embedded,receiver,peer")
    parser.add_argument(
        "--checks-timeout", type=float, default=600.0, help="0: do not wait for the check runs"
    )
    parser.add_argument(
        "--no-busy", action="store_true", help="no busy batch before the measured one in the workers' modes"
    )
    parser.add_argument("--serve-receiver", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-peer", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--secret", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_receiver:
        receiver_main(args.serve_receiver)
    elif args.serve_peer:
        peer_main(args.serve_peer, args.secret)
    else:
        modes = [mode for mode in args.modes.split(",") if mode]
        unknown = set(modes) - set(MODES)
        if unknown:
            parser.error(f"unknown modes: {', '.join(sorted(unknown))} (known: {', '.join(MODES)})")
        run(args.pulls, args.clients, args.workers, modes, args.checks_timeout, args.no_busy)


if __name__ == "__main__":
    main()
