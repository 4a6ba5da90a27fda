"""What every ``faultline`` command shares: the exit codes and the ``--debug`` flag."""

from __future__ import annotations

import argparse

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_CRASH = 0, 1, 2, 3
DEBUG_ENV = "FAULTLINE_DEBUG"


def debug_flag(parser: argparse.ArgumentParser, default: object = argparse.SUPPRESS) -> None:
    # On the main parser and on each command (whose default must not hide the main one's).
    parser.add_argument(
        "--debug",
        action="store_true",
        default=default,
        help=f"show the traceback when Faultline itself fails (or set {DEBUG_ENV}=1)",
    )
