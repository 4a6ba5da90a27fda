"""The node index the rules share: the same nodes as ``ast.walk``, by type and in order."""

from __future__ import annotations

import ast

from faultline.analyzers.lib.python.imports import import_map, imports_any
from faultline.analyzers.lib.python.nodes import all_nodes, node_index

SOURCE = """\
import os
from sqlalchemy import create_engine as make

def f(x):
    import json as os
    return [make(y) for y in x]

class C:
    def g(self):
        return os.getenv("A")
"""


def test_walks_like_ast_walk() -> None:
    tree = ast.parse(SOURCE)
    index = node_index(tree)
    assert index.nodes == list(ast.walk(tree)) == all_nodes(tree)


def test_of_lists_one_type_in_walk_order() -> None:
    tree = ast.parse(SOURCE)
    walked = list(ast.walk(tree))
    index = node_index(tree)
    assert index.of(ast.Call) == [node for node in walked if type(node) is ast.Call]
    assert [node.name for node in index.of(ast.FunctionDef)] == ["f", "g"]
    assert index.of(ast.While) == []


def test_in_walk_order_interleaves_types() -> None:
    tree = ast.parse(SOURCE)
    kinds = (ast.FunctionDef, ast.ClassDef, ast.Import)
    expected = [node for node in ast.walk(tree) if isinstance(node, kinds)]
    assert node_index(tree).in_walk_order(*kinds) == expected


def test_index_is_kept_for_the_same_tree_only() -> None:
    first, second = ast.parse(SOURCE), ast.parse(SOURCE)
    assert node_index(first) is node_index(first)
    other = node_index(second)
    assert other is not node_index(first)
    assert other.nodes[0] is second


def test_import_map_later_import_in_walk_order_wins_and_bound_names_drop() -> None:
    # ``os`` is imported twice: the module's ``import os`` comes first in walk order, the
    # function's ``import json as os`` later, so it wins; ``make`` is bound only by its import.
    assert import_map(ast.parse(SOURCE)) == {"os": "json", "make": "sqlalchemy.create_engine"}
    rebound = ast.parse("from requests import get\n\ndef get():\n    pass\n")
    assert import_map(rebound) == {}


def test_imports_any_reads_imports_at_any_depth_and_skips_relative_ones() -> None:
    tree = ast.parse("from . import requests\n\ndef f():\n    if x:\n        import httpx.client as c\n")
    assert imports_any(tree, ("httpx",))
    assert not imports_any(tree, ("requests",))
    assert not imports_any(ast.parse(""), ("httpx",))
