"""What every ``faultline`` command shares: the exit codes, usage errors and ``--debug``."""

from __future__ import annotations

import argparse

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_CRASH = 0, 1, 2, 3
DEBUG_ENV = "FAULTLINE_DEBUG"
EXIT_CODES_HELP = f"""\
exit codes:
  0  no finding reaches the fail level
  1  a finding does (--fail-on, else the config's fail_on, else error)
  2  a usage or config error (one line on stderr)
  3  Faultline itself failed: a bug (the traceback: --debug or {DEBUG_ENV}=1)"""


class UsageError(Exception):
    """Something the user asked for cannot be done; the message says what."""


def debug_flag(parser: argparse.ArgumentParser, default: object = argparse.SUPPRESS) -> None:
    # On the main parser and on each command (whose default must not hide the main one's).
    parser.add_argument(
        "--debug",
        action="store_true",
        default=default,
        help=f"show the traceback when Faultline itself fails (or set {DEBUG_ENV}=1)",
    )
