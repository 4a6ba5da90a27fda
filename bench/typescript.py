"""Speed on TypeScript and JavaScript: ``faultline check --all`` against tree-sitter's bare parse.

Point it at folders of real frontend code (a repository's ``clients/`` or an npm package that
ships its sources, unpacked in a temp folder, never committed). Both run as their own process,
one after the other, on the same files (the ``.ts``, ``.tsx``, ``.js``, ``.jsx``, ``.mjs`` and
``.cjs`` files that ``git ls-files`` lists, or every such file when the folder is no
repository), best of ``--repeat`` runs each; the faultline run has one warm-up run first. Prints
files, lines, seconds, lines/second and the ratio, then PASS/FAIL for the target: within 2x of
the bare parse (which builds the same trees and does nothing with them). Exit code 1 when a
target fails.

    python bench/typescript.py /tmp/frontends/polar /tmp/frontends/redash [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

MAX_PARSE_RATIO = 2.0
SUFFIXES = (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")
FAULTLINE = (
    sys.executable,
    "-P",
    "-m",
    "faultline",
    "check",
    "--all",
    "--format",
    "json",
    "--fail-on",
    "never",
)


def files_of(root: Path) -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=False)
    paths = listed.stdout.splitlines() if listed.returncode == 0 else []
    if not paths:
        paths = [str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()]
    return sorted(path for path in paths if path.endswith(SUFFIXES))


def parse_child(root: Path, listfile: Path) -> None:
    """The peer: read and parse each file with the grammar faultline uses for it, nothing more."""
    from faultline.analyzers.languages import language_for

    errors = 0
    for path in listfile.read_text().splitlines():
        language = language_for(path)
        data = (root / path).read_bytes()
        if language is None or language.parse is None:
            continue
        try:
            language.parse(language.decode(data), path)
        except Exception:  # counted, as faultline counts FL000
            errors += 1
    print(json.dumps({"errors": errors}))


def best_seconds(command: Sequence[str], cwd: Path, repeat: int) -> tuple[float, bytes]:
    best, out = float("inf"), b""
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, capture_output=True, check=True)
        best, out = min(best, time.perf_counter() - start), done.stdout
    return best, out


def bench(root: Path, repeat: int, work: Path) -> bool:
    paths = files_of(root)
    listfile = work / f"{root.name}.txt"
    listfile.write_text("\n".join(paths) + "\n")
    lines = sum((root / path).read_bytes().count(b"\n") for path in paths)
    best_seconds(FAULTLINE, root, 1)  # warm-up: imports and the grammars' first load
    faultline, out = best_seconds(FAULTLINE, root, repeat)
    parse, parsed = best_seconds(
        [sys.executable, __file__, "--parse-child", str(root), str(listfile)], root, repeat
    )
    report = json.loads(out)
    fl000 = sum(1 for finding in report["findings"] if finding["code"] == "FL000")
    ratio = faultline / parse if parse else float("inf")
    ok = ratio <= MAX_PARSE_RATIO
    print(f"{root.name}: {len(paths)} files, {lines:,} lines")
    print(f"  faultline  {faultline:6.2f} s  {lines / faultline:10,.0f} lines/s  findings "
          f"{report['summary']['findings']}, FL000 {fl000}")  # fmt: skip
    print(f"  tree-sitter{parse:6.2f} s  {lines / parse:10,.0f} lines/s  parse errors "
          f"{json.loads(parsed)['errors']}")  # fmt: skip
    print(
        f"  faultline / bare parse: {ratio:.2f}x (target <= {MAX_PARSE_RATIO}x): {'PASS' if ok else 'FAIL'}"
    )
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--parse-child", nargs=2, metavar=("ROOT", "LIST"), help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.parse_child:
        parse_child(Path(options.parse_child[0]), Path(options.parse_child[1]))
        return 0
    with tempfile.TemporaryDirectory(prefix="faultline-bench-ts-") as scratch:
        results = [bench(folder.resolve(), options.repeat, Path(scratch)) for folder in options.folders]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
