"""Small questions about tree-sitter nodes of TypeScript and JavaScript."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from faultline.analyzers.core.findings import Hit

if TYPE_CHECKING:
    from tree_sitter import Node

WORDS = re.compile(r"\w+")
FUNCTIONS = frozenset(
    {
        "function_declaration",
        "function_expression",
        "function",
        "arrow_function",
        "method_definition",
        "generator_function_declaration",
        "generator_function",
    }
)


def walk(node: Node) -> Iterator[Node]:
    """``node`` and every named node below it, in source order (no recursion: deep JSX)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.named_children))


def text(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode(errors="replace")


def callee(call: Node) -> str:
    """``console.error`` for ``console.error(x)``, ``fetch`` for ``fetch(u)``; "" for others."""
    function = call.child_by_field_name("function")
    if function is None or function.type not in ("identifier", "member_expression"):
        return ""
    return text(function)


def method(call: Node) -> str:
    """The property a method call names: ``then`` for ``p.then(f)``; "" for a plain call."""
    function = call.child_by_field_name("function")
    if function is None or function.type != "member_expression":
        return ""
    return text(function.child_by_field_name("property"))


def receiver(call: Node) -> Node | None:
    function = call.child_by_field_name("function")
    return (
        function.child_by_field_name("object")
        if function is not None and function.type == "member_expression"
        else None
    )


def arguments(call: Node) -> list[Node]:
    args = call.child_by_field_name("arguments")
    return [arg for arg in args.named_children if arg.type != "comment"] if args is not None else []


def enclosing_function(node: Node) -> Node | None:
    current = node.parent
    while current is not None and current.type not in FUNCTIONS:
        current = current.parent
    return current


def line(node: Node) -> int:
    return node.start_point.row + 1


def last_line(node: Node) -> int:
    return node.end_point.row + 1


def hit(node: Node, message: str, statement: Node | None = None) -> Hit:
    """A hit on ``node``'s first line; ``statement`` (default ``node``) spans the lines that
    make it count in a diff."""
    whole = statement or node
    return Hit(
        line(node),
        message,
        end_line=line(node),
        column=node.start_point.column + 1,
        statement=(line(whole), last_line(whole)),
        fingerprint_key=shape(whole),
    )


def shape(node: Node) -> str:
    """The statement's words without punctuation or spacing: what a formatter (prettier's quotes,
    parentheses, trailing commas, line breaks) leaves alone. A statement only reformatted by the
    change keeps its fingerprint and is not reported as new."""
    return " ".join(WORDS.findall(text(node)))
