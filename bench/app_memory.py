"""Peak memory of one App job: a pull request of big files against one of small files.

Serves the GitHub simulator (tests/github_sim) on loopback in this process, opens two
pull requests on it, and runs the analysis job (``run_job``) for each in a child
process of its own, so the figures are the job's alone: the simulator holds the
files in this process. Each child prints its peak RSS (``ru_maxrss``) after its
imports ("before") and after the job ("after"). The big files are Python text over
the engine's 2 MiB cap, listed without a patch, as GitHub lists a huge diff; the
job should skip them without reading them whole, so both peaks should be close.

    python bench/app_memory.py [--files 10] [--size-mb 50] [--small-kb 20]

Runs from any checkout that has ``tests/github_sim``: copy it into an older one to
compare (it only uses ``run_job`` and the simulator).
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.app.sim_fixtures import FULL_NAME, OWNER, REPO, make_settings  # noqa: E402
from tests.github_sim import running_sim  # noqa: E402

MIB = 1024 * 1024
# A risky statement at the top of each file, so a file that is read gives a finding.
HEAD = "try:\n    run()\nexcept Exception:\n    pass\n"
LINE = "VALUE = " + "1" * 990 + "\n"  # long lines: the simulator's own diff stays quick


@dataclass(frozen=True)
class Figures:
    label: str
    files: int
    bytes: int
    before_kib: int
    after_kib: int
    seconds: float
    conclusion: str


def python_file(size: int) -> str:
    return HEAD + LINE * max(0, (size - len(HEAD)) // len(LINE))


def job(settings_values: dict[str, object], request_values: dict[str, object], out: Connection) -> None:
    """In the child: import, measure, run the job, measure again."""
    from faultline.app.review.job import run_job
    from faultline.app.settings import Settings
    from faultline.app.work.request import AnalysisRequest

    settings = Settings(_env_file=None, **settings_values)  # type: ignore[call-arg]
    request = AnalysisRequest(**request_values)  # type: ignore[arg-type]
    before = peak_rss_kib()
    start = time.perf_counter()
    error = ""
    try:
        run_job(settings, request)
    except Exception as err:  # reported, not raised: the figures still count
        error = repr(err)
    seconds = time.perf_counter() - start
    out.send((before, peak_rss_kib(), seconds, error))


def peak_rss_kib() -> int:
    """This process image's peak resident set (VmHWM). Not ru_maxrss: across the exec
    that starts a spawned child, Linux carries over the forked parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(label: str, files: dict[str, str], data_dir: Path) -> Figures:
    with running_sim() as running:
        sim = running.sim
        sim.add_repo(FULL_NAME)
        main = sim.commit(FULL_NAME, {"README.md": "# shop\n"}, branch="main")
        installation = sim.add_installation(OWNER)
        head = sim.commit(FULL_NAME, files, parent=main)
        pull = sim.open_pull(FULL_NAME, head)
        pull.omit_patch.update(path for path, text in files.items() if len(text) > MIB)
        settings = make_settings(sim, running.base_url, data_dir)
        request = {
            "delivery_id": f"bench-{label}",
            "trigger": "pull_request.opened",
            "installation_id": installation.id,
            "owner": OWNER,
            "repo": REPO,
            "pull_number": pull.number,
            "head_sha": head,
        }
        context = multiprocessing.get_context("spawn")
        receive, send = context.Pipe(duplex=False)
        child = context.Process(target=job, args=(_plain(settings), request, send))
        child.start()
        before, after, seconds, error = receive.recv()
        child.join()
        if error:
            print(f"{label}: the job raised {error}", file=sys.stderr)
        runs = sim.check_runs(FULL_NAME, head)
        conclusion = str(runs[-1].conclusion) if runs else "none"
    size = sum(len(text) for text in files.values())
    return Figures(label, len(files), size, before, after, seconds, conclusion)


def _plain(settings: object) -> dict[str, object]:
    """The settings' values with the secrets written out, for the child to rebuild them."""
    from pydantic import SecretStr

    return {
        key: value.get_secret_value() if isinstance(value, SecretStr) else value
        for key, value in vars(settings).items()
    }


def report(rows: list[Figures]) -> None:
    heads = ("pull request", "files", "MB", "rss before", "rss after", "s")
    print("{:<14} {:>5} {:>8} {:>11} {:>10} {:>6}  check run".format(*heads))
    for row in rows:
        print(
            f"{row.label:<14} {row.files:>5} {row.bytes / 1e6:>8.1f} {row.before_kib / 1024:>8.0f} MB"
            f" {row.after_kib / 1024:>7.0f} MB {row.seconds:>6.1f}  {row.conclusion}"
        )
    small, big = rows
    print(f"peak RSS, big files / small files: {big.after_kib / small.after_kib:.2f}")
    print(
        f"growth during the job (after - before): small {(small.after_kib - small.before_kib) / 1024:.0f} MB,"
        f" big {(big.after_kib - big.before_kib) / 1024:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--size-mb", type=float, default=50.0)
    parser.add_argument("--small-kb", type=float, default=20.0)
    args = parser.parse_args()
    small = {f"app/small_{n}.py": python_file(int(args.small_kb * 1024)) for n in range(args.files)}
    big = {f"app/big_{n}.py": python_file(int(args.size_mb * 1e6)) for n in range(args.files)}
    with tempfile.TemporaryDirectory() as tmp:
        rows = [
            measure("small files", small, Path(tmp) / "small"),
            measure("big files", big, Path(tmp) / "big"),
        ]
    report(rows)


if __name__ == "__main__":
    main()
