"""``faultline fix`` and ``faultline check --fix``: apply the suggestions that are safe.

It looks at what ``check`` looks at (the work tree against HEAD, ``--base REV``, ``--all``,
paths), always on the work tree, since that is what it writes: ``--base REV`` is check's
``--base REV --work-tree``. A suggestion is applied when its rule marked it safe (the
rules' "Fix safety" sections say which); ``--unsafe-fixes`` applies the others too. A
file that cannot be fixed as it stands (changed since it was read, not UTF-8, read-only,
outside the repository) gets one line on stderr and is left alone. ``--diff`` prints what
would change as a unified diff and writes nothing.

Exit codes, as ``check``'s: 0 when no finding at or above the fail level is left, 1 when
one is (with ``--diff``: 1 when there are changes to apply, as ruff's ``--diff``), 2 for a
usage or config error, 3 when Faultline itself fails.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import stat
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from faultline.analyzers.core.engine import Engine
from faultline.analyzers.core.findings import Finding, Severity
from faultline.analyzers.core.fixes import FileFix, fix_file, fixable
from faultline.analyzers.core.repo import RepoView
from faultline.app.cli.workspace import UsageError, Workspace, find_root, uncommitted, whole_files

CHANGED_ON_DISK = "changed since it was checked: left alone"
OUTSIDE = "outside the repository: left alone"
NOT_A_FILE = "not a regular file (a link or a folder): left alone"
READ_ONLY = "read-only: left alone"
CANNOT_WRITE = "cannot be written ({reason}): left alone"
FIXED = "Fixed {fixed} in {files}"
WOULD_FIX = "Would fix {fixed} in {files}"
NOTHING = "No safe fix to apply"
LEFT = " ({left} left: not safe to fix; --unsafe-fixes applies them)"
FIX_NEEDS_WORK_TREE = "--fix writes the work tree: it goes with --all, --base with --work-tree, or neither"
UNSAFE_WITHOUT_FIX = "--unsafe-fixes goes with --fix"
NOT_IN_GIT = "not inside a git repository: use --all to fix files"


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    fix = commands.add_parser(
        "fix",
        help="apply the suggestions that are safe (default: to uncommitted changes vs HEAD)",
        description="Apply the suggested fixes that are safe to what `check` would report: the work "
        "tree against HEAD, --base REV (the work tree against the merge base of REV and HEAD), --all "
        "(whole files). Other findings are left alone.",
    )
    fix.add_argument("paths", nargs="*", help="limit the fixes to these files or folders")
    mode = fix.add_mutually_exclusive_group()
    mode.add_argument(
        "--base", metavar="REV", help="fix the work tree's changes since the merge base with REV"
    )
    mode.add_argument("--all", action="store_true", help="fix whole files, like a linter (no diff)")
    fix.add_argument(
        "--diff", action="store_true", help="print the fixes as a unified diff and write nothing"
    )
    fix.add_argument(
        "--unsafe-fixes", action="store_true", help="apply the suggestions that change behaviour too"
    )
    fix.add_argument(
        "--fail-on",
        choices=("error", "warning", "notice", "never"),
        help="lowest severity left unfixed that makes the exit code 1 (default: the config's, else error)",
    )
    fix.add_argument("--config", metavar="FILE", help="config file (default: the one at the repository root)")
    fix.set_defaults(handler=run)
    return fix


@dataclass
class Outcome:
    """What a fix run did: the files it fixed (or would), the lines to say about
    files left alone, and every finding still there."""

    unsafe: bool = False
    files: list[FileFix] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Rules that raised on a file (check says so too): they fixed nothing there.
    rule_errors: list[str] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)

    @property
    def changed(self) -> list[FileFix]:
        return [result for result in self.files if result.changed]

    @property
    def fixed(self) -> int:
        return sum(result.fixed for result in self.changed)

    def summary(self, *, wrote: bool) -> str:
        # A file left alone for another reason has its own line: these are left for safety.
        left = sum(
            1 for finding in self.remaining if finding.suggestion and not fixable(finding, self.unsafe)
        )
        tail = LEFT.format(left=left) if left else ""
        if not self.changed:
            return NOTHING + tail
        template = FIXED if wrote else WOULD_FIX
        files = _count(len(self.changed), "file")
        return template.format(fixed=_count(self.fixed, "finding"), files=files) + tail

    def failing(self, level: Severity | None) -> bool:
        return level is not None and any(finding.severity >= level for finding in self.remaining)


def run(args: argparse.Namespace) -> int:
    from faultline.app.cli import main as cli

    root, in_git = find_root(Path.cwd())
    try:
        paths = [cli._relative(root, path) for path in args.paths]
        config = cli._load_config(root, args.config)
        engine = Engine(config)
        workspace = work_tree(root, in_git, args.base, args.all, paths)
    except UsageError as err:
        print(f"faultline: {err}", file=sys.stderr)
        return cli.EXIT_USAGE
    outcome = fix_workspace(workspace, engine, unsafe=args.unsafe_fixes, write=not args.diff)
    if args.diff:
        _write_out("".join(unified_diff(result) for result in outcome.changed))
    for problem in [*outcome.problems, *outcome.rule_errors]:
        print(f"faultline: {problem}", file=sys.stderr)
    print(outcome.summary(wrote=not args.diff), file=sys.stderr if args.diff else sys.stdout)
    if args.diff:
        return cli.EXIT_FINDINGS if outcome.changed else cli.EXIT_OK
    failing = outcome.failing(cli._fail_level(args.fail_on, config))
    return cli.EXIT_FINDINGS if failing else cli.EXIT_OK


def fix_before_check(
    args: argparse.Namespace, root: Path, in_git: bool, paths: list[str], engine: Engine
) -> None:
    """``check --fix``: fix first (saying what on stderr); the check then reports what is left.
    Without ``--fix`` nothing happens (``--unsafe-fixes`` alone is a usage error)."""
    if args.unsafe_fixes and not args.fix:
        raise UsageError(UNSAFE_WITHOUT_FIX)
    if not args.fix:
        return
    if args.diff or (args.base is not None and not args.work_tree):
        raise UsageError(FIX_NEEDS_WORK_TREE)
    workspace = work_tree(root, in_git, args.base, args.all, paths)
    outcome = fix_workspace(workspace, engine, unsafe=args.unsafe_fixes, write=True)
    for problem in outcome.problems:
        print(f"faultline: {problem}", file=sys.stderr)
    print(f"faultline: {outcome.summary(wrote=True)}", file=sys.stderr)


def work_tree(root: Path, in_git: bool, base: str | None, all_files: bool, paths: list[str]) -> Workspace:
    if all_files:
        return whole_files(root, in_git, paths)
    if not in_git:
        raise UsageError(NOT_IN_GIT)
    return uncommitted(root, base, paths)


def fix_workspace(workspace: Workspace, engine: Engine, *, unsafe: bool, write: bool) -> Outcome:
    """Check the workspace, then fix each file that has a fixable finding."""
    seen = _Recording(workspace.repo)
    report = engine.run(workspace.changes, seen)
    outcome = Outcome(unsafe)
    outcome.rule_errors = [str(problem) for problem in report.rule_errors]
    by_path: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        by_path[finding.path].append(finding)
    for path, findings in by_path.items():
        if not any(fixable(finding, unsafe) for finding in findings):
            outcome.remaining.extend(findings)
            continue
        result, problem = _fix_one(workspace, engine, seen, path, findings, unsafe=unsafe, write=write)
        if problem:
            outcome.problems.append(f"{path}: {problem}")
        if result is None:  # left alone: nothing was fixed
            outcome.remaining.extend(findings)
        else:
            outcome.files.append(result)
            outcome.remaining.extend(result.remaining)
    outcome.remaining.sort(key=lambda finding: finding.sort_key)
    return outcome


def _fix_one(
    workspace: Workspace,
    engine: Engine,
    seen: _Recording,
    path: str,
    findings: list[Finding],
    *,
    unsafe: bool,
    write: bool,
) -> tuple[FileFix | None, str]:
    """The fixed file (written unless ``write`` is False), or None when it was left
    alone; and the line to say when it was left alone or fixed only in part."""
    target = workspace.root / path
    problem = _unfit(workspace.root, target, write=write)
    if problem:
        return None, problem
    data = target.read_bytes()
    if _digest(data) != seen.digests.get(path):
        return None, CHANGED_ON_DISK
    result = fix_file(engine, path, data, findings, changes=workspace.changes, repo=seen, unsafe=unsafe)
    if not write or not result.changed:
        return result, result.problem
    if target.read_bytes() != data:  # changed while the fixes were worked out
        return None, CHANGED_ON_DISK
    try:
        with target.open("r+b") as out:  # in place: the file keeps its mode, owner and links
            out.write(result.data)
            out.truncate()
    except OSError as err:
        return None, CANNOT_WRITE.format(reason=err.strerror or err)
    return result, result.problem


def _unfit(root: Path, target: Path, *, write: bool) -> str:
    """Why a file must be left alone before it is even read, or ""."""
    try:
        target.resolve().relative_to(root.resolve())
    except ValueError:
        return OUTSIDE
    if target.is_symlink() or not target.is_file():
        return NOT_A_FILE
    # By the file's mode, not os.access: a user who may write anything (root) still
    # means a file without write permission to stay as it is.
    if write and not target.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        return READ_ONLY
    return ""


def unified_diff(result: FileFix) -> str:
    """The change as ``git diff`` shows it (``a/`` and ``b/`` paths), endings kept."""
    old = result.original.decode("utf-8", errors="surrogateescape").splitlines(keepends=True)
    new = result.data.decode("utf-8", errors="surrogateescape").splitlines(keepends=True)
    lines = difflib.unified_diff(old, new, f"a/{result.path}", f"b/{result.path}")
    return "".join(
        line if line.endswith(("\n", "\r")) else f"{line}\n\\ No newline at end of file\n" for line in lines
    )


def _write_out(text: str) -> None:
    data = text.encode("utf-8", errors="surrogateescape")
    out = getattr(sys.stdout, "buffer", None)
    if out is None:
        sys.stdout.write(text.encode("utf-8", errors="replace").decode("utf-8"))
        return
    sys.stdout.flush()
    out.write(data)
    out.flush()


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Recording:
    """A RepoView that remembers a digest of each new-side file the engine read: the
    suggestions fit those bytes, and a file whose bytes have changed since is left alone."""

    def __init__(self, repo: RepoView) -> None:
        self.repo = repo
        self.digests: dict[str, str] = {}

    def read_new(self, path: str) -> bytes | None:
        data = self.repo.read_new(path)
        if data is not None:
            self.digests[path] = _digest(data)
        return data

    def read_base(self, path: str) -> bytes | None:
        return self.repo.read_base(path)

    def list_new(self, folder: str) -> list[str]:
        return self.repo.list_new(folder)
