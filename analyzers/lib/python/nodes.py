"""What one ``ast`` node names, holds or nests: dotted names, string values,
call arguments, line spans, the statement blocks of compound statements, and
every node of a tree."""

from __future__ import annotations

import ast
from bisect import bisect_left
from collections.abc import Iterator
from typing import TypeVar, cast

NodeT = TypeVar("NodeT", bound=ast.AST)


def dotted_name(node: ast.expr) -> str:
    """``self.db.session`` → "self.db.session"; a call stands for its callee; "" for other nodes."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = dotted_name(node.value)
        return f"{inner}.{node.attr}" if inner else node.attr
    if isinstance(node, ast.Call):
        return dotted_name(node.func)
    return ""


def callee(node: ast.expr | None) -> str:
    """The dotted name of what ``node`` calls, or of ``node`` itself when it is no call."""
    if node is None:
        return ""
    return dotted_name(node.func if isinstance(node, ast.Call) else node)


def call_name(func: ast.expr) -> tuple[str, str]:
    """(receiver, name) of a call: ``op.create_table`` → ("op", "create_table")."""
    if isinstance(func, ast.Name):
        return "", func.id
    if isinstance(func, ast.Attribute):
        value = func.value
        receiver = value.id if isinstance(value, ast.Name) else getattr(value, "attr", "")
        return receiver, func.attr
    return "", ""


def string_value(node: ast.AST | None) -> str | None:
    """The value of a string literal, or None."""
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def string_values(node: ast.expr | None) -> list[str]:
    """The string literals of a list or tuple display, or the one string literal."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return [text for elt in node.elts if (text := string_value(elt)) is not None]
    text = string_value(node)
    return [text] if text is not None else []


def find_keyword(call: ast.Call, name: str) -> ast.keyword | None:
    """The first ``name=`` keyword of ``call``."""
    return next((kw for kw in call.keywords if kw.arg == name), None)


def argument(call: ast.Call, index: int, name: str) -> ast.expr | None:
    """The argument at ``index`` (when no ``*args`` makes positions unsure), else the ``name=`` keyword."""
    positional = [arg for arg in call.args if not isinstance(arg, ast.Starred)]
    if len(positional) == len(call.args) and len(positional) > index:
        return positional[index]
    found = find_keyword(call, name)
    return found.value if found else None


def span(node: ast.AST) -> tuple[int, int]:
    """The first and last line of ``node``."""
    first: int = getattr(node, "lineno", 1)
    last: int | None = getattr(node, "end_lineno", None)
    return first, last or first


def defined_names(node: ast.stmt) -> Iterator[str]:
    """The names a ``def``, ``class`` or assignment to plain names defines."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield node.name
    elif isinstance(node, ast.Assign):
        yield from (target.id for target in node.targets if isinstance(target, ast.Name))
    elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        yield node.target.id


def blocks(node: ast.stmt) -> list[list[ast.stmt]]:
    """The statement blocks a compound statement holds, in source order (a
    ``try``: body, handlers, ``else``, ``finally``); [] for a simple statement.
    Expressions are not entered: a walk over blocks visits statements only."""
    if isinstance(node, (ast.If, ast.For, ast.AsyncFor, ast.While)):
        return [node.body, node.orelse]
    if isinstance(node, (ast.Try, ast.TryStar)):
        return [node.body, *(handler.body for handler in node.handlers), node.orelse, node.finalbody]
    if isinstance(node, ast.Match):
        return [case.body for case in node.cases]
    if isinstance(node, (ast.With, ast.AsyncWith, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.body]
    return []


def on_lines(node: ast.AST, lines: list[int]) -> bool:
    """Whether one of ``node``'s lines is in ``lines`` (sorted): a bisection, not a walk."""
    first, last = span(node)
    at = bisect_left(lines, first)
    return at < len(lines) and lines[at] <= last


def statements(tree: ast.Module) -> Iterator[ast.stmt]:
    """Every statement of the module at any depth (in functions, classes and compound
    statements), each before those it holds. Expressions are not entered: a statement
    walk visits a small part of the nodes that ``ast.walk`` does."""
    pending = [tree.body]
    while pending:
        for stmt in pending.pop():
            yield stmt
            pending.extend(blocks(stmt))


def child_nodes(node: ast.AST) -> list[ast.AST]:
    """``ast.iter_child_nodes(node)`` as a list, without its two nested generators: the
    cascade scan asks for the children of every node it meets."""
    found: list[ast.AST] = []
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            found.append(value)
        elif isinstance(value, list):
            found.extend(item for item in value if isinstance(item, ast.AST))
    return found


def all_nodes(tree: ast.AST) -> list[ast.AST]:
    """``tree`` and every node under it, in the order of ``ast.walk`` (breadth
    first): one walk that several scans of a module share, each then looping over
    a list. Building the list takes about two thirds of the time of ``ast.walk``."""
    found = [tree]
    add = found.append
    # The list grows while it is read: each node's children join the end.
    for node in found:
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, ast.AST):
                add(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        add(item)
    return found


class NodeIndex:
    """Every node of one tree in the order of ``ast.walk``, and the nodes of each type:
    one walk that the rules reading the same module share, instead of one walk each."""

    def __init__(self, tree: ast.AST) -> None:
        self.nodes = all_nodes(tree)
        self._by_type: dict[type[ast.AST], list[ast.AST]] | None = None

    def of(self, node_type: type[NodeT]) -> list[NodeT]:
        """The nodes of this concrete type (``ast.Call``, not ``ast.expr``: the parser makes
        no subclasses of them), in walk order. The list is shared: do not change it."""
        if self._by_type is None:
            by_type: dict[type[ast.AST], list[ast.AST]] = {}
            for node in self.nodes:
                kind = type(node)
                if kind in by_type:
                    by_type[kind].append(node)
                else:
                    by_type[kind] = [node]
            self._by_type = by_type
        return cast(list[NodeT], self._by_type.get(node_type, []))

    def in_walk_order(self, *types: type[ast.AST]) -> list[ast.AST]:
        """The nodes of any of these concrete types, in walk order across the types."""
        wanted = set(types)
        return [node for node in self.nodes if type(node) in wanted]


class _LastIndex:
    """The index of the tree asked for last. The engine runs a file's rules one after
    another on one shared tree: keeping one index serves them all, and holds one tree
    in memory, never a run's worth. Another tree (the base side, another thread's file)
    gets an index of its own."""

    def __init__(self) -> None:
        self.kept: tuple[ast.AST, NodeIndex] | None = None

    def __call__(self, tree: ast.AST) -> NodeIndex:
        kept = self.kept
        if kept is not None and kept[0] is tree:
            return kept[1]
        index = NodeIndex(tree)
        self.kept = (tree, index)
        return index


node_index = _LastIndex()
