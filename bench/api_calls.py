"""GitHub calls per run, for pull requests of 1, 20, 200, 1,000 and 3,000 files.

Serves the GitHub simulator (tests/github_sim) on loopback, opens one pull request per size
(Python files, one of them with a finding, so the run posts a review), runs the analysis
job (``run_job``) on each and counts what the simulator received: every request, token
minting included. Each size runs twice in the same process: with file contents read in
GraphQL batches (``github_read_batch``, 50 by default) and with the batch set to 0, one REST
read per file, as before batching. Also printed: the calls an installation's 5,000 an hour
allow of such runs, and the calls per endpoint of the largest run.

    python bench/api_calls.py [--sizes 1,20,200,1000,3000] [--batch 50]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from faultline.app.github.endpoints import endpoint  # noqa: E402
from faultline.app.review.job import run_job  # noqa: E402
from faultline.app.work.request import AnalysisRequest  # noqa: E402
from tests.app.sim_fixtures import FULL_NAME, OWNER, REPO, make_settings  # noqa: E402
from tests.app.test_jobs_e2e import AUTH  # noqa: E402 (a file with a finding: the run posts a review)
from tests.github_sim import GitHubSim, running_sim  # noqa: E402
from tests.github_sim.records import RequestRecord  # noqa: E402

PER_HOUR = 5000


def files_for(count: int) -> dict[str, str]:
    files = {
        f"pkg/mod_{n:04}.py": f"VALUE_{n} = {n}\n\n\ndef get_{n}():\n    return VALUE_{n}\n"
        for n in range(count)
    }
    files["pkg/mod_0000.py"] = AUTH
    return files


def one_run(
    sim: GitHubSim, base_url: str, data: Path, count: int, batch: int, number: int
) -> list[RequestRecord]:
    main = sim.commits[sim.repos[FULL_NAME.lower()].branches["main"]].sha
    head = sim.commit(FULL_NAME, files_for(count), parent=main)
    pull = sim.open_pull(FULL_NAME, head, user="alice")
    settings = make_settings(sim, base_url, data).model_copy(update={"github_read_batch": batch})
    request = AnalysisRequest(
        delivery_id=f"bench-{number}",
        trigger="pull_request.opened",
        installation_id=next(iter(sim.installations)),
        owner=OWNER,
        repo=REPO,
        pull_number=pull.number,
        head_sha=head,
    )
    before = len(sim.requests)
    run_job(settings, request)
    return sim.requests[before:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,20,200,1000,3000")
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    header = ("files", "batch", "calls", "graphql", "rest reads", "runs/hour", "seconds")
    print(" ".join(f"{name:>{width}}" for name, width in zip(header, (6, 5, 6, 7, 10, 9, 7), strict=True)))
    largest: list[RequestRecord] = []
    with tempfile.TemporaryDirectory() as tmp, running_sim() as (sim, base_url):
        sim.add_repo(FULL_NAME)
        sim.commit(FULL_NAME, {"README.md": "# shop\n"}, branch="main")
        sim.add_installation(OWNER)
        number = 0
        for count in sizes:
            for batch in (args.batch, 0):
                number += 1
                started = time.perf_counter()
                calls = one_run(sim, base_url, Path(tmp), count, batch, number)
                took = time.perf_counter() - started
                graphql = sum(1 for r in calls if r.path == "/graphql")
                reads = sum(1 for r in calls if "/contents/" in r.path)
                print(
                    f"{count:>6} {batch:>5} {len(calls):>6} {graphql:>7} {reads:>10} "
                    f"{PER_HOUR / len(calls):>9.1f} {took:>7.1f}"
                )
                if batch and count == max(sizes):
                    largest = calls
    print(f"\ncalls by endpoint, {max(sizes)} files, batch {args.batch}:")
    for label, seen in Counter(endpoint(r.method, r.path) for r in largest).most_common():
        print(f"{seen:>6}  {label}")


if __name__ == "__main__":
    main()
