"""Replay merged pull requests: what would Faultline have said on each?

Each first-parent commit of a repository's main branch is one squash-merged pull
request. For the newest N of them this points a scratch work tree's HEAD at the commit
and runs what ``faultline check --base <commit>^`` runs, then prints every
finding with the commit it came from, and a count per rule, so a person can read
them and judge which a reviewer would have welcomed.

    python bench/replay.py /path/to/repo.git --count 150 [--branch main] [--json out.jsonl] [--syntax]
    python bench/replay.py /path/to/repo.git --count 500 --touching '*/versions/*.py'

``--syntax`` also lists the changed Python files that this interpreter's ``ast.parse``
rejects (newer syntax, or code no Python reads), and for each whether the engine's Python
parser reads it and whether some rule read it (asked for its tree, the rules run once more on
the file): a rule that reads a file the parser refuses reports it as FL000 and sees nothing of it. It
uses only what older checkouts have too, so the same script, run with an older tree first on
``PYTHONPATH`` (copied outside this checkout, which it would import otherwise), gives the
figures before a parser change.
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faultline.analyzers.core.changes import FileStatus
from faultline.analyzers.core.config import Config
from faultline.analyzers.core.context import Context
from faultline.analyzers.core.engine import ActiveRule, Engine
from faultline.analyzers.core.findings import Finding
from faultline.analyzers.core.source import SourceFile
from faultline.analyzers.languages import ParseError, python
from faultline.app.cli.workspace import Workspace, committed


@dataclass
class Rejected:
    """A changed Python file that ``ast.parse`` rejects."""

    commit: str
    path: str
    error: str  # what ``ast.parse`` said, with its line
    parser: str | None  # what the engine's parser said; None when it reads the file
    read: bool  # some rule asked for the file's tree


def _git(git_dir: Path, *args: str, cwd: Path | None = None) -> str:
    command = ["git", f"--git-dir={git_dir}", *args] if cwd is None else ["git", *args]
    return subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True).stdout


def commits(
    git_dir: Path, branch: str, count: int, touching: list[str] | None = None
) -> list[tuple[str, str]]:
    """The newest ``count`` first-parent commits; with ``touching``, only those that change
    a path the git pathspecs match (``*/versions/*.py``: the pull requests with a migration)."""
    pathspecs = ["--", *touching] if touching else []
    out = _git(git_dir, "log", "--first-parent", "--format=%H %s", f"-{count}", branch, *pathspecs)
    return [(line[:40], line[41:]) for line in out.splitlines() if line]


class _Watched(SourceFile):
    """A source file that notes whether a rule asked for its tree."""

    asked = False

    @property
    def tree(self) -> Any:
        self.asked = True
        return SourceFile.tree.__get__(self)  # parsed once, as the engine's is


def rejected(engine: Engine, workspace: Workspace, sha: str) -> list[Rejected]:
    """The changed Python files of ``workspace`` that ``ast.parse`` rejects, as the engine reads them."""
    out = []
    ctx = Context(workspace.repo, workspace.changes)
    for change in workspace.changes:
        rules = engine.rules_for(change)
        if not rules or change.status is FileStatus.BINARY or not python.LANGUAGE.owns(change.path):
            continue
        data = workspace.repo.read_new(change.path)
        if data is None:
            continue
        try:
            ast.parse(data)
            continue
        except SyntaxError as err:
            error = f"line {err.lineno}: {err.msg}"
        except ValueError:
            continue  # a null byte: not a question of syntax
        try:
            python.parse(python.decode(data), change.path)
            parser = None
        except ParseError as err:
            parser = f"line {err.line}: {err.message}"
        out.append(Rejected(sha, change.path, error, parser, _asked(rules, change.path, data, ctx)))
    return out


def _asked(rules: list[ActiveRule], path: str, data: bytes, ctx: Context) -> bool:
    """Whether a rule asks for the file's tree, the rules run again as ``Engine.run`` runs them:
    a rule with needles only on a file that holds one; the first that cannot parse it ends."""
    source = _Watched(path, data)
    for active in rules:
        needles = active.rule.needles
        if needles and not any(needle in data for needle in needles):
            continue
        try:
            list(active.rule.check(source, ctx))
        except Exception:  # faultline: ignore[broad-except] FL000 or a rule error: the engine reports it
            if not source.asked:
                continue
        if source.asked:
            return True
    return False


def replay(
    git_dir: Path,
    branch: str,
    count: int,
    syntax: list[Rejected] | None = None,
    touching: list[str] | None = None,
) -> list[tuple[str, str, Finding]]:
    """The findings of each commit; with ``syntax``, the files ``ast.parse`` rejects go there too."""
    engine = Engine(Config())
    found: list[tuple[str, str, Finding]] = []
    with tempfile.TemporaryDirectory(prefix="faultline-replay-") as scratch:
        tree = Path(scratch) / "tree"
        history = commits(git_dir, branch, count, touching)
        # ``check --base`` reads commits only: the scratch work tree is never checked out, so a
        # large tree costs nothing and a snapshot without its largest files replays too.
        _git(git_dir, "worktree", "add", "-q", "--no-checkout", "--detach", str(tree), history[0][0])
        try:
            for sha, subject in history:
                _git(git_dir, "update-ref", "--no-deref", "HEAD", sha, cwd=tree)
                try:
                    workspace = committed(tree, f"{sha}^", [])
                except Exception as err:  # faultline: ignore[broad-except] a root commit has no parent
                    print(f"{sha[:10]} skipped: {err}", file=sys.stderr)
                    continue
                report = engine.run(workspace.changes, workspace.repo)
                if syntax is not None:
                    syntax.extend(rejected(engine, workspace, sha))
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
    parser.add_argument("--syntax", action="store_true", help="also list the changed files ast.parse rejects")
    parser.add_argument(
        "--touching", action="append", metavar="PATHSPEC", help="only commits that change these paths"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    syntax: list[Rejected] | None = [] if args.syntax else None
    found = replay(args.git_dir.resolve(), args.branch, args.count, syntax, args.touching)
    for sha, subject, finding in found:
        print(
            f"{sha[:10]} {subject[:60]!r}\n    {finding.path}:{finding.line}: {finding.code} "
            f"[{finding.slug}] {finding.severity}: {finding.message}"
        )
    counts = Counter((finding.code, str(finding.severity)) for _, _, finding in found)
    print(f"\n{args.count} commits replayed in {time.perf_counter() - started:.1f} s")
    for (code, severity), number in sorted(counts.items()):
        print(f"  {code} {severity}: {number}")
    if syntax is not None:
        print_rejected(syntax)
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


def print_rejected(syntax: list[Rejected]) -> None:
    print(f"\nchanged Python files that ast.parse ({sys.version.split()[0]}) rejects:")
    for item in syntax:
        said = "parsed" if item.parser is None else f"refused, {item.parser}"
        print(f"  {item.commit[:10]} {item.path} ({item.error}): {said}{', read by a rule' * item.read}")
    parsed = [item for item in syntax if item.parser is None]
    read = [item for item in syntax if item.read]
    refused = [item for item in read if item.parser is not None]
    print(
        f"  {len(syntax)} files in {len({item.commit for item in syntax})} commits; the engine parses "
        f"{len(parsed)}; a rule read {len(read)}, of which {len(read) - len(refused)} parsed and "
        f"{len(refused)} reported as FL000"
    )


if __name__ == "__main__":
    main()
