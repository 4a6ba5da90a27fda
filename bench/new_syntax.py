"""Cost of reading Python 3.12-3.14 syntax: the fallback against ``ast.parse`` of the same code
in 3.11 syntax, in one process, on two corpora:

- ``samples``: the service files of ``tests/fixtures/new_syntax`` (PEP 695, 696, 701, 750,
  758), repeated ``--copies`` times; their 3.11 twin is the lowered text, of the same size;
- a real project (``--project``, an sdist from ``projects.py``): each file rewritten into
  newer syntax with its layout kept (the quotes of strings nested in f-strings made the same
  as the f-string's, PEP 701; ``except (A, B):`` as ``except  A, B :``, PEP 758), the files
  ``ast.parse`` then rejects; their twin is the file as released. The trees of the rewritten
  files are compared with those of the originals, positions included.

Figures: wall and CPU seconds (each the best of ``--repeat``; CPU time moves less when
the machine is busy) over the whole corpus for ``ast.parse`` of the twins,
``parse_module`` of the twins (the fast path), ``parse_module`` of the newer files (the
fallback) and ``libcst.parse_module`` of the newer files (parsing alone, on the libcst route).
"""

from __future__ import annotations

import argparse
import ast
import gc
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import libcst  # noqa: E402

from faultline.analyzers.languages.python_lowering import lower  # noqa: E402
from faultline.analyzers.languages.python_scan import OP, Part, Token, fields, groups, lex  # noqa: E402
from faultline.analyzers.languages.python_syntax import parse_module  # noqa: E402

SAMPLES = ROOT / "tests" / "fixtures" / "new_syntax"


def samples(copies: int) -> list[tuple[str, str]]:
    """(newer, twin) pairs of the sample files."""
    pairs = []
    for path in sorted(SAMPLES.glob("*.py")):
        text = path.read_text()
        pairs.append((text, lower(text).text))
    return pairs * copies


def project(name: str) -> tuple[list[tuple[str, str]], int]:
    """(newer, twin) pairs of the project's files that the rewrite makes newer; and the file count."""
    from projects import project_root

    pairs, count = [], 0
    for path in sorted(project_root(name).rglob("*.py")):
        try:
            text = path.read_text(encoding="utf-8")
            ast.parse(text)
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        count += 1
        newer = modernize(text)
        try:
            ast.parse(newer)
        except SyntaxError:
            pairs.append((newer, text))
    return pairs, count


def modernize(text: str) -> str:
    """The same code in PEP 701 and PEP 758 syntax, every character where it was."""
    chars = list(text)
    tokens = lex(text)
    for group in groups(tokens):
        for part in group:
            _same_quotes(text, part, chars)
    for index in tokens.words:
        token = tokens.items[index]
        if text[token.start : token.end] == "except":
            _unbracket(text, tokens.items, index, chars)
    return "".join(chars)


def _same_quotes(text: str, part: Part, chars: list[str]) -> None:
    """``f"{d['k']}"`` -> ``f"{d["k"]}"``."""
    if not part.formatted or len(part.quote) != 1:
        return
    for item in fields(part.pieces):
        for group in item.groups:
            for inner in group:
                body = text[inner.start + len(inner.prefix) + 1 : inner.end - 1]
                simple = not inner.formatted and len(inner.quote) == 1 and inner.quote != part.quote
                if simple and not any(char in body for char in "'\"\\"):
                    chars[inner.start + len(inner.prefix)] = chars[inner.end - 1] = part.quote


def _unbracket(text: str, items: list[Token], index: int, chars: list[str]) -> None:
    """``except (A, B):`` -> ``except  A, B :``."""
    opening, closing = index + 1, None
    if opening >= len(items) or text[items[opening].start] != "(":
        return
    for position in range(opening + 1, len(items)):
        token = items[position]
        if token.depth == items[opening].depth and token.kind == OP and text[token.start] == ")":
            closing = position
            break
    if closing is None or closing + 1 >= len(items) or text[items[closing + 1].start] != ":":
        return
    if "\n" in text[items[opening].start : items[closing].start]:
        return  # without its brackets the clause could not span lines
    inside = items[opening + 1 : closing]
    if not any(t.depth == items[opening].depth + 1 and text[t.start : t.end] == "," for t in inside):
        return
    chars[items[opening].start] = chars[items[closing].start] = " "


def same_tree(newer: str, twin: str) -> bool:
    return _dump(parse_module(newer, "m.py")) == _dump(ast.parse(twin))


def _dump(tree: ast.Module) -> str:
    for node in ast.walk(tree):
        # The one intended difference: 3.14's tuple spans ``A, B``, 3.11's ``(A, B)``.
        if isinstance(node, ast.ExceptHandler) and isinstance(node.type, ast.Tuple):
            node.type.col_offset = node.type.end_col_offset = 0
    return ast.dump(tree, include_attributes=True)


def best(repeat: int, parse: Callable[[str], object], texts: Sequence[str]) -> tuple[float, float]:
    """The fastest of ``repeat`` runs over ``texts``: wall seconds and CPU seconds."""
    walls, cpus = [], []
    for _ in range(repeat):
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        for text in texts:
            parse(text)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def report(title: str, pairs: list[tuple[str, str]], repeat: int) -> None:
    newer = [new for new, _ in pairs]
    twins = [old for _, old in pairs]
    lines = sum(text.count("\n") for text in newer)
    print(f"\n{title}: {len(pairs)} files, {lines} lines")
    floor = best(repeat, ast.parse, twins)
    rows = [
        ("ast.parse, 3.11 twins", floor),
        ("parse_module, 3.11 twins (fast path)", best(repeat, lambda t: parse_module(t, "m.py"), twins)),
        ("parse_module, newer syntax (fallback)", best(repeat, lambda t: parse_module(t, "m.py"), newer)),
        ("libcst.parse_module, newer syntax", best(repeat, libcst.parse_module, newer)),
    ]
    print(f"  {'':40} {'seconds':>8} {'cpu s':>8} {'lines/s':>9} {'x ast':>6} {'cpu x ast':>9}")
    for label, (wall, cpu) in rows:
        ratios = f"{wall / floor[0]:6.2f} {cpu / floor[1]:9.2f}"
        print(f"  {label:40} {wall:8.3f} {cpu:8.3f} {lines / wall:9.0f} {ratios}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--project", default="prefect", help="a project of projects.py, or '' for none")
    parser.add_argument("--copies", type=int, default=20, help="times the sample files are read per run")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure; the fastest counts")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    python = sys.version.split()[0]
    print(f"Python {python}, libcst {libcst_version()}, {os.cpu_count()} CPUs, load {load:.2f}")
    report("samples", samples(args.copies), args.repeat)
    if args.project:
        pairs, count = project(args.project)
        same = sum(same_tree(new, old) for new, old in pairs)
        print(f"\n{args.project}: {count} files; the rewrite needs the fallback in {len(pairs)}")
        print(f"  trees equal to those of the released files: {same} of {len(pairs)}")
        report(f"{args.project}, rewritten files", pairs, args.repeat)
    return 0


def libcst_version() -> str:
    from importlib.metadata import version

    return version("libcst")


if __name__ == "__main__":
    raise SystemExit(main())
