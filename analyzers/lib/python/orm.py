"""How SQLAlchemy, Alembic and Django code names the classes, tables and columns
it declares: ``relationship("Canvas")``, ``ForeignKey("case.id")``,
``Mapped[list["Canvas"]]``, ``class Meta: abstract = True``."""

from __future__ import annotations

import ast

from faultline.analyzers.lib.python.nodes import call_name, string_value

# Wrappers to look through when a relationship's class comes from its annotation.
TYPE_WRAPPERS = {
    "Mapped", "DynamicMapped", "WriteOnlyMapped", "Optional", "Union", "List", "list",
    "Set", "set", "Sequence", "Iterable", "Collection", "typing", "None", "ClassVar",
}  # fmt: skip


def class_of(node: ast.expr | None, own: str = "") -> str:
    """The class a relationship() or Django ForeignKey argument names."""
    if isinstance(node, ast.Lambda):
        node = node.body
    text = string_value(node)
    if text is not None:
        return own if text == "self" else text.rsplit(".", 1)[-1]
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return "User" if node.attr == "AUTH_USER_MODEL" else node.attr
    if isinstance(node, ast.Call) and call_name(node.func)[1] == "get_user_model":
        return "User"
    return ""


def table_name(node: ast.expr | None) -> str:
    """A table argument: "case"; ``Case.__tablename__`` -> "Case"; a variable in backticks."""
    text = string_value(node)
    if text is not None:
        return text
    if isinstance(node, ast.Attribute) and node.attr == "__tablename__":
        return class_of(node.value)
    return f"`{ast.unparse(node)}`" if isinstance(node, (ast.Name, ast.Attribute)) else ""


def annotated_class(node: ast.expr | None) -> str:
    """``Mapped[list["Canvas"]]`` -> "Canvas"."""
    if node is None:
        return ""
    text = string_value(node)
    if text is not None:
        try:
            node = ast.parse(text, mode="eval").body
        except SyntaxError:
            return ""
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and child.id not in TYPE_WRAPPERS:
            return child.id
        if isinstance(child, ast.Constant) and isinstance(child.value, str) and child is not node:
            return annotated_class(child)
    return ""


def referenced_table(node: ast.expr | None) -> str:
    """``"case.id"`` -> "case"; ``Case.id`` -> "Case"; ``cases.c.id`` -> "cases"."""
    text = string_value(node)
    if text is not None:
        return table_of(text)
    if isinstance(node, ast.Attribute):
        value = node.value
        if isinstance(value, ast.Attribute) and value.attr == "c":
            value = value.value
        if isinstance(value, ast.Name):
            return value.id
        if isinstance(value, ast.Attribute):
            return value.attr
    return ""


def table_of(column: str) -> str:
    """``"schema.case.id"`` -> "case"."""
    parts = column.split(".")
    return parts[-2] if len(parts) >= 2 else parts[0]


def is_abstract(node: ast.ClassDef) -> bool:
    """SQLAlchemy ``__abstract__ = True`` or Django ``class Meta: abstract = True``."""
    bodies = [node.body, *(n.body for n in node.body if isinstance(n, ast.ClassDef) and n.name == "Meta")]
    return any(
        isinstance(statement, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id in ("__abstract__", "abstract") for t in statement.targets)
        and isinstance(statement.value, ast.Constant)
        and statement.value.value is True
        for body in bodies
        for statement in body
    )
