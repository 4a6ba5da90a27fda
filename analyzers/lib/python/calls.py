"""What a call is given, and the statements of one scope: the keyword arguments a
call passes (or may pass through ``**kwargs``), a keyword appended to it, and the
nodes of a function or module that do not belong to a nested one."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from faultline.analyzers.core.findings import Suggestion
from faultline.analyzers.core.rule import replace_span
from faultline.analyzers.core.source import SourceFile

# Nodes that open a scope of their own: what they hold is not the scope's code.
NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def keyword_value(call: ast.Call, name: str) -> ast.expr | None:
    """The value of ``name=``, or None."""
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def splats_keywords(call: ast.Call) -> bool:
    """The call passes ``**kwargs``: any keyword may be in it."""
    return any(kw.arg is None for kw in call.keywords)


def is_none(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def scope_nodes(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """Every node of ``body`` except those inside a nested def, class or lambda
    (their own nodes are not yielded either, only skipped)."""
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, NESTED_SCOPES):
            # A decorator or a default runs in this scope; the body does not.
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                stack.extend(reversed(node.decorator_list))
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))


def own_nodes(scope: ast.AST) -> list[ast.AST]:
    """The nodes that are the code of ``scope`` (a module, class, def or lambda): those under it
    but not inside a nested def, class or lambda, whose own node is counted here and whose
    decorators and defaults are counted with its body. A rule that judges a few scopes of a
    large module walks just those, not the whole tree; the list is in no particular order."""
    found: list[ast.AST] = []
    stack = [scope]
    while stack:
        node = stack.pop()
        for name in node._fields:
            value = getattr(node, name, None)
            for child in value if isinstance(value, list) else (value,):
                if not isinstance(child, ast.AST):
                    continue
                found.append(child)
                if not isinstance(child, NESTED_SCOPES):
                    stack.append(child)
    return found


def functions(
    tree: ast.Module,
) -> Iterator[tuple[ast.FunctionDef | ast.AsyncFunctionDef, ast.ClassDef | None]]:
    """Every function of the module with the class it is a method of, if any."""
    stack: list[tuple[ast.AST, ast.ClassDef | None]] = [(tree, None)]
    while stack:
        node, owner = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield child, owner
                stack.append((child, None))
            elif isinstance(child, ast.ClassDef):
                stack.append((child, child))
            elif isinstance(child, ast.stmt):
                stack.append((child, owner))


def append_keyword(source: SourceFile, call: ast.Call, text: str, title: str) -> Suggestion | None:
    """A suggestion that adds ``text`` (``timeout=10``) as the call's last argument,
    on the line of its current last argument; None when the call's text is not
    plain enough to edit safely (no arguments and something between the parentheses)."""
    arguments: list[ast.expr | ast.keyword] = [*call.args, *call.keywords]
    if arguments:
        last = max(arguments, key=lambda node: (node.end_lineno or 0, node.end_col_offset or 0))
        line, col = last.end_lineno, last.end_col_offset
        if line is None or col is None:
            return None
        return replace_span(source, line, col, line, col, f", {text}", title)
    end_line, end_col = call.end_lineno, call.end_col_offset
    if end_line is None or end_col is None or end_col < 2:
        return None
    if source.line(end_line).encode()[end_col - 2 : end_col] != b"()":
        return None
    return replace_span(source, end_line, end_col - 1, end_line, end_col - 1, text, title)


def replace_node(source: SourceFile, node: ast.expr, text: str, title: str) -> Suggestion | None:
    """A suggestion that swaps a one-line expression for ``text``."""
    if node.end_lineno != node.lineno or node.end_col_offset is None:
        return None
    return replace_span(source, node.lineno, node.col_offset, node.lineno, node.end_col_offset, text, title)
