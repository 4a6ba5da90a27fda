"""What a function's plain assignments say about its names: the values a name was
given, for rules that follow a value a few steps (``rows = q.all()``, ``return rows``)."""

from __future__ import annotations

import ast


def assignments(function: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, list[ast.expr]]:
    """Name → the values assigned to it anywhere in ``function`` (``x = ...``, ``x: T = ...``)."""
    found: dict[str, list[ast.expr]] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                found.setdefault(target.id, []).append(value)
    return found


def values_of(expr: ast.expr, assigned: dict[str, list[ast.expr]], depth: int = 2) -> list[ast.expr]:
    """``expr`` and the values of the names it reads, followed ``depth`` assignments back."""
    found = [expr]
    frontier = [expr]
    seen: set[str] = set()
    for _ in range(depth):
        names = {
            node.id
            for item in frontier
            for node in ast.walk(item)
            if isinstance(node, ast.Name) and node.id in assigned and node.id not in seen
        }
        seen |= names
        frontier = [value for name in sorted(names) for value in assigned[name]]
        found.extend(frontier)
    return found
