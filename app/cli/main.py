"""faultline: check a change locally, fix it, list the rules, or serve the GitHub App.

Exit codes: 0 no finding at or above the fail level, 1 findings, 2 usage or
config error (one line on stderr, never a traceback), 3 Faultline itself failed
(a bug: one line on stderr; the traceback with --debug or FAULTLINE_DEBUG=1).
fix and check --fix count the findings left after fixing; fix --diff exits 1
when it has changes to apply (app/cli/fix.py).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from faultline.analyzers.core.changes import DiffError
from faultline.analyzers.core.config import ConfigError
from faultline.app.cli.check import add_check_parser
from faultline.app.cli.common import (
    DEBUG_ENV,
    EXIT_CODES_HELP,
    EXIT_CRASH,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    debug_flag,
)
from faultline.app.cli.completion import add_completion_parser
from faultline.app.cli.config_command import add_config_parser
from faultline.app.cli.fix import add_command as add_fix_parser
from faultline.app.cli.git import GitError

MAIN_EPILOG = f"""\
examples:
  faultline check                       the work tree against HEAD
  faultline check --base origin/main    what a pull request into main shows
  faultline check --help                every option of check
  faultline rules broad-except          one rule explained, with examples
  faultline config                      the configuration in force, and where it came from
  faultline completion bash             a completion script (bash, zsh, fish)

{EXIT_CODES_HELP}"""


# Commands that end when their output is written: ``run`` leaves them without tearing the
# interpreter down (the App's long-running commands exit the usual way).
ONE_SHOT_COMMANDS = frozenset({"check", "fix", "rules", "config", "completion"})


def run() -> NoReturn:
    """The ``faultline`` command. After a one-shot command it flushes its output and ends the
    process at once, as mypy does: freeing every object and module of a large run one by one
    took about a twentieth of ``check --all``, and nothing is left to clean up by then."""
    args, code = _run(None)
    if args is None or args.command not in ONE_SHOT_COMMANDS:
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: the code still counts
            stream.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    return _run(argv)[1]


def _run(argv: Sequence[str] | None) -> tuple[argparse.Namespace | None, int]:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return None, EXIT_USAGE
    return args, _handle(args)


def _handle(args: argparse.Namespace) -> int:
    try:
        code: int = args.handler(args)
    except (ConfigError, DiffError, GitError, UsageError) as err:
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

    parser = argparse.ArgumentParser(
        prog="faultline",
        description="Faultline reviews a change for reliability risks: locally, in CI, or as a GitHub App.",
        epilog=MAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"faultline {__version__}")
    debug_flag(parser, default=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    add_check_parser(commands)
    debug_flag(add_fix_parser(commands))
    add_config_parser(commands)

    rules = commands.add_parser("rules", help="list the rules, or explain one")
    rules.add_argument("rule", nargs="?", help="a rule's code or slug")
    rules.add_argument("--markdown", metavar="DIR", help="write one Markdown page per rule into DIR")
    debug_flag(rules)
    rules.set_defaults(handler=_rules)

    serve = commands.add_parser("serve", help="run the GitHub App (webhook receiver and worker)")
    _address(serve)
    debug_flag(serve)
    serve.set_defaults(handler=_serve)

    web = commands.add_parser("web", help="run the webhook receiver only (workers run the jobs)")
    _address(web)
    debug_flag(web)
    web.set_defaults(handler=_web)

    worker = commands.add_parser("worker", help="run the App's jobs from the queue (no web server)")
    worker.add_argument(
        "--metrics-port", type=int, default=None, help="serve Prometheus metrics on this port"
    )
    debug_flag(worker)
    worker.set_defaults(handler=_worker)

    add_completion_parser(commands, parser)  # last: it completes the commands above
    return parser


def _address(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default=None, help="the address to listen on (default: FAULTLINE_HOST, else 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=None, help="the port to listen on (default: FAULTLINE_PORT, else 8000)"
    )


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
    run()
