"""Instructions of ``faultline check --all`` against a bare ``ast.parse``: a figure the load
of a shared machine does not move.

CPU seconds grow when other processes share the cores (caches, frequency), by more than the
difference a change to the engine makes. The number of instructions a process executes
does not: each tool runs once under valgrind's cachegrind (no cache simulation), on the
same files as ``analyze.py``, after one warm-up run of Faultline that writes its .pyc files.
About ten times slower than a plain run.

    python bench/instructions.py [--projects prefect,sqlalchemy]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from analyze import (
    FAULTLINE,
    FAULTLINE_ARGS,
    FILE_LIST,
    MAX_AST_RATIO,
    _command,
    load_project,
    require_this_checkout,
    tool_env,
)

VALGRIND = ("valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null")
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def instructions(command: list[str], cwd: Path) -> int:
    """The instructions ``command`` executes, as cachegrind counts them."""
    done = subprocess.run(
        [*VALGRIND, *command], cwd=cwd, env=tool_env(), capture_output=True, text=True, check=False
    )
    found = _REFS.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{command[0]} failed under valgrind (exit {done.returncode}): {done.stderr[-300:]}")
    return int(found.group(1).replace(",", ""))


def measure_project(name: str, work: Path) -> tuple[int, int, int]:
    """Files, Faultline's instructions and ast.parse's on project ``name``."""
    project = load_project(name)
    listed = "".join(f"{project.root / path}\n" for path in project.paths)
    (work / FILE_LIST).write_text(listed, encoding="utf-8")
    command = [*FAULTLINE, *FAULTLINE_ARGS]
    # A warm-up run, not counted: it writes the .pyc files.
    subprocess.run(command, cwd=project.root, env=tool_env(), capture_output=True, check=False)
    parse = _command("ast", project, work)
    assert parse is not None
    return project.files, instructions(command, project.root), instructions(parse, project.root)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--projects", default="prefect,sqlalchemy", help="comma-separated (%(default)s)")
    options = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    require_this_checkout()
    failed = False
    print(f"{'project':12} {'files':>6} {'faultline':>12} {'ast.parse':>12} {'x ast':>6}  verdict")
    with tempfile.TemporaryDirectory(prefix="faultline-instructions-") as folder:
        for name in options.projects.split(","):
            files, ours, floor = measure_project(name, Path(folder))
            ratio = ours / floor
            failed |= ratio > MAX_AST_RATIO
            verdict = "PASS" if ratio <= MAX_AST_RATIO else "FAIL"
            print(f"{name:12} {files:>6} {ours / 1e9:>11.2f}G {floor / 1e9:>11.2f}G {ratio:>6.2f}  {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
