"""Replay merged pull requests: what would Faultline have said on each?

Each first-parent commit of a repository's main branch is one squash-merged pull
request. For the newest N of them this checks the commit out in a scratch work
tree and runs what ``faultline check --base <commit>^`` runs, then prints every
finding with the commit it came from, and a count per rule, so a person can read
them and judge which a reviewer would have welcomed.

    python bench/replay.py /path/to/repo.git --count 150 [--branch main] [--json out.jsonl]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from faultline.analyzers.core.config import Config
from faultline.analyzers.core.engine import Engine
from faultline.analyzers.core.findings import Finding
from faultline.app.cli.workspace import committed


def _git(git_dir: Path, *args: str, cwd: Path | None = None) -> str:
    command = ["git", f"--git-dir={git_dir}", *args] if cwd is None else ["git", *args]
    return subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True).stdout


def commits(git_dir: Path, branch: str, count: int) -> list[tuple[str, str]]:
    out = _git(git_dir, "log", "--first-parent", "--format=%H %s", f"-{count}", branch)
    return [(line[:40], line[41:]) for line in out.splitlines() if line]


def replay(git_dir: Path, branch: str, count: int) -> list[tuple[str, str, Finding]]:
    engine = Engine(Config())
    found: list[tuple[str, str, Finding]] = []
    with tempfile.TemporaryDirectory(prefix="faultline-replay-") as scratch:
        tree = Path(scratch) / "tree"
        history = commits(git_dir, branch, count)
        _git(git_dir, "worktree", "add", "-q", "--detach", str(tree), history[0][0])
        try:
            for sha, subject in history:
                subprocess.run(["git", "checkout", "-q", "--detach", "-f", sha], cwd=tree, check=True)
                try:
                    workspace = committed(tree, f"{sha}^", [])
                except Exception as err:  # faultline: ignore[broad-except] a root commit has no parent
                    print(f"{sha[:10]} skipped: {err}", file=sys.stderr)
                    continue
                report = engine.run(workspace.changes, workspace.repo)
                found.extend((sha, subject, finding) for finding in report.findings)
        finally:
            _git(git_dir, "worktree", "remove", "--force", str(tree))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("git_dir", type=Path, help="a repository's git directory (bare is fine)")
    parser.add_argument("--branch", default="HEAD")
    parser.add_argument("--count", type=int, default=150)
    parser.add_argument("--json", type=Path, help="also write one JSON object per finding here")
    args = parser.parse_args()
    started = time.perf_counter()
    found = replay(args.git_dir.resolve(), args.branch, args.count)
    for sha, subject, finding in found:
        print(
            f"{sha[:10]} {subject[:60]!r}\n    {finding.path}:{finding.line}: {finding.code} "
            f"[{finding.slug}] {finding.severity}: {finding.message}"
        )
    counts = Counter((finding.code, str(finding.severity)) for _, _, finding in found)
    print(f"\n{args.count} commits replayed in {time.perf_counter() - started:.1f} s")
    for (code, severity), number in sorted(counts.items()):
        print(f"  {code} {severity}: {number}")
    if args.json:
        with args.json.open("w") as out:
            for sha, subject, finding in found:
                out.write(
                    json.dumps(
                        {
                            "commit": sha,
                            "subject": subject,
                            "code": finding.code,
                            "severity": str(finding.severity),
                            "path": finding.path,
                            "line": finding.line,
                            "message": finding.message,
                        }
                    )
                    + "\n"
                )


if __name__ == "__main__":
    main()
