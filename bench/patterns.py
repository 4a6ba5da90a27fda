"""Worst-case growth of every regular expression the analyzers compile.

A pattern whose search time grows with the square of the text (``(\\w+)\\s*=`` tried at every
letter of a long name, ``^\\s*`` run over each of many blank lines) turns one odd file (a
minified bundle, a long data line, a hostile pull request) into minutes of work. Each
pattern runs ``findall`` over texts built to make a backtracking engine retry (long runs of
letters, blanks, brackets, keywords without an end) at two sizes, four times apart: a
linear search takes about four times as long on the larger, a quadratic one sixteen. The
peer is ``str.count`` of one character over the same text, timed in the same run.

    python bench/patterns.py [--size N]

Prints each pattern whose growth exponent (log4 of the time ratio) is above 1.5 on some
text and takes more than 20 ms there; exit code 1 when one is not on the list of patterns
that are only ever matched at one position (``.match(text, pos)``), where the cost of a
call is bounded by what follows that position.
"""

from __future__ import annotations

import argparse
import importlib
import math
import pkgutil
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import faultline.analyzers as analyzers
from faultline.analyzers.lib.typescript.patterns import LazyPattern

MAX_EXPONENT = 1.5
MIN_SECONDS = 0.02
REPEAT = 3
# Patterns matched at one position only, never searched through a text: growth over a
# whole adversarial text says nothing of them.
ANCHORED = {
    "faultline.analyzers.lib.sql.ddl._FIRST_NAME": "matched at the start of one column item",
    "faultline.analyzers.rules.database.pools._OPENS_CALL": "matched just after a call's name",
}
# Texts that make a backtracking search retry: (name, unit repeated to the size).
UNITS = (
    ("letters", "a"),
    ("spaces", " "),
    ("tabs", "\t"),
    ("newlines", "\n"),
    ("letter lines", "a\n"),
    ("words", "a "),
    ("quotes", "'"),
    ("parens", "("),
    ("calls", "a("),
    ("assignments", "a="),
    ("spaced assignments", "a = "),
    ("dots", "a."),
    ("dashes", "a-"),
    ("colons", "a:"),
    ("commas", "a,"),
    ("braces", "{"),
    ("backslashes", "\\"),
    ("slashes", "/"),
    ("stars", "*"),
    ("imports", "import "),
    ("import names", "import a "),
    ("import braces", "import a, {"),
    ("froms", "from "),
    ("consts", "const "),
    ("images", "image: "),
    ("indented images", "\n image"),
    ("on delete", "ON DELETE "),
    ("sql comments", "--"),
)


@dataclass(frozen=True)
class Growth:
    name: str
    text: str
    small: float
    large: float
    peer: float  # str.count over the large text

    @property
    def exponent(self) -> float:
        return math.log(max(self.large, 1e-9) / max(self.small, 1e-9), 4)


def patterns() -> Iterator[tuple[str, re.Pattern[Any]]]:
    """Every compiled pattern at module or class level of the analyzers' modules."""
    for info in pkgutil.walk_packages(analyzers.__path__, f"{analyzers.__name__}."):
        module = importlib.import_module(info.name)
        yield from _found(vars(module), module.__name__, module.__name__)


def _found(namespace: dict[str, Any], prefix: str, module: str) -> Iterator[tuple[str, re.Pattern[Any]]]:
    for key, value in namespace.items():
        compiled = value.compiled if isinstance(value, LazyPattern) else value
        if isinstance(compiled, re.Pattern):
            yield f"{prefix}.{key}", compiled
        elif isinstance(value, type) and value.__module__ == module:
            yield from _found(dict(vars(value)), f"{prefix}.{key}", module)


def best_time(run: Callable[[Any], object], text: Any) -> float:
    best = math.inf
    for _ in range(REPEAT):
        start = time.perf_counter()
        run(text)
        best = min(best, time.perf_counter() - start)
    return best


def growth(name: str, pattern: re.Pattern[Any], size: int) -> Growth:
    """The text on which ``pattern`` grows fastest from ``size`` to four times it, among
    those it takes long enough on for the ratio to mean something."""
    results = []
    for text_name, unit in UNITS:
        texts = [unit * (n // len(unit)) for n in (size, 4 * size)]
        data: list[Any] = [t.encode() for t in texts] if isinstance(pattern.pattern, bytes) else texts
        small = best_time(pattern.findall, data[0])
        large = best_time(pattern.findall, data[1])
        peer = best_time(lambda text: text.count(text[:1]), data[1])
        results.append(Growth(name, text_name, small, large, peer))
    timed = [result for result in results if result.large > MIN_SECONDS]
    if timed:
        return max(timed, key=lambda result: result.exponent)
    return max(results, key=lambda result: result.large)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2000, help="characters of the smaller text")
    args = parser.parse_args()
    found = sorted(dict(patterns()).items())
    print(f"{len(found)} patterns, texts of {args.size:,} and {4 * args.size:,} characters")
    failures = 0
    slowest = 0.0
    for name, pattern in found:
        result = growth(name, pattern, args.size)
        slowest = max(slowest, result.large)
        if result.exponent <= MAX_EXPONENT or result.large <= MIN_SECONDS:
            continue
        anchored = ANCHORED.get(name)
        verdict = f"allowed: {anchored}" if anchored else "FAIL"
        failures += anchored is None
        ratio = result.large / max(result.peer, 1e-9)
        print(
            f"  {verdict:<10} {name}: exponent {result.exponent:.2f} on {result.text!r} "
            f"({result.small * 1000:.1f} ms -> {result.large * 1000:.1f} ms, {ratio:,.0f}x str.count)"
        )
    print(f"slowest search of the larger texts: {slowest * 1000:.1f} ms")
    print("PASS  every searched pattern grows linearly" if not failures else f"FAIL  {failures} pattern(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
