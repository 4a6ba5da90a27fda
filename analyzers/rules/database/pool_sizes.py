"""The integer literals that size connection pools in one module: in a pool
call, in a mapping of engine options, or in a module constant."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from faultline.analyzers.core.changes import FileChange
from faultline.analyzers.core.findings import Severity
from faultline.analyzers.lib.python.imports import import_map, qualified_name
from faultline.analyzers.lib.python.nodes import NodeIndex, blocks, node_index, span, string_value
from faultline.analyzers.rules.database.pools import (
    ENGINE_OPTIONS_CALLS,
    ENGINE_OPTIONS_NAME,
    ENV_SUFFIX,
    MIN_MAX_SIZE,
    POOL_APIS,
    SQLALCHEMY,
    PoolApi,
    is_size,
    is_sqlite,
    sizing_arguments,
)


@dataclass(frozen=True)
class Sizing:
    """One integer literal that sizes a pool."""

    name: str  # the argument, key or constant
    value: ast.Constant
    where: str  # " in create_engine()", or ""
    env_name: str
    span: tuple[int, int]  # the lines of the keyword or assignment
    severity: Severity = Severity.WARNING
    from_change: bool = False  # defined elsewhere, used by a call the change adds

    @property
    def size(self) -> int:
        number = self.value.value
        return number if isinstance(number, int) else 0

    @property
    def key(self) -> tuple[int, int]:
        return (self.value.lineno, self.value.col_offset)


class PoolSizeScan:
    """One module: its imports and module-level values, and the literals that size pools.
    ``pattern`` finds the names of module constants that size a pool by name alone."""

    def __init__(self, tree: ast.Module, change: FileChange | None, pattern: re.Pattern[str]) -> None:
        self.tree = tree
        self.change = change
        self.pattern = pattern
        # One walk of the tree; every scan below loops over this list.
        self.index = node_index(tree)
        self.nodes = self.index.nodes
        self.imports = import_map(tree)
        self.constants, self.statements, self.mappings = _module_values(tree, self.index)
        self.found: dict[tuple[int, int], Sizing] = {}

    @cached_property
    def parents(self) -> dict[ast.AST, ast.AST]:
        """Each node's parent: only a constant named like a pool size needs them."""
        return {child: node for node in self.nodes for child in ast.iter_child_nodes(node)}

    def sizings(self) -> list[Sizing]:
        # A class attribute is a settings field, not a module's own value.
        in_class = {id(stmt) for node in self.index.of(ast.ClassDef) for stmt in node.body}
        for node in self.index.in_walk_order(ast.Call, ast.Assign, ast.Dict):
            if isinstance(node, ast.Call):
                self._call(node)
            elif isinstance(node, ast.Assign) and id(node) not in in_class:
                self._assignment(node)
            elif isinstance(node, ast.Dict):
                self._django_pool(node)
        for name, node in self.constants.items():
            if self.pattern.search(name) and not self._handed_on(name):
                env_name = name.lstrip("_").upper()
                self._add(Sizing(name, node, "", env_name, self.statements[name], Severity.NOTICE))
        return sorted(self.found.values(), key=lambda sizing: sizing.key)

    def _add(self, sizing: Sizing) -> None:
        """One finding per literal: a constant used by two calls is reported once."""
        earlier = self.found.get(sizing.key)
        if earlier is None or (sizing.from_change and not earlier.from_change):
            self.found[sizing.key] = sizing

    def _call(self, call: ast.Call) -> None:
        target = qualified_name(call.func, self.imports) or ""
        if target in ENGINE_OPTIONS_CALLS:
            where = f" in {ast.unparse(call.func)}()"
            for keyword in call.keywords:
                if keyword.arg == "engine_options":
                    self._mapping(keyword.value, SQLALCHEMY, where, call)
            return
        api = POOL_APIS.get(target)
        if api is None or is_sqlite(call):
            return
        where = f" in {ast.unparse(call.func)}()"
        for name, value, lines in sizing_arguments(call, api):
            if name:
                self._value(name, value, api, lines, where=where, call=call)
            else:
                self._mapping(value, api, where, call)

    def _value(
        self,
        name: str,
        value: ast.expr,
        api: PoolApi,
        lines: tuple[int, int],
        *,
        where: str,
        call: ast.Call | None,
        remote: bool = False,
    ) -> None:
        """A literal, or a module constant, given as the ``name`` size of a pool;
        ``remote``: the literal sits in a mapping defined away from ``call``."""
        derived = f"{api.env_prefix}_{ENV_SUFFIX[name]}"
        if isinstance(value, ast.Name) and value.id in self.constants:
            constant = self.constants[value.id]
            if is_size(name, constant):
                env_name = value.id.lstrip("_") if value.id.isupper() else derived
                statement = self.statements[value.id]
                place = f" ({name}{where})"
                self._add(
                    Sizing(value.id, constant, place, env_name, statement, from_change=self._added(call))
                )
        elif isinstance(value, ast.Constant) and is_size(name, value):
            self._add(Sizing(name, value, where, derived, lines, from_change=remote and self._added(call)))

    def _mapping(self, node: ast.expr, api: PoolApi, where: str, call: ast.Call | None) -> None:
        """Sizes given as a dict: ``**{"pool_size": 10}``, ``engine_options=OPTIONS``."""
        remote = isinstance(node, ast.Name)
        if isinstance(node, ast.Name):
            if node.id not in self.mappings:
                return
            where, node = f" in {node.id}", self.mappings[node.id]
        for key, value, lines in _mapping_items(node):
            if key in api.keywords:
                self._value(key, value, api, lines, where=where, call=call, remote=remote)

    def _added(self, call: ast.Call | None) -> bool:
        """Whether the change adds ``call``: a value defined elsewhere then counts as new."""
        if call is None or self.change is None:
            return False
        return self.change.any_added(*span(call))

    def _assignment(self, node: ast.Assign) -> None:
        """``app.config["SQLALCHEMY_POOL_SIZE"] = 10`` and ``SQLALCHEMY_ENGINE_OPTIONS = {...}``."""
        target = node.targets[0] if len(node.targets) == 1 else None
        name = _target_name(target) if target is not None else None
        if name is None:
            return
        if name == ENGINE_OPTIONS_NAME:
            self._mapping(node.value, SQLALCHEMY, f" in {ENGINE_OPTIONS_NAME}", None)
        elif (
            isinstance(target, ast.Subscript)
            and isinstance(node.value, ast.Constant)
            and self.pattern.search(name)
            and is_size(name, node.value)
        ):
            self._add(Sizing(name, node.value, "", name, span(node), Severity.NOTICE))

    def _django_pool(self, node: ast.Dict) -> None:
        """Django's ``"OPTIONS": {"pool": {"min_size": 2, "max_size": 4}}``."""
        options = _dict_value(node, "OPTIONS")
        pool = _dict_value(options, "pool") if isinstance(options, ast.Dict) else None
        if isinstance(pool, ast.Dict):
            self._mapping(pool, MIN_MAX_SIZE, " in the database OPTIONS", None)

    def _handed_on(self, name: str) -> bool:
        """True when the constant is a default for something else: an argument
        of a call other than as a pool size (``os.getenv("X", NAME)``), a
        parameter default, or a value in a class body (a settings field)."""
        for node in self.index.of(ast.Name):
            loaded = node.id == name and isinstance(node.ctx, ast.Load)
            if loaded and self._feeds_other_code(node):
                return True
        return False

    def _feeds_other_code(self, node: ast.AST) -> bool:
        child, parent = node, self.parents.get(node)
        while parent is not None and not isinstance(
            parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Module)
        ):
            if isinstance(parent, (ast.arguments, ast.ClassDef)):
                return True
            if isinstance(parent, ast.keyword) and parent.arg in ENV_SUFFIX:
                return False  # ``pool_size=NAME``, even to a wrapper of the project's own
            if isinstance(parent, ast.Call) and child is not parent.func:
                target = qualified_name(parent.func, self.imports)
                return target not in POOL_APIS and target not in ENGINE_OPTIONS_CALLS
            child, parent = parent, self.parents.get(parent)
        return False


def _module_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements that run at import, through ``if``/``try``/``with`` blocks."""
    for node in body:
        yield node
        if isinstance(node, (ast.If, ast.With, ast.AsyncWith, ast.Try)):
            for block in blocks(node):
                yield from _module_statements(block)


ModuleValues = tuple[dict[str, ast.Constant], dict[str, tuple[int, int]], dict[str, ast.expr]]


def _module_values(tree: ast.Module, index: NodeIndex) -> ModuleValues:
    """Module-level names bound once and never changed: to a positive int
    literal (constants, with the lines of the statement that binds each), or to
    a dict display or ``dict(...)`` (mappings)."""
    changes = _change_counts(index)
    constants: dict[str, ast.Constant] = {}
    statements: dict[str, tuple[int, int]] = {}
    mappings: dict[str, ast.expr] = {}
    for node in _module_statements(tree.body):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if not isinstance(target, ast.Name) or changes.get(target.id) != 1:
            continue
        if isinstance(value, ast.Constant) and type(value.value) is int and value.value > 0:
            constants[target.id] = value
            statements[target.id] = span(node)
        elif _mapping_items(value):
            mappings[target.id] = value
    return constants, statements, mappings


def _change_counts(index: NodeIndex) -> dict[str, int]:
    """How often each name is bound (or, for a dict, written into) anywhere in the module."""
    counts: dict[str, int] = {}

    def bound(name: str) -> None:
        counts[name] = counts.get(name, 0) + 1

    for name_node in index.of(ast.Name):
        if isinstance(name_node.ctx, ast.Store):
            bound(name_node.id)
    for argument in index.of(ast.arg):
        bound(argument.arg)
    for subscript in index.of(ast.Subscript):
        if isinstance(subscript.ctx, ast.Store) and isinstance(subscript.value, ast.Name):
            bound(subscript.value.id)
    for attribute in index.of(ast.Attribute):
        if attribute.attr in ("update", "setdefault", "pop") and isinstance(attribute.value, ast.Name):
            bound(attribute.value.id)
    return counts


def _mapping_items(node: ast.expr) -> list[tuple[str, ast.expr, tuple[int, int]]]:
    """The string keys of ``{"pool_size": 10}`` or ``dict(pool_size=10)``, with values and lines."""
    items = []
    if isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            name = string_value(key)
            if key is not None and name is not None:
                items.append((name, value, (key.lineno, value.end_lineno or value.lineno)))
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        for keyword in node.keywords:
            if keyword.arg is not None:
                items.append((keyword.arg, keyword.value, span(keyword)))
    return items


def _dict_value(node: ast.Dict, key: str) -> ast.expr | None:
    for k, value in zip(node.keys, node.values, strict=True):
        if string_value(k) == key:
            return value
    return None


def _target_name(target: ast.expr) -> str | None:
    """``NAME`` or ``anything["NAME"]``."""
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Subscript):
        return string_value(target.slice)
    return None
