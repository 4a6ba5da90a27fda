"""``faultline check``: its options, and the run from a change to a report."""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from faultline.analyzers.core.config import CONFIG_PATH, Config, ConfigError
from faultline.analyzers.core.findings import Severity
from faultline.app.cli import outputs
from faultline.app.cli.color import COLOR_CHOICES, use_color
from faultline.app.cli.common import EXIT_CODES_HELP, EXIT_FINDINGS, EXIT_OK, UsageError, debug_flag
from faultline.app.cli.config_files import LoadedConfig, load_config, relabel

if TYPE_CHECKING:
    from faultline.analyzers.core.engine import Report
    from faultline.app.cli.workspace import Workspace

FORMAT_CHOICES = ("text", "json", "sarif", "github")
FAIL_ON_CHOICES = ("error", "warning", "notice", "never")

CHECK_DESCRIPTION = """\
Report risks in a change. By default: the work tree (uncommitted and untracked
files) against HEAD. With --base REV: the commits since the merge base of REV
and HEAD, as a pull request of HEAD into REV shows them (what the App says).

Text output names files relative to the current folder; json, sarif and github
name them relative to the repository root."""

CHECK_EPILOG = f"""\
examples:
  faultline check                           the work tree against HEAD
  faultline check --base origin/main        what a pull request into main shows
  faultline check --all src/                whole files, like a linter
  git diff main... | faultline check --diff -
  faultline check --select FL01,broad-except --ignore FL012
  faultline check --statistics              how many findings each rule made
  faultline check --format sarif -o faultline.sarif

rules (--select, --ignore):
  A rule's code (FL001), slug (broad-except) or a code prefix (FL01: FL010 to
  FL019), comma-separated or repeated. --select replaces the config file's
  choice of rules (enable, disable and rules.<rule>.enabled); --ignore then
  leaves rules out of it. A rule's other settings stay the config's.
  A parse error (FL000) is no rule: it is reported in any file a rule that
  runs reads.

config:
  {CONFIG_PATH} (or .yaml), else [tool.faultline] in pyproject.toml at
  the repository root: see 'faultline config'.

colour (text):
  --color always|never wins; with auto, NO_COLOR (non-empty) turns colour off,
  then FORCE_COLOR (non-empty) on, then TERM=dumb off; else colour when stdout
  is a terminal. A report written with --output is not coloured.

{EXIT_CODES_HELP}"""


def add_check_parser(commands: Any) -> None:
    check = commands.add_parser(
        "check",
        help="report risks in a change (default: uncommitted changes vs HEAD)",
        description=CHECK_DESCRIPTION,
        epilog=CHECK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("paths", nargs="*", metavar="PATH", help="limit the check to these files or folders")
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
    check.add_argument(
        "--format",
        choices=FORMAT_CHOICES,
        default="text",
        help="text (default), json, sarif (code scanning) or github (Actions annotations)",
    )
    add_config_options(check)
    check.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    check.add_argument(
        "--statistics",
        action="store_true",
        help="instead of the findings, how many each rule made (text or json)",
    )
    check.add_argument(
        "--quiet", "-q", action="store_true", help="the findings only: no summary line, no notes"
    )
    outputs.add_arguments(check)
    check.add_argument(
        "--color", choices=COLOR_CHOICES, default="auto", help="colour the text report (default: auto)"
    )
    check.add_argument("--fix", action="store_true", help="apply the safe fixes first, then report the rest")
    check.add_argument("--unsafe-fixes", action="store_true", help="with --fix: apply the unsafe fixes too")
    debug_flag(check)
    check.set_defaults(handler=_check)


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """The options that change the configuration: ``check``'s and ``config``'s."""
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"the config file: YAML, or a TOML file's [tool.faultline] table "
        f"(default: {CONFIG_PATH}, else pyproject.toml, at the repository root)",
    )
    parser.add_argument(
        "--fail-on",
        choices=FAIL_ON_CHOICES,
        help="lowest severity that makes the exit code 1 (default: the config's, else error)",
    )
    parser.add_argument(
        "--select",
        action="append",
        metavar="RULES",
        help="run only these rules: codes, slugs or code prefixes, comma-separated (repeatable)",
    )
    parser.add_argument(
        "--ignore",
        action="append",
        metavar="RULES",
        help="do not run these rules: codes, slugs or code prefixes, comma-separated (repeatable)",
    )


def effective_config(args: argparse.Namespace, root: Path) -> tuple[LoadedConfig, Config]:
    """The config file as loaded, and the config a run uses: the file's with the command line's
    choice of rules and --fail-on laid over it, checked against the rules (errors name the file)."""
    from faultline.analyzers.core.engine import activate
    from faultline.analyzers.core.registry import all_rules
    from faultline.app.cli.selection import apply_selection, parse_selection

    loaded = load_config(root, args.config)
    config = apply_selection(loaded.config, parse_selection(args.select, args.ignore, all_rules()))
    if args.fail_on is not None:
        config = dataclasses.replace(config, fail_on=args.fail_on)
    try:
        activate(config, all_rules())
    except ConfigError as err:
        raise relabel(err, loaded.source) from None
    return loaded, config


def _check(args: argparse.Namespace) -> int:
    from faultline.analyzers.core.engine import Engine
    from faultline.app.cli.workspace import find_root

    if args.statistics and args.format not in ("text", "json"):
        raise UsageError("--statistics goes with --format text or json")
    root, in_git = find_root(Path.cwd())
    paths = [relative_path(root, path) for path in args.paths]
    loaded, config = effective_config(args, root)
    for note in () if args.quiet else loaded.notes:
        print(f"faultline: {note}", file=sys.stderr)
    engine = Engine(config)
    if args.fix or args.unsafe_fixes:
        from faultline.app.cli.fix import fix_before_check

        fix_before_check(args, root, in_git, paths, engine)
    workspace = _workspace(args, root, in_git, paths)
    # Parse trees hold no reference cycles; collecting them over and over
    # costs about a tenth of a large run.
    gc.set_threshold(100_000, 50, 100)
    report = engine.run(workspace.changes, workspace.repo)
    report.skipped[:0] = workspace.skipped
    fail_level = config.fail_level()
    _emit(args, _render(args, report, workspace, fail_level))
    outputs.write(args, report, workspace, fail_level)
    for skipped in workspace.skipped if args.format in ("sarif", "github") and not args.quiet else ():
        from faultline.app.render.text import shown

        # text and JSON list skipped files; these formats have no place for them.
        print(f"faultline: skipped {shown(skipped.path)}: {skipped.reason}", file=sys.stderr)
    for problem in report.rule_errors:
        print(f"faultline: {problem}", file=sys.stderr)
    return EXIT_FINDINGS if report.failing(fail_level) else EXIT_OK


def _workspace(args: argparse.Namespace, root: Path, in_git: bool, paths: list[str]) -> Workspace:
    from faultline.app.cli import precommit
    from faultline.app.cli.git import GIT_MISSING, git_installed
    from faultline.app.cli.workspace import committed, from_diff, uncommitted, whole_files

    if args.work_tree and (args.all or args.diff):
        raise UsageError("--work-tree goes with --base or alone, not with --all or --diff")
    if args.all:
        return whole_files(root, in_git, paths)
    if args.diff:
        return from_diff(root, _read_diff(args.diff), paths)
    if not in_git:
        where = "not inside a git repository" if git_installed() else GIT_MISSING
        raise UsageError(f"{where}: use --all to check files, or --diff")
    if args.base is None and (asked := precommit.workspace(root, paths)) is not None:
        return asked  # run by pre-commit on pushed commits, or on all files
    if args.base is not None and not args.work_tree:
        return committed(root, args.base, paths)
    return uncommitted(root, args.base, paths)


def relative_path(root: Path, path: str) -> str:
    absolute = Path(path).resolve()
    if not absolute.exists():
        raise UsageError(f"no such file or folder: {path}")
    try:
        relative = absolute.relative_to(root)
    except ValueError:
        raise UsageError(f"{path} is outside {root}") from None
    return relative.as_posix() if relative.parts else "."


def _read_diff(source: str) -> str:
    data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    return data.decode("utf-8", errors="surrogateescape")


def _render(
    args: argparse.Namespace, report: Report, workspace: Workspace, fail_level: Severity | None
) -> str:
    import importlib

    from faultline.analyzers.core.registry import all_rules
    from faultline.analyzers.core.source import split_lines
    from faultline.app.render import FORMATS, Rendering

    color = use_color(args.color, to_file=args.output is not None, stdout=sys.stdout, environ=os.environ)
    rendering = Rendering(
        report,
        all_rules(),
        root=workspace.root,
        color=color,
        fail_level=fail_level,
        cwd=Path.cwd(),
        quiet=args.quiet,
    )
    if args.statistics:
        from faultline.app.render import statistics

        by_rule = statistics.render_json if args.format == "json" else statistics.render_text
        return by_rule(rendering)
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
