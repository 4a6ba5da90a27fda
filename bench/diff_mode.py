"""Speed of ``faultline check`` on a pull-request-sized change: start-up included.

Makes a git repository in a temp folder from one project's files, commits them,
appends risky code to N files (a broad ``except`` that swallows, a hard-coded
pool size, a delete-orphan cascade) and times the whole ``faultline check``
process, wall clock, in each diff mode: uncommitted changes (the default), ``--base``
and ``--diff``. Then ``-X importtime`` shows which imports the start-up pays for.
Exit code 1 when the median of a mode misses the target.

    python bench/diff_mode.py [--project prefect] [--files 20] [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from analyze import FAULTLINE, require_this_checkout, tool_env

TARGET_SECONDS = 0.5
CHECK_ARGS = ("check", "--format", "json", "--fail-on", "never")
SKIP_PARTS = {"tests", "test", "testing", "docs", "examples", "migrations", "__pycache__"}
IMPORT_LINES = 15
COMMITTER = ("-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "-c", "commit.gpgsign=false")

# Appended to each changed file; {n} keeps the statements of different files apart.
RISKY = """

from sqlalchemy import create_engine as _bench_create_engine
from sqlalchemy.orm import relationship as _bench_relationship


class _BenchParent{n}:
    children = _bench_relationship("Child", cascade="all, delete-orphan")


def _bench_sync_{n}(session):
    engine = _bench_create_engine("postgresql://db/app", pool_size=50, max_overflow=20)
    try:
        session.execute("DELETE FROM jobs WHERE id = {n}")
    except Exception:
        pass
    return engine
"""


@dataclass(frozen=True)
class Timing:
    label: str
    seconds: list[float]
    detail: str

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", *COMMITTER, *args], cwd=repo, capture_output=True, text=True, check=True)
    return proc.stdout


def make_repo(source: Path, repo: Path, count: int) -> list[str]:
    """Copy ``source`` into a fresh repository, commit, then change ``count`` files."""
    shutil.copytree(source, repo, ignore=shutil.ignore_patterns("__pycache__", ".git"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    candidates = sorted(
        path.relative_to(repo).as_posix()
        for path in repo.rglob("*.py")
        if not SKIP_PARTS & set(path.relative_to(repo).parts) and path.stat().st_size > 0
    )
    if len(candidates) < count:
        raise SystemExit(f"{source} has only {len(candidates)} production .py files, {count} wanted")
    step = len(candidates) / count
    chosen = [candidates[int(i * step)] for i in range(count)]
    for n, path in enumerate(chosen):
        target = repo / path
        text = target.read_text(encoding="utf-8")
        target.write_text(text + ("" if text.endswith("\n") else "\n") + RISKY.format(n=n), encoding="utf-8")
    return chosen


def time_command(label: str, command: Sequence[str], repo: Path, runs: int) -> Timing:
    """One warm-up run (writes the .pyc files), then ``runs`` timed ones."""
    env = tool_env()
    subprocess.run(command, cwd=repo, env=env, capture_output=True, check=False)
    seconds = []
    out = b""
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(command, cwd=repo, env=env, capture_output=True, check=False)
        seconds.append(time.perf_counter() - start)
        out = proc.stdout
    return Timing(label, seconds, _summary(out))


def _summary(out: bytes) -> str:
    try:
        summary = json.loads(out)["summary"]
    except (json.JSONDecodeError, KeyError, TypeError):
        return ""
    return f"{summary['files_checked']} files checked, {summary['findings']} findings"


def import_times(repo: Path) -> list[tuple[int, int, int, str]]:
    """(self us, cumulative us, depth, module) from ``-X importtime`` of a check."""
    command = [sys.executable, "-X", "importtime", *FAULTLINE[1:], *CHECK_ARGS]
    proc = subprocess.run(command, cwd=repo, env=tool_env(), capture_output=True, text=True, check=False)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|", 2)
        depth = (len(name) - len(name.lstrip())) // 2
        rows.append((int(own), int(cumulative), depth, name.strip()))
    return rows


def print_imports(rows: Sequence[tuple[int, int, int, str]]) -> None:
    total = sum(own for own, _, _, _ in rows)
    print(f"\nimports during a check: {len(rows)} modules, {total / 1e6:.3f} s in all")
    by_package: defaultdict[str, int] = defaultdict(int)
    for own, _, _, name in rows:
        by_package[name.split(".")[0]] += own
    print("by top-level package (own time):")
    for name, own in sorted(by_package.items(), key=lambda item: -item[1])[:IMPORT_LINES]:
        print(f"  {own / 1000:8.1f} ms  {name}")
    print("slowest imports (cumulative: with what they import):")
    for _, cumulative, depth, name in sorted(rows, key=lambda row: -row[1])[:IMPORT_LINES]:
        print(f"  {cumulative / 1000:8.1f} ms  {'  ' * (depth - 1)}{name}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--project", default="prefect")
    parser.add_argument("--files", type=int, default=20, help="files to change (default 20)")
    parser.add_argument("--runs", type=int, default=10, help="timed runs per mode (default 10)")
    args = parser.parse_args(argv)
    require_this_checkout()
    from projects import project_root

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="faultline-diff-") as folder:
        repo = Path(folder) / "repo"
        changed = make_repo(project_root(args.project), repo, args.files)
        print(
            f"{args.project}: {len(changed)} of its files changed, in a git repository of "
            f"{len(git(repo, 'ls-files').splitlines())} files"
        )
        timings = run_modes(repo, args.runs)
        rows = import_times(repo)
    print(f"\nwall seconds over {args.runs} runs (whole process, start-up included):")
    for timing in timings:
        print(
            f"  {timing.label:<34} best {timing.best:.3f}  median {timing.median:.3f}  "
            f"max {max(timing.seconds):.3f}  {timing.detail}"
        )
    print_imports(rows)
    failed = False
    print()
    for timing in timings:
        if timing.label.startswith("faultline"):
            ok = timing.median < TARGET_SECONDS
            failed |= not ok
            print(
                f"{'PASS' if ok else 'FAIL'}  {timing.label}: median {timing.median:.3f} s "
                f"(target < {TARGET_SECONDS} s)"
            )
    return 1 if failed else 0


def run_modes(repo: Path, runs: int) -> list[Timing]:
    python = sys.executable
    check = [*FAULTLINE, *CHECK_ARGS]
    timings = [
        time_command("python -c pass (interpreter floor)", [python, "-P", "-c", "pass"], repo, runs),
        time_command(
            "import faultline.app.cli.main", [python, "-P", "-c", "import faultline.app.cli.main"], repo, runs
        ),
        time_command("faultline check (uncommitted)", check, repo, runs),
    ]
    git(repo, "commit", "-q", "-a", "-m", "change")
    timings.append(time_command("faultline check --base HEAD~1", [*check, "--base", "HEAD~1"], repo, runs))
    diff = repo.parent / "change.diff"
    diff.write_text(git(repo, "diff", "HEAD~1", "HEAD"), encoding="utf-8")
    timings.append(time_command("faultline check --diff FILE", [*check, "--diff", str(diff)], repo, runs))
    return timings


if __name__ == "__main__":
    sys.exit(main())
