"""Chaos: the webhook load of ``webhook_load.py`` while GitHub fails and workers die.

The same deployments (``deployment.py``: ``faultline serve`` over SQLite, or ``faultline web``
plus W ``faultline worker`` processes over Redis) against the GitHub simulator, with:

- N pull requests and H heads in all: every pull request is opened, and some are pushed to
  again (``synchronize``) after a short random gap, so older heads are superseded while
  their runs wait or run; C concurrent clients send the signed deliveries, each one again
  with the same delivery id until it is answered 202 (as GitHub's redelivery would);
- a seeded random share of every call to GitHub failing (``--fault-share``, 20%): a 502, a
  403 or a 429 secondary rate limit (``Retry-After: 1``), as the simulator's ``random_faults``
  draws them;
- a worker SIGKILLed every few seconds (uniform between half and 1.5 times ``--kill-every``
  after the last one restarted works again) and started again on the same data dir: in
  embedded mode the serve process itself, in Redis mode one of the workers. The kills stop
  once every head is done, or after ``--chaos-seconds``.

Prints, per mode: heads without a completed check run (must be 0, and how many had no check
run at all), the final heads analysed (not "Faultline itself failed", not superseded), duplicate
check runs per (head, external id), duplicate review comments and annotations (0), check runs left in
progress (0), the kills, the faults injected and the time until everything completed. Exits 1
when an exact count is wrong.

    python bench/chaos.py [--pulls 200] [--heads 300] [--clients 50] [--modes sqlite,redis]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import chaos_probe  # noqa: E402
from bench.deployment import Deployment, delivery_headers  # noqa: E402
from bench.webhook_load import duplicate_comments  # noqa: E402
from faultline.app.render.check_run import FAILED_TITLE, INTERRUPTED_TITLE, SUPERSEDED_TITLE  # noqa: E402
from tests.app.sim_fixtures import FULL_NAME, OWNER  # noqa: E402
from tests.github_sim import GitHubSim, PullRequest, running_sim  # noqa: E402
from tests.github_sim.records import Installation  # noqa: E402
from tests.github_sim.webhooks import pull_request_payload  # noqa: E402

NOT_ANALYSED = frozenset({FAILED_TITLE, INTERRUPTED_TITLE, SUPERSEDED_TITLE})
RESEND_SECONDS = 0.2
POLL_SECONDS = 0.2
SAMPLE_SECONDS = 15.0


def risky(count: int) -> str:
    """A module of ``count`` functions that each swallow every error: one finding apiece."""
    body = "    try:\n        return open(path).read()\n    except Exception:\n        pass\n\n"
    return "".join(f"def load_{index}(path):\n{body}" for index in range(count))


@dataclass
class Plan:
    """The pull requests, each one's heads in push order, and the gap before each later push."""

    pulls: list[PullRequest]
    heads: list[list[str]]
    gaps: list[list[float]]

    @property
    def all_heads(self) -> set[str]:
        return {sha for shas in self.heads for sha in shas}

    @property
    def final_heads(self) -> set[str]:
        return {shas[-1] for shas in self.heads}


def make_plan(sim: GitHubSim, pulls: int, heads: int, rng: random.Random) -> Plan:
    main = sim.commit(FULL_NAME, {"README.md": "# shop\n"}, branch="main")
    per_pull = [1] * pulls
    for _extra in range(max(0, heads - pulls)):
        per_pull[rng.randrange(pulls)] += 1
    plan = Plan([], [], [])
    for number, count in enumerate(per_pull):
        shas, parent = [], main
        for push in range(count):
            parent = sim.commit(FULL_NAME, {f"app/load_{number}.py": risky(push + 1)}, parent=parent)
            shas.append(parent)
        plan.pulls.append(sim.open_pull(FULL_NAME, shas[0], user="alice", head_ref=f"feature-{number}"))
        plan.heads.append(shas)
        plan.gaps.append([rng.uniform(0.5, 3.0) for _ in shas[1:]])
    return plan


@dataclass
class Sender:
    """Sends every pull request's deliveries, its pushes in order, each until it is accepted."""

    sim: GitHubSim
    installation: Installation
    url: str
    clients: int
    resent: int = 0
    done: threading.Event = field(default_factory=threading.Event)

    async def send(self, plan: Plan) -> None:
        limit = asyncio.Semaphore(self.clients)
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=self.clients)) as client:
            await asyncio.gather(
                *(
                    self.pushes(client, limit, pull, shas, gaps)
                    for pull, shas, gaps in zip(plan.pulls, plan.heads, plan.gaps, strict=True)
                )
            )
        self.done.set()

    async def pushes(
        self,
        client: httpx.AsyncClient,
        limit: asyncio.Semaphore,
        pull: PullRequest,
        shas: list[str],
        gaps: list[float],
    ) -> None:
        opened = pull_request_payload(self.sim, pull, installation=self.installation)
        await self.deliver(client, limit, opened)
        for sha, gap in zip(shas[1:], gaps, strict=True):
            await asyncio.sleep(gap)
            before = self.sim.push(pull, sha)
            payload = pull_request_payload(self.sim, pull, "synchronize", self.installation, before=before)
            await self.deliver(client, limit, payload)

    async def deliver(self, client: httpx.AsyncClient, limit: asyncio.Semaphore, payload: object) -> None:
        body = json.dumps(payload).encode()
        headers = delivery_headers(self.sim.app.webhook_secret, body, str(uuid.uuid4()))
        while True:
            async with limit:
                try:
                    response = await client.post(f"{self.url}/webhook", content=body, headers=headers)
                except httpx.TransportError:
                    response = None  # the server is down (killed) or closed the connection
            if response is not None and response.status_code == 202:
                return
            if response is not None and response.status_code != 503:
                raise SystemExit(f"delivery answered {response.status_code}: {response.text}")
            self.resent += 1
            await asyncio.sleep(RESEND_SECONDS)


def figures(sim: GitHubSim, plan: Plan) -> dict[str, int]:
    heads, finals = plan.all_heads, plan.final_heads
    runs = [run for run in sim.check_runs(FULL_NAME) if run.head_sha in heads]
    completed = {run.head_sha for run in runs if run.status == "completed"}
    with_run = {run.head_sha for run in runs}
    analysed = {run.head_sha for run in runs if run.status == "completed" and run.title not in NOT_ANALYSED}
    failed = {run.head_sha for run in runs if run.status == "completed" and run.title == FAILED_TITLE}
    per_delivery = Counter((run.head_sha, run.external_id) for run in runs)
    return {
        "heads": len(heads),
        "incomplete": len(heads - completed),
        "no_run": len(heads - with_run),
        "finals": len(finals),
        "finals_analysed": len(finals & analysed),
        "finals_failed": len((finals & failed) - analysed),
        "finals_no_run": len(finals - with_run),
        "check_runs": len(runs),
        "duplicate_checks": sum(count - 1 for count in per_delivery.values()),
        "duplicate_comments": duplicate_comments(sim, plan.pulls),
        "duplicate_annotations": sum(duplicate_annotations(run.annotations) for run in runs),
        "in_progress": sum(1 for run in runs if run.status != "completed"),
    }


def duplicate_annotations(annotations: list[dict[str, object]]) -> int:
    """Annotations of one check run beyond the first with the same place and message."""
    seen = Counter(
        tuple(str(item.get(name)) for name in ("path", "start_line", "end_line", "title", "message"))
        for item in annotations
    )
    return sum(count - 1 for count in seen.values())


def completed_heads(sim: GitHubSim, plan: Plan) -> set[str]:
    heads = plan.all_heads
    runs = sim.check_runs(FULL_NAME)
    return {run.head_sha for run in runs if run.head_sha in heads and run.status == "completed"}


def finished(counted: dict[str, int]) -> bool:
    return counted["incomplete"] == 0 and counted["in_progress"] == 0


@dataclass(frozen=True)
class Chaos:
    fault_share: float
    kill_every: float
    chaos_seconds: float
    wait_seconds: float
    stall_seconds: float
    seed: int


@dataclass
class Timeline:
    """Heads completed and the ledger's states, every ``SAMPLE_SECONDS``: a backlog still
    draining goes on rising; a lost run leaves the count flat."""

    samples: list[tuple[float, int, str]] = field(default_factory=list)
    last_change: float = 0.0
    last_seen: tuple[int, int] = (-1, -1)

    def sample(self, elapsed: float, completed: int, states: Counter[str]) -> None:
        text = ", ".join(f"{state} {count}" for state, count in sorted(states.items()))
        self.samples.append((elapsed, completed, text))

    def progress(self, elapsed: float, completed: int, check_runs: int) -> None:
        if (completed, check_runs) != self.last_seen:
            self.last_seen, self.last_change = (completed, check_runs), elapsed

    def lines(self) -> list[str]:
        out, before = [], (0.0, 0)
        for elapsed, completed, states in self.samples:
            rate = (completed - before[1]) / max(elapsed - before[0], 1e-9)
            out.append(f"  {elapsed:6.0f} s  completed {completed:4d}  (+{rate:.2f}/s)  ledger: {states}")
            before = (elapsed, completed)
        return out


def run_mode(mode: str, args: argparse.Namespace, chaos: Chaos, folder: Path) -> bool:
    rng = random.Random(chaos.seed)
    with running_sim() as running:
        sim = running.sim
        sim.add_repo(FULL_NAME)
        installation = sim.add_installation(OWNER)
        plan = make_plan(sim, args.pulls, args.heads, rng)
        faults = sim.random_faults(chaos.fault_share, seed=chaos.seed)
        extra = {"FAULTLINE_LEASE_SECONDS": str(args.lease_seconds), "FAULTLINE_SWEEP_SECONDS": "2"}
        deployment = Deployment(mode, sim, running.base_url, folder, args.workers, extra)
        sender = Sender(sim, installation, deployment.url, args.clients)
        thread = threading.Thread(target=asyncio.run, args=(sender.send(plan),), daemon=True)
        kills = 0
        timeline = Timeline()
        why = "everything completed"
        try:
            started = time.monotonic()
            thread.start()
            next_kill: float | None = started + rng.uniform(0.5, 1.5) * chaos.kill_every
            killed = ""
            next_sample = started
            while True:
                counted = figures(sim, plan)
                now = time.monotonic()
                done_now = counted["heads"] - counted["incomplete"]
                timeline.progress(now - started, done_now, counted["check_runs"])
                if now >= next_sample:
                    snap = chaos_probe.snapshot(deployment.data_dir, deployment.redis_url)
                    timeline.sample(now - started, done_now, snap.states())
                    next_sample = now + SAMPLE_SECONDS
                if sender.done.is_set() and finished(counted):
                    break
                if now - started > chaos.wait_seconds:
                    why = f"gave up after --wait {chaos.wait_seconds:.0f} s"
                    break
                calm = now - started > chaos.chaos_seconds and sender.done.is_set()
                if calm and now - started - timeline.last_change > chaos.stall_seconds:
                    why = f"stalled: no check run created or completed for {chaos.stall_seconds:.0f} s"
                    break
                if next_kill is None and deployment.working(killed):
                    # The next kill is counted from the moment the restarted process works again.
                    next_kill = now + rng.uniform(0.5, 1.5) * chaos.kill_every
                if next_kill is not None and now >= next_kill and now - started < chaos.chaos_seconds:
                    killed = rng.choice(deployment.workers)
                    deployment.restart(killed)
                    kills += 1
                    next_kill = None
                time.sleep(POLL_SECONDS)
            elapsed = time.monotonic() - started
            print(f"== {deployment.label}: {why}; completed over time:")
            print("\n".join(timeline.lines()))
            if counted["incomplete"] or counted["in_progress"]:
                diagnose(deployment, sim, plan, timeline, elapsed)
            print("warnings and errors logged (most frequent):")
            print("\n".join(chaos_probe.error_summary(deployment.data_dir)))
        finally:
            deployment.stop()
        calls = len(sim.requests)
    return report(deployment.label, counted, kills, faults.injected, calls, elapsed, sender)


def diagnose(deployment: Deployment, sim: GitHubSim, plan: Plan, timeline: Timeline, elapsed: float) -> None:
    """Why each head lacks a completed check run: its ledger rows, messages, check runs, logs."""
    snap = chaos_probe.snapshot(deployment.data_dir, deployment.redis_url)
    alive = {name: process.poll() is None for name, process in deployment.processes.items()}
    owners = chaos_probe.live_owners(deployment.data_dir, alive)
    grace = float(deployment.env.get("FAULTLINE_SWEEP_GRACE_SECONDS", "300"))
    quiet = elapsed - timeline.last_change
    print(f"last progress {quiet:.0f} s before the end; live lease owners {sorted(owners)}")
    lines = chaos_probe.explain(
        plan.all_heads, completed_heads(sim, plan), sim, FULL_NAME, snap, owners, grace, deployment.data_dir
    )
    print("\n".join(lines))


def report(
    label: str,
    counted: dict[str, int],
    kills: int,
    injected: Counter[str],
    calls: int,
    elapsed: float,
    sender: Sender,
) -> bool:
    faults = sum(injected.values())
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(injected.items()))
    print(f"== {label}: {counted['heads']} heads on {counted['finals']} pull requests")
    print(f"GitHub calls {calls}, faults injected {faults} ({faults / max(calls, 1):.0%}: {kinds})")
    print(f"workers SIGKILLed {kills} times; deliveries sent again while the server was down {sender.resent}")
    done = finished(counted) and sender.done.is_set()
    print(f"everything completed after {elapsed:.1f} s" if done else f"NOT completed after {elapsed:.1f} s")
    print(
        f"{counted['incomplete']} of {counted['heads']} heads never got a completed check run"
        f" ({counted['no_run']} no check run at all); of the {counted['finals']} final heads"
        f" {counted['finals_failed']} ended {FAILED_TITLE!r} and {counted['finals_no_run']} had no check run"
    )
    print(
        f"final heads analysed {counted['finals_analysed']} of {counted['finals']};"
        f" check runs {counted['check_runs']}; duplicate check runs per (head, external id)"
        f" {counted['duplicate_checks']}; duplicate comments {counted['duplicate_comments']};"
        f" duplicate annotations {counted['duplicate_annotations']}; in progress {counted['in_progress']}"
    )
    exact = (
        done
        and counted["finals_analysed"] == counted["finals"]
        and counted["duplicate_checks"] == 0
        and counted["duplicate_comments"] == 0
        and counted["duplicate_annotations"] == 0
    )
    print("PASS" if exact else "FAIL: a count that must be exact is wrong")
    return exact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pulls", type=int, default=200)
    parser.add_argument("--heads", type=int, default=300, help="heads in all (at least one per pull)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--modes", default="sqlite,redis")
    parser.add_argument("--fault-share", type=float, default=0.2)
    parser.add_argument("--kill-every", type=float, default=5.0, help="seconds between kills, on average")
    parser.add_argument("--chaos-seconds", type=float, default=120.0, help="no kill after this")
    parser.add_argument("--wait", type=float, default=1800.0, help="give up after this many seconds")
    parser.add_argument(
        "--stall",
        type=float,
        default=420.0,
        help="once the kills are over, give up when no check run was created or completed for this long",
    )
    parser.add_argument("--lease-seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    chaos = Chaos(args.fault_share, args.kill_every, args.chaos_seconds, args.wait, args.stall, args.seed)
    results = []
    with tempfile.TemporaryDirectory(prefix="chaos-") as folder:
        for mode in args.modes.split(","):
            results.append(run_mode(mode, args, chaos, Path(folder)))
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
