"""What the import statements of a module bind, and the qualified name a local
name or attribute chain stands for."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from faultline.analyzers.lib.python.nodes import node_index, statements


@dataclass(frozen=True)
class ImportedName:
    """One name an import statement binds: ``from sqlalchemy import Table as T``
    binds ``T`` to ``sqlalchemy.Table``."""

    local: str  # "T"; for ``import a.b``, "a"
    qualified: str  # "sqlalchemy.Table"; "a" for ``import a.b``, "a.b" for ``import a.b as x``
    name: str  # as written after ``import``: "Table", "a.b"
    module: str | None  # as written after ``from`` ("" for ``from . import x``); None for ``import``
    relative: bool  # ``from .models import Case``: ``qualified`` keeps the dots
    aliased: bool  # bound with ``as``


def imported_names(nodes: Iterable[ast.AST]) -> Iterator[ImportedName]:
    """The names bound by the import statements among ``nodes``, in order."""
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                qualified = alias.name if alias.asname else top
                yield ImportedName(
                    alias.asname or top, qualified, alias.name, None, False, bool(alias.asname)
                )
        elif isinstance(node, ast.ImportFrom):
            prefix = "." * node.level + (f"{node.module}." if node.module else "")
            for alias in node.names:
                yield ImportedName(
                    alias.asname or alias.name,
                    prefix + alias.name,
                    alias.name,
                    node.module or "",
                    node.level > 0,
                    bool(alias.asname),
                )


def imports_package(body: list[ast.stmt], package: str) -> bool:
    """Whether a top-level import names ``package`` or one of its modules (a
    relative ``from .package import x`` counts too)."""
    return any(
        (imported.name if imported.module is None else imported.module).split(".")[0] == package
        for imported in imported_names(body)
    )


def imports_any(tree: ast.Module, packages: Iterable[str]) -> bool:
    """Whether an absolute import anywhere in the module names one of ``packages``: what
    ``import_map`` can map to them, from a walk of the statements alone."""
    wanted = set(packages)
    return any(
        not imported.relative and imported.qualified.split(".")[0] in wanted
        for imported in imported_names(statements(tree))
    )


def import_map(tree: ast.Module) -> dict[str, str]:
    """Local name → the qualified name it was imported as, from absolute imports
    anywhere in the module; names the module also binds otherwise (a local
    ``def create_pool``, an assignment, an argument) are dropped."""
    index = node_index(tree)
    names: dict[str, str] = {}
    # In walk order: of two imports of one name, the later wins.
    for imported in imported_names(index.in_walk_order(ast.Import, ast.ImportFrom)):
        if not imported.relative:
            names[imported.local] = imported.qualified
    if not names:
        return names
    bound = {node.id for node in index.of(ast.Name) if type(node.ctx) is ast.Store}
    bound.update(node.arg for node in index.of(ast.arg))
    bound.update(node.name for node in index.of(ast.FunctionDef))
    bound.update(node.name for node in index.of(ast.AsyncFunctionDef))
    bound.update(node.name for node in index.of(ast.ClassDef))
    return {local: qualified for local, qualified in names.items() if local not in bound}


def qualified_name(node: ast.expr, imports: dict[str, str]) -> str | None:
    """``sa.create_engine`` → "sqlalchemy.create_engine" when ``imports`` maps
    ``sa``; None when the chain does not start with an imported name."""
    if isinstance(node, ast.Name):
        return imports.get(node.id)
    if isinstance(node, ast.Attribute):
        base = qualified_name(node.value, imports)
        return f"{base}.{node.attr}" if base else None
    return None
