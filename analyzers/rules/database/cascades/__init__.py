"""Delete cascades as data: what one side of one file declares (``Facts``), each
cascade keyed by what it is on, so that the two sides of a change compare."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from faultline.analyzers.lib.python.nodes import string_value, string_values
from faultline.analyzers.lib.sql.ddl import cascading_foreign_keys

# What a cascade is on: (mechanism, owner, name), e.g. ("orm", "Case", "canvases"),
# ("fk", "canvas", "case_id"), ("django", "Canvas", "case"), ("call", "redefine", text).
Key = tuple[str, str, str]
DELETE = "delete"
ORPHAN = "delete-orphan"
DELETE_ONLY = frozenset({DELETE})
# A file that holds none of these declares no cascade.
NEEDLES = (b"cascade", b"CASCADE", b"Cascade")
# What else a Python module that declares a cascade holds, by the three ways to declare
# one (the scan reads every string of a module with a needle, and most modules of an ORM
# have one, in prose): a relationship's ``cascade=`` (or the ``"cascade"`` key of its
# keyword dict) and the call's name; an ``ondelete=`` or ``on_delete=`` keyword; the
# ``ON DELETE`` of SQL, whose words may sit in two literals joined implicitly or apart
# behind an escape (``"ON\nDELETE"``). Each pattern starts with a literal, which the
# ``re`` module looks for as fast as ``in`` does; SQL is looked for in the lowered text.
_RELATIONSHIP_CASCADE = re.compile(rb"cascade(?:(?:_delete)?\s*=|[\"'])")
_RELATIONSHIP_CALLS = (b"elation", b"dynamic_loader", b"backref")  # relationship, relation, Relationship
_ON_DELETE_KEYWORDS = (b"ondelete", b"on_delete")
_SQL_ON_DELETE = re.compile(rb"on[\s\"'\\rbuftnv]*delete")
DJANGO_CASCADES = {"CASCADE", "DB_CASCADE"}


def may_declare_cascade(data: bytes) -> bool:
    """False for a Python module with a needle that cannot declare a cascade: its tree
    need not be walked (nor parsed) to find none."""
    if any(keyword in data for keyword in _ON_DELETE_KEYWORDS):
        return True
    if any(name in data for name in _RELATIONSHIP_CALLS) and _RELATIONSHIP_CASCADE.search(data):
        return True
    return _SQL_ON_DELETE.search(data.lower()) is not None


@dataclass(frozen=True)
class Cascade:
    """One delete cascade: what it is on, whose rows it deletes, and where it is written."""

    key: Key
    flags: frozenset[str]
    # Whose existing rows are at stake: ("decl", class or Table() name), existing
    # when the base declares it; ("ddl", table), existing unless the change creates it.
    container: tuple[str, str]
    parent: str
    child: str
    line: int
    column: int
    statement: tuple[int, int]
    # A field declaration in an ORM where CASCADE is the everyday choice (Django,
    # Odoo, peewee): left out of --all, where there would be hundreds.
    routine: bool = False
    abstract: bool = False  # on a mixin or abstract model: its rows live in subclasses

    @property
    def where(self) -> str:
        # Foreign key owners are lower-cased in the key, for comparison only.
        owner = self.child if self.key[0] == "fk" else self.key[1]
        return f"{owner}.{self.key[2]}" if owner else self.key[2]

    @property
    def reference(self) -> tuple[str, str]:
        """(columns, parent table): how a model and its migration name one foreign key."""
        return self.key[2], self.parent.lower()


@dataclass
class Facts:
    """The cascades of one side of one file, and what that side declares."""

    cascades: list[Cascade] = field(default_factory=list)
    restored: list[Cascade] = field(default_factory=list)  # what a downgrade recreates
    declared: set[str] = field(default_factory=set)  # classes and Table() names
    created: set[str] = field(default_factory=set)  # tables a migration or SQL creates
    tables: dict[str, str] = field(default_factory=dict)  # class -> __tablename__
    migration: bool = False

    def flags(self, restored: bool = True) -> dict[Key, frozenset[str]]:
        found: dict[Key, frozenset[str]] = {}
        for cascade in (*self.cascades, *(self.restored if restored else ())):
            found[cascade.key] = found.get(cascade.key, frozenset()) | cascade.flags
        return found


def sql_cascades(text: str, first_line: int, statement: tuple[int, int] | None = None) -> Iterator[Cascade]:
    """``ON DELETE CASCADE`` foreign keys in SQL text that starts on ``first_line``;
    ``statement``: the lines to give them instead of their SQL statement's."""
    for foreign_key in cascading_foreign_keys(text, first_line):
        table = foreign_key.table
        yield Cascade(
            key=("fk", table, foreign_key.columns),
            flags=DELETE_ONLY,
            container=("ddl", table),
            parent=foreign_key.parent,
            child=table,
            line=foreign_key.line,
            column=1,
            statement=statement or foreign_key.statement,
        )


def cascade_flags(node: ast.expr | None) -> frozenset[str]:
    """The delete parts of a relationship's ``cascade=`` value."""
    tokens = {token.strip() for text in string_values(node) for token in text.split(",")}
    if "none" in tokens:
        return frozenset()
    flags = {DELETE} if tokens & {"all", DELETE} else set()
    if ORPHAN in tokens:
        flags.add(ORPHAN)
    return frozenset(flags)


def cascade_value(node: ast.expr) -> str:
    """ "string" for ondelete="CASCADE", "name" for models.CASCADE, "" otherwise."""
    text = string_value(node)
    if text is not None:
        return "string" if text.strip().upper() == "CASCADE" else ""
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return "name" if name in DJANGO_CASCADES else ""


def signatures(cascade: Cascade) -> set[tuple[str, str, str, str]]:
    """A cascade without its name, and without its owner: what stays when a field
    is renamed, or moves to another class (a mixin, an abstract base)."""
    kind, owner, name = cascade.key
    other_end = (cascade.child if kind == "orm" else cascade.parent).lower()
    return {(kind, owner, "", other_end), (kind, "", name, other_end)}
