"""``faultline``: check a change locally, fix it, list the rules, or serve the GitHub App.

Exit codes: 0 no finding at or above the fail level, 1 findings, 2 usage or
config error (one line on stderr, never a traceback), 3 Faultline itself failed
(a bug: one line on stderr; the traceback with --debug or FAULTLINE_DEBUG=1).
``fix`` and ``check --fix`` count the findings left after fixing; ``fix --diff``
exits 1 when it has changes to apply (``app/cli/fix.py``).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from faultline.analyzers.core.changes import DiffError
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
from faultline.app.cli import outputs
from faultline.app.cli.git import GitError

if TYPE_CHECKING:
    from faultline.analyzers.core.engine import Report
    from faultline.app.cli.workspace import Workspace

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_CRASH = 0, 1, 2, 3
DEBUG_ENV = "FAULTLINE_DEBUG"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        code: int = args.handler(args)
    except (ConfigError, DiffError, GitError) as err:
        print(f"faultline: {err}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as err:
        print(f"faultline: {err.filename or ''}: {err.strerror or err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # noqa: BLE001  # faultline: ignore[broad-except] a bug must not pass for findings
        return _crashed(err, debug=args.debug or os.environ.get(DEBUG_ENV, "") not in ("", "0"))
    return code


def _crashed(err: Exception, *, debug: bool) -> int:
    """Exit 3, not 1 (findings) nor 2 (usage): a bug in Faultline, said in one line."""
    if debug:
        import traceback

        traceback.print_exception(err, file=sys.stderr)
    where = "" if debug else f" (the traceback: --debug or {DEBUG_ENV}=1)"
    print(f"faultline: internal error: {type(err).__name__}: {err}{where}", file=sys.stderr)
    return EXIT_CRASH


def _parser() -> argparse.ArgumentParser:
    from faultline import __version__

    parser = argparse.ArgumentParser(prog="faultline", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"faultline {__version__}")
    _debug_flag(parser, default=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

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
    outputs.add_arguments(check)
    check.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    check.add_argument("--fix", action="store_true", help="apply the safe fixes first, then report the rest")
    check.add_argument("--unsafe-fixes", action="store_true", help="with --fix: apply the unsafe fixes too")
    _debug_flag(check)
    check.set_defaults(handler=_check)

    from faultline.app.cli.fix import add_command

    _debug_flag(add_command(commands))

    rules = commands.add_parser("rules", help="list the rules, or explain one")
    rules.add_argument("rule", nargs="?", help="a rule's code or slug")
    rules.add_argument("--markdown", metavar="DIR", help="write one Markdown page per rule into DIR")
    _debug_flag(rules)
    rules.set_defaults(handler=_rules)

    serve = commands.add_parser("serve", help="run the GitHub App (webhook receiver and worker)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    _debug_flag(serve)
    serve.set_defaults(handler=_serve)

    web = commands.add_parser("web", help="run the webhook receiver only (workers run the jobs)")
    web.add_argument("--host", default=None)
    web.add_argument("--port", type=int, default=None)
    _debug_flag(web)
    web.set_defaults(handler=_web)

    worker = commands.add_parser("worker", help="run the App's jobs from the queue (no web server)")
    worker.add_argument(
        "--metrics-port", type=int, default=None, help="serve Prometheus metrics on this port"
    )
    _debug_flag(worker)
    worker.set_defaults(handler=_worker)
    return parser


def _debug_flag(parser: argparse.ArgumentParser, default: object = argparse.SUPPRESS) -> None:
    # On the main parser and on each command (whose default must not hide the main one's).
    parser.add_argument(
        "--debug",
        action="store_true",
        default=default,
        help=f"show the traceback when Faultline itself fails (or set {DEBUG_ENV}=1)",
    )


def _check(args: argparse.Namespace) -> int:
    from faultline.analyzers.core.engine import Engine
    from faultline.app.cli.workspace import UsageError, find_root

    root, in_git = find_root(Path.cwd())
    try:
        paths = [_relative(root, path) for path in args.paths]
        config = _load_config(root, args.config)
        engine = Engine(config)
        if args.fix or args.unsafe_fixes:
            from faultline.app.cli.fix import fix_before_check

            fix_before_check(args, root, in_git, paths, engine)
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
    outputs.write(args, report, workspace, fail_level)
    for skipped in workspace.skipped if args.format in ("sarif", "github") else ():
        from faultline.app.render.text import shown

        # text and JSON list skipped files; these formats have no place for them.
        print(f"faultline: skipped {shown(skipped.path)}: {skipped.reason}", file=sys.stderr)
    for problem in report.rule_errors:
        print(f"faultline: {problem}", file=sys.stderr)
    return EXIT_FINDINGS if report.failing(fail_level) else EXIT_OK


def _workspace(args: argparse.Namespace, root: Path, in_git: bool, paths: list[str]) -> Workspace:
    from faultline.app.cli import precommit
    from faultline.app.cli.workspace import UsageError, committed, from_diff, uncommitted, whole_files

    if args.work_tree and (args.all or args.diff):
        raise UsageError("--work-tree goes with --base or alone, not with --all or --diff")
    if args.all:
        return whole_files(root, in_git, paths)
    if args.diff:
        return from_diff(root, _read_diff(args.diff), paths)
    if not in_git:
        raise UsageError("not inside a git repository: use --all to check files, or --diff")
    if args.base is None and (asked := precommit.workspace(root, paths)) is not None:
        return asked  # run by pre-commit on pushed commits, or on all files
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


def _rules(args: argparse.Namespace) -> int:
    from faultline.analyzers.core.registry import documented_index, documented_rules
    from faultline.app.render.rule_docs import rule_page, rules_table, write_pages

    if args.markdown:
        for path in write_pages(Path(args.markdown)):
            print(path)
        return EXIT_OK
    if args.rule is None:
        sys.stdout.write(rules_table(documented_rules()))
        return EXIT_OK
    rule = documented_index().get(args.rule) or documented_index().get(args.rule.upper())
    if rule is None:
        print(f"faultline: unknown rule {args.rule!r} (see 'faultline rules')", file=sys.stderr)
        return EXIT_USAGE
    sys.stdout.write(rule_page(rule))
    return EXIT_OK


# The GitHub App's dependencies are an extra: a team that only lints does not install them.
APP_MODULES = (
    "fastapi",
    "uvicorn",
    "githubkit",
    "huey",
    "cryptography",
    "structlog",
    "prometheus_client",
    "pydantic_settings",
    "redis",
)
APP_EXTRA_MISSING = (
    "faultline: `faultline serve` needs the GitHub App's dependencies ({missing} is not installed): "
    "pip install 'faultline-review[app]'"
)


def _app_missing() -> bool:
    import importlib

    for name in APP_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            print(APP_EXTRA_MISSING.format(missing=name.replace("_", "-")), file=sys.stderr)
            return True
    return False


def _serve(args: argparse.Namespace) -> int:
    if _app_missing():
        return EXIT_USAGE
    from faultline.app.cli.serve import serve

    return serve(host=args.host, port=args.port)


def _web(args: argparse.Namespace) -> int:
    if _app_missing():
        return EXIT_USAGE
    from faultline.app.cli.serve import serve

    return serve(host=args.host, port=args.port, work=False)


def _worker(args: argparse.Namespace) -> int:
    if _app_missing():
        return EXIT_USAGE
    from faultline.app.cli.worker import work

    return work(metrics_port=args.metrics_port)


if __name__ == "__main__":
    sys.exit(main())
