"""``faultline check``: its options, and the run from a change to a report."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from faultline.analyzers.core.config import (
    CONFIG_PATH,
    CONFIG_PATHS,
    MISPLACED_PATHS,
    Config,
    ConfigError,
    choose_config,
    parse_config,
)
from faultline.analyzers.core.findings import Severity
from faultline.app.cli.common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, debug_flag

if TYPE_CHECKING:
    from faultline.analyzers.core.engine import Report
    from faultline.app.cli.workspace import Workspace


def add_check_parser(commands: Any) -> None:
    check = commands.add_parser(
        "check",
        help="report risks in a change (default: uncommitted changes vs HEAD)",
        description="Report risks in a change. Default: the work tree (uncommitted and untracked "
        "files) against HEAD. --base REV: the commits since the merge base of REV and HEAD, "
        "as a pull request of HEAD into REV shows them (what the App would say).",
    )
    check.add_argument("paths", nargs="*", help="limit the check to these files or folders")
    mode = check.add_mutually_exclusive_group()
    mode.add_argument(
        "--base",
        metavar="REV",
        help="check the commits since the merge base of REV and HEAD, like a pull request into REV",
    )
    mode.add_argument("--all", action="store_true", help="check whole files, like a linter (no diff)")
    mode.add_argument("--diff", metavar="FILE", help="check the changes in a unified diff ('-' for stdin)")
    check.add_argument(
        "--work-tree",
        action="store_true",
        help="with --base: compare the work tree, uncommitted and untracked files included",
    )
    check.add_argument("--format", choices=("text", "json", "sarif", "github"), default="text")
    check.add_argument(
        "--fail-on",
        choices=("error", "warning", "notice", "never"),
        help="lowest severity that makes the exit code 1 (default: the config's, else error)",
    )
    check.add_argument(
        "--config", metavar="FILE", help=f"config file (default: {CONFIG_PATH} at the repository root)"
    )
    check.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    check.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    debug_flag(check)
    check.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    from faultline.analyzers.core.engine import Engine
    from faultline.app.cli.workspace import UsageError, find_root

    root, in_git = find_root(Path.cwd())
    try:
        paths = [_relative(root, path) for path in args.paths]
        config = _load_config(root, args.config)
        engine = Engine(config)
        workspace = _workspace(args, root, in_git, paths)
    except UsageError as err:
        print(f"faultline: {err}", file=sys.stderr)
        return EXIT_USAGE
    # Parse trees hold no reference cycles; collecting them over and over
    # costs about a tenth of a large run.
    gc.set_threshold(100_000, 50, 100)
    report = engine.run(workspace.changes, workspace.repo)
    report.skipped[:0] = workspace.skipped
    fail_level = _fail_level(args.fail_on, config)
    _emit(args, _render(args, report, workspace, fail_level))
    for skipped in workspace.skipped if args.format in ("sarif", "github") else ():
        from faultline.app.render.text import shown

        # text and JSON list skipped files; these formats have no place for them.
        print(f"faultline: skipped {shown(skipped.path)}: {skipped.reason}", file=sys.stderr)
    for problem in report.rule_errors:
        print(f"faultline: {problem}", file=sys.stderr)
    return EXIT_FINDINGS if report.failing(fail_level) else EXIT_OK


def _workspace(args: argparse.Namespace, root: Path, in_git: bool, paths: list[str]) -> Workspace:
    from faultline.app.cli.workspace import UsageError, committed, from_diff, uncommitted, whole_files

    if args.work_tree and (args.all or args.diff):
        raise UsageError("--work-tree goes with --base or alone, not with --all or --diff")
    if args.all:
        return whole_files(root, in_git, paths)
    if args.diff:
        return from_diff(root, _read_diff(args.diff), paths)
    if not in_git:
        raise UsageError("not inside a git repository: use --all to check files, or --diff")
    if args.base is not None and not args.work_tree:
        return committed(root, args.base, paths)
    return uncommitted(root, args.base, paths)


def _relative(root: Path, path: str) -> str:
    from faultline.app.cli.workspace import UsageError

    absolute = Path(path).resolve()
    if not absolute.exists():
        raise UsageError(f"no such file or folder: {path}")
    try:
        relative = absolute.relative_to(root)
    except ValueError:
        raise UsageError(f"{path} is outside {root}") from None
    return relative.as_posix() if relative.parts else "."


def _load_config(root: Path, explicit: str | None) -> Config:
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"{explicit}: no such config file")
        return parse_config(path.read_bytes(), source=explicit)
    choice = choose_config(path for path in (*CONFIG_PATHS, *MISPLACED_PATHS) if (root / path).is_file())
    for note in choice.notes:
        print(f"faultline: {note}", file=sys.stderr)
    if choice.path is None:
        return Config()
    return parse_config((root / choice.path).read_bytes(), source=choice.path)


def _read_diff(source: str) -> str:
    data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    return data.decode("utf-8", errors="surrogateescape")


def _fail_level(flag: str | None, config: Config) -> Severity | None:
    if flag is None:
        return config.fail_level()
    return None if flag == "never" else Severity.parse(flag)


def _render(
    args: argparse.Namespace, report: Report, workspace: Workspace, fail_level: Severity | None
) -> str:
    import importlib

    from faultline.analyzers.core.registry import all_rules
    from faultline.analyzers.core.source import split_lines
    from faultline.app.render import FORMATS, Rendering

    color = args.color == "always" or (
        args.color == "auto" and args.output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    )
    rendering = Rendering(report, all_rules(), root=workspace.root, color=color, fail_level=fail_level)
    if args.format == "text":
        # The flagged lines as the engine read them: with --base, from the commit, not the work tree.
        for path in {finding.path for finding in report.findings}:
            data = workspace.repo.read_new(path)
            if data is not None:
                rendering.lines[path] = split_lines(data.decode("utf-8", errors="replace"))
    module = importlib.import_module(f"faultline.app.render.{FORMATS[args.format]}")
    text: str = module.render(rendering)
    return text


def _emit(args: argparse.Namespace, text: str) -> None:
    # A path that is not UTF-8 is held with surrogate escapes: written back as its own bytes.
    data = text.encode("utf-8", errors="surrogateescape")
    out = getattr(sys.stdout, "buffer", None)
    if args.output:
        Path(args.output).write_bytes(data)
    elif out is None:  # a text-only stream: no bytes to give back
        sys.stdout.write(text.encode("utf-8", errors="replace").decode("utf-8"))
    else:
        sys.stdout.flush()
        out.write(data)
        out.flush()
