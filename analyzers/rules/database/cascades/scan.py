"""Reads the delete cascades of one file: a walk over a Python module's
statements (SQLAlchemy models and tables, Alembic operations, Django fields,
SQL strings), or the text of a ``.sql`` file."""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import NamedTuple

from faultline.analyzers.core.source import SourceFile
from faultline.analyzers.languages import python
from faultline.analyzers.lib.python.imports import imported_names, imports_package
from faultline.analyzers.lib.python.nodes import (
    argument,
    call_name,
    child_nodes,
    defined_names,
    find_keyword,
    on_lines,
    span,
    string_value,
    string_values,
)
from faultline.analyzers.lib.python.orm import (
    annotated_class,
    class_of,
    is_abstract,
    referenced_table,
    table_name,
    table_of,
)
from faultline.analyzers.lib.sql.ddl import ON_DELETE_CASCADE, created_tables
from faultline.analyzers.rules.database.cascades import (
    DELETE,
    DELETE_ONLY,
    Cascade,
    Facts,
    Key,
    cascade_flags,
    cascade_value,
    sql_cascades,
)

RELATIONSHIP_CALLS = {"relationship", "relation", "dynamic_loader", "Relationship"}
COLUMN_CALLS = {"Column", "mapped_column", "Field"}
ALEMBIC_TABLE_OPS = {"create_table", "add_column"}
# A shared dict of keyword arguments matters when it holds one of these.
SHARED_KEYS = {"cascade", "ondelete", "on_delete", "db_on_delete", "sa_relationship_kwargs", "cascade_delete"}
# What an expression's lines hold when it can add a fact: a cascade (keyword, flag or SQL),
# an ``ondelete``/``on_delete``, or a table (``Table(...)``, ``op.create_table``). Any case:
# a wider net costs a walk, a narrower one a fact. The scan enters no other expression.
_FACT_WORDS = r"cascade|on_?delete|table"
# SQL files under such paths are migrations: history, in --all mode.
SQL_MIGRATION_PATH = re.compile(r"migrat|(^|/)V\d+__[^/]*$", re.IGNORECASE)


def scan_facts(source: SourceFile) -> Facts:
    """Cascades and declarations of one file (raises ParseError)."""
    if source.path.endswith(".sql"):
        facts = Facts(migration=bool(SQL_MIGRATION_PATH.search(source.path)))
        facts.cascades.extend(sql_cascades(source.text, 1))
        facts.created = created_tables(source.text)
        return facts
    return PythonScan(source.lines, source.text).scan(python.module(source))


class Scope(NamedTuple):
    """Where the walker is: enclosing class, table, column and statement. A named
    tuple, not a dataclass: the walker makes thousands, and ``_replace`` is several
    times faster than ``dataclasses.replace``."""

    cls: str = ""
    table: str = ""  # the table rows of this scope live in (__tablename__, Table(), op call)
    ddl: bool = False  # inside an Alembic operation: the table is checked by creation
    snapshot: bool = False  # a model class or Table() inside a migration: not DDL
    target: str = ""  # the name being assigned (attribute, column, dict key)
    annotation: ast.expr | None = None
    column: str = ""
    related: str = ""  # the class a relationship() points to, for its backref
    abstract: bool = False
    anchor: tuple[int, int] = (0, 0)

    @property
    def owner(self) -> str:
        return self.table or self.cls

    @property
    def container(self) -> tuple[str, str]:
        return ("ddl", self.table) if self.ddl else ("decl", self.cls or self.table)


def shared_arguments(module: ast.Module) -> dict[str, list[tuple[str, ast.expr]]]:
    """Dicts of keyword arguments bound to a name at module or class level:
    ``COMMON_ARGS = {"cascade": "all"}`` or ``= dict(cascade="all")``."""
    found: dict[str, list[tuple[str, ast.expr]]] = {}
    statements = [*module.body, *(s for c in module.body if isinstance(c, ast.ClassDef) for s in c.body)]
    for statement in statements:
        if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
            continue
        target, value = statement.targets[0], statement.value
        if not isinstance(target, ast.Name):
            continue
        entries: list[tuple[str, ast.expr]] | None = None
        if isinstance(value, ast.Dict) and all(string_value(key) is not None for key in value.keys):
            entries = [
                (string_value(key) or "", item) for key, item in zip(value.keys, value.values, strict=True)
            ]
        elif isinstance(value, ast.Call) and call_name(value.func) == ("", "dict") and not value.args:
            entries = [(kw.arg, kw.value) for kw in value.keywords if kw.arg is not None]
        if entries and any(arg in SHARED_KEYS for arg, _ in entries):
            found[target.id] = entries
    return found


def _find(keywords: list[ast.keyword], name: str) -> ast.keyword | None:
    return next((keyword for keyword in keywords if keyword.arg == name), None)


class PythonScan:
    """Walks one module and collects its cascades and declarations."""

    def __init__(self, lines: list[str], text: str | None = None) -> None:
        self.lines = lines
        self.text = text  # the lines joined, when the caller has it
        self.facts = Facts()
        self.alembic = False
        self.django_migration = False
        self.batch_tables: dict[str, str] = {}
        self.aliases: dict[str, str] = {}
        # ``COMMON_ARGS = {"cascade": "all, delete-orphan"}`` at module or class level,
        # for ``relationship("Cookbook", **COMMON_ARGS)``.
        self.shared: dict[str, list[tuple[str, ast.expr]]] = {}
        self.sink = self.facts.cascades
        self.fact_lines: list[int] = []  # the lines that hold one of the fact words, in order
        self.statement_lines: list[int] = []  # those and the lines that hold ``class``

    def scan(self, module: ast.Module) -> Facts:
        # ``from sqlalchemy import Table as DBTable``: the name it was given, by the
        # name used; only ``from`` imports at the top, relative ones too.
        self.aliases = {
            imported.local: imported.name
            for imported in imported_names(module.body)
            if imported.module is not None and imported.aliased
        }
        top = {name for node in module.body for name in defined_names(node)}
        # Alembic revisions import op, or only helpers that wrap it (Superset).
        revision = {"upgrade", "revision", "down_revision"} <= top
        self.alembic = imports_package(module.body, "alembic") or revision
        self.django_migration = imports_package(module.body, "django") and any(
            isinstance(node, ast.ClassDef) and node.name == "Migration" for node in module.body
        )
        self.facts.migration = self.alembic or self.django_migration
        self.shared = shared_arguments(module)
        # Names that stand for a fact word: ``T`` of ``from sqlalchemy import Table as T``, ``**COMMON_ARGS``.
        names = [local for local, name in self.aliases.items() if name == "Table"] + list(self.shared)
        # Any case, searched in the lowered text: re's IGNORECASE is some four times slower.
        # ``class`` too: a class anywhere declares its name, with or without a fact word.
        words = re.compile(
            "|".join(["(?P<cls>class)", _FACT_WORDS, *(re.escape(name.lower()) for name in names)])
        )
        self.statement_lines, self.fact_lines = self._lines_holding(words)
        self._body(module.body, Scope())
        return self.facts

    def _lines_holding(self, words: re.Pattern[str]) -> tuple[list[int], list[int]]:
        """The numbers of the lines where ``words`` finds something in the line lowered, and
        of those where it finds more than ``class``: one search of the whole text, numbered
        by its newlines, where lines end with a newline alone."""
        text = None if self.text is None else self.text.lower()
        matches: Iterator[tuple[int, re.Match[str]]]
        if text is None or "\r" in text:
            numbered = enumerate(self.lines, 1)
            matches = ((number, match) for number, line in numbered for match in words.finditer(line.lower()))
        else:
            matches = self._numbered(words, text)
        any_word: list[int] = []
        fact: list[int] = []
        for number, match in matches:
            if not any_word or any_word[-1] != number:
                any_word.append(number)
            if match.group("cls") is None and (not fact or fact[-1] != number):
                fact.append(number)
        return any_word, fact

    @staticmethod
    def _numbered(words: re.Pattern[str], text: str) -> Iterator[tuple[int, re.Match[str]]]:
        number, counted = 1, 0
        for match in words.finditer(text):
            number += text.count("\n", counted, match.start())
            counted = match.start()
            yield number, match

    def _top(self, node: ast.expr, scope: Scope) -> None:
        """An expression of a statement, entered only when its lines hold a fact word."""
        if on_lines(node, self.fact_lines):
            self._expr(node, scope)

    def _body(self, statements: Iterable[ast.stmt], scope: Scope) -> None:
        for statement in statements:
            self._statement(statement, scope)

    def _statement(self, node: ast.stmt, scope: Scope) -> None:
        if not on_lines(node, self.statement_lines):
            return  # neither a fact word nor a class on its lines: nothing in it adds a fact
        if isinstance(node, ast.ClassDef):
            self._class(node, scope)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self._function(node, scope)
        elif isinstance(node, ast.Expr) and string_value(node.value) is not None:
            return  # a docstring
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [target.id for target in targets if isinstance(target, ast.Name)]
            annotation = node.annotation if isinstance(node, ast.AnnAssign) else None
            here = scope._replace(anchor=span(node), target=names[0] if names else "", annotation=annotation)
            if node.value is not None:
                self._top(node.value, here)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            self._with(node, scope)
        elif isinstance(node, ast.Return) and node.value is not None:
            self._top(node.value, scope._replace(anchor=span(node)))  # keeps a declared_attr's name
        else:
            self._children(node, scope)

    def _children(self, node: ast.AST, scope: Scope) -> None:
        """Statements inside ``node`` in ``scope``; its expressions anchored to
        the statement when it is a simple one, else to themselves."""
        children = list(child_nodes(node))
        simple = isinstance(node, ast.stmt) and not any(isinstance(c, ast.stmt) for c in children)
        # A simple statement's expressions share one scope, made once.
        whole = scope._replace(anchor=span(node), target="", annotation=None) if simple else None
        for child in children:
            if isinstance(child, ast.stmt):
                self._statement(child, scope)
            elif isinstance(child, ast.expr):
                own = (
                    scope._replace(anchor=span(child), target="", annotation=None) if whole is None else whole
                )
                self._top(child, own)
            else:
                self._children(child, scope)

    def _class(self, node: ast.ClassDef, scope: Scope) -> None:
        self.facts.declared.add(node.name)
        table = ""
        for statement in node.body:
            if isinstance(statement, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == "__tablename__" for target in statement.targets
            ):
                table = string_value(statement.value) or ""
        if table:
            self.facts.tables[node.name] = table
        abstract = node.name.endswith("Mixin") or is_abstract(node)
        self._body(node.body, Scope(cls=node.name, table=table, snapshot=self.alembic, abstract=abstract))

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope) -> None:
        # A method's return value is its attribute (declared_attr relationships).
        inner = scope._replace(target=node.name if scope.cls else "", annotation=node.returns)
        if not node.name.startswith("downgrade"):
            self._body(node.body, inner)
            return
        # What a downgrade recreates existed before the upgrade.
        self.sink, saved = self.facts.restored, self.sink
        self._body(node.body, inner)
        self.sink = saved

    def _with(self, node: ast.With | ast.AsyncWith, scope: Scope) -> None:
        for item in node.items:
            call = item.context_expr
            if isinstance(call, ast.Call) and call_name(call.func)[1] == "batch_alter_table":
                table = table_name(argument(call, 0, "table_name"))
                if table and isinstance(item.optional_vars, ast.Name):
                    self.batch_tables[item.optional_vars.id] = table
            self._top(call, scope._replace(anchor=span(call), target="", annotation=None))
        self._body(node.body, scope)

    def _expr(self, node: ast.expr, scope: Scope) -> None:
        if isinstance(node, ast.Call):
            self._call(node, scope)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                name = string_value(key)
                self._expr(value, scope._replace(target=name) if name else scope)
        elif isinstance(node, (ast.Constant, ast.JoinedStr)):
            self._sql(node, scope)
        elif not isinstance(node, ast.Name):  # a name holds no expression: the commonest leaf
            for child in child_nodes(node):
                if isinstance(child, ast.expr):
                    self._expr(child, scope)

    def _call(self, call: ast.Call, scope: Scope) -> None:
        receiver, name = call_name(call.func)
        name = self.aliases.get(name, name)  # from sqlalchemy import Table as DBTable
        inner = self._inner_scope(call, receiver, name, scope)
        if not inner.snapshot:
            self._call_cascades(call, receiver, name, inner, scope)
        self._expr(call.func, scope)
        # One scope for all the arguments: the walker meets thousands of calls.
        arguments = inner._replace(target="") if inner.target else inner
        for arg in call.args:
            self._expr(arg, arguments)
        for keyword in call.keywords:
            if keyword.arg != "reverse_sql":  # a Django RunSQL's way back
                self._expr(keyword.value, arguments)

    def _inner_scope(self, call: ast.Call, receiver: str, name: str, scope: Scope) -> Scope:
        """The scope of a call's arguments: a table, a column, a relationship."""
        if name == "Table" and (table := string_value(argument(call, 0, "name"))):
            self.facts.declared.add(table)
            return scope._replace(table=table, cls="", snapshot=self.alembic)
        if name in ALEMBIC_TABLE_OPS and self._is_op(receiver):
            table = self.batch_tables.get(receiver) or table_name(argument(call, 0, "table_name"))
            if name == "create_table" and table:
                self.facts.created.add(table.lower())
            return scope._replace(table=table, cls="", ddl=True, snapshot=False)
        if name in COLUMN_CALLS:
            column = string_value(call.args[0]) if call.args else None
            return scope._replace(column=column or scope.target)
        if name in ("map_imperatively", "mapper"):
            return scope._replace(cls=class_of(argument(call, 0, "class_")))
        if name in RELATIONSHIP_CALLS:
            target = argument(call, 0, "argument")
            related = class_of(target) or annotated_class(scope.annotation)
            return scope._replace(related=related)
        return scope

    def _keywords(self, call: ast.Call) -> list[ast.keyword]:
        """The call's keywords, with those of a ``**NAME`` dict of the module written
        where ``**NAME`` is: each relationship that uses it is its own cascade."""
        if not self.shared or all(keyword.arg is not None for keyword in call.keywords):
            return call.keywords
        found: list[ast.keyword] = []
        for keyword in call.keywords:
            entries = self.shared.get(keyword.value.id) if isinstance(keyword.value, ast.Name) else None
            if keyword.arg is not None or entries is None:
                found.append(keyword)
                continue
            for arg, value in entries:
                moved = ast.copy_location(copy.copy(value), keyword.value)
                moved.end_lineno, moved.end_col_offset = (
                    keyword.value.end_lineno,
                    keyword.value.end_col_offset,
                )
                found.append(ast.keyword(arg=arg, value=moved))
        return found

    def _is_op(self, receiver: str) -> bool:
        return receiver == "op" or receiver in self.batch_tables

    def _call_cascades(self, call: ast.Call, receiver: str, name: str, inner: Scope, scope: Scope) -> None:
        if name in RELATIONSHIP_CALLS or name == "backref":
            self._relationship(call, name, inner, scope)
        for keyword in self._keywords(call):
            if keyword.arg in ("ondelete", "on_delete", "db_on_delete"):
                kind = cascade_value(keyword.value)
                if kind == "name" and not self.django_migration:
                    self._django(call, keyword, scope)
                elif kind == "string":
                    self._foreign_key(call, keyword, scope, receiver, name)

    def _add(
        self,
        scope: Scope,
        key: Key,
        at: ast.AST,
        *,
        parent: str,
        child: str,
        flags: frozenset[str] = DELETE_ONLY,
        container: tuple[str, str] | None = None,
        routine: bool = False,
    ) -> None:
        anchor = scope.anchor if scope.anchor != (0, 0) else span(at)
        if key[0] == "fk":
            key = ("fk", key[1].lower(), key[2].lower())
        container = container or scope.container
        if container[0] == "ddl":
            container = ("ddl", container[1].lower())  # compared with created tables
        line, column = getattr(at, "lineno", 1), getattr(at, "col_offset", 0) + 1
        self.sink.append(
            Cascade(key, flags, container, parent, child, line, column, anchor, routine, scope.abstract)
        )

    def _relationship(self, call: ast.Call, name: str, inner: Scope, scope: Scope) -> None:
        """relationship(cascade=...), backref(cascade=...), SQLModel's Relationship."""
        at: ast.expr | None = None
        flags: frozenset[str] = frozenset()
        keywords = self._keywords(call)
        cascade = _find(keywords, "cascade")
        options = _find(keywords, "sa_relationship_kwargs")
        cascade_delete = _find(keywords, "cascade_delete")
        if cascade is not None:
            at, flags = cascade.value, cascade_flags(cascade.value)
        elif options is not None and isinstance(options.value, ast.Dict):
            for key, value in zip(options.value.keys, options.value.values, strict=True):
                if string_value(key) == "cascade":
                    at, flags = value, cascade_flags(value)
        elif cascade_delete is not None and isinstance(cascade_delete.value, ast.Constant):
            at, flags = (
                cascade_delete.value,
                frozenset({DELETE} if cascade_delete.value.value is True else ()),
            )
        if at is None or not flags:
            return
        if name == "backref":
            attribute = string_value(argument(call, 0, "name")) or ""
            self._add(
                scope,
                ("orm", scope.related, attribute),
                at,
                parent=scope.related,
                child=scope.cls,
                flags=flags,
            )
        else:
            self._add(
                scope,
                ("orm", scope.cls, scope.target),
                at,
                parent=scope.cls,
                child=inner.related,
                flags=flags,
            )

    def _django(self, call: ast.Call, keyword: ast.keyword, scope: Scope) -> None:
        parent_link = find_keyword(call, "parent_link")
        if parent_link and isinstance(parent_link.value, ast.Constant) and parent_link.value.value is True:
            return  # multi-table inheritance: the child row is part of the parent
        parent = class_of(argument(call, 0, "to"), own=scope.cls)
        key = ("django", scope.cls, scope.target) if scope.target else ("call", call_name(call.func)[1], "")
        self._add(scope, key, keyword.value, parent=parent, child=scope.cls, routine=True)

    def _foreign_key(
        self, call: ast.Call, keyword: ast.keyword, scope: Scope, receiver: str, name: str
    ) -> None:
        """ondelete="CASCADE" on ForeignKey, ForeignKeyConstraint, create_foreign_key and the like."""
        if name == "ForeignKey":
            column = scope.column or scope.target
            parent = referenced_table(argument(call, 0, "column"))
            self._add(scope, ("fk", scope.owner, column), keyword.value, parent=parent, child=scope.owner)
        elif name == "ForeignKeyConstraint":
            columns = ",".join(string_values(argument(call, 0, "columns")))
            parent = table_of(next(iter(string_values(argument(call, 1, "refcolumns"))), ""))
            self._add(scope, ("fk", scope.owner, columns), keyword.value, parent=parent, child=scope.owner)
        elif name == "create_foreign_key" and self._is_op(receiver):
            self._create_foreign_key(call, keyword, receiver, scope)
        elif scope.cls and scope.target:
            # SQLModel Field(foreign_key=..., ondelete=...); Odoo Many2one(ondelete="cascade"),
            # peewee ForeignKeyField(on_delete="CASCADE"): routine there, like Django's.
            foreign_key = find_keyword(call, "foreign_key")
            key = ("fk", scope.owner, scope.target)
            if foreign_key:
                parent = referenced_table(foreign_key.value)
                self._add(scope, key, keyword.value, parent=parent, child=scope.owner)
            else:
                parent = class_of(argument(call, 0, "model"))
                self._add(scope, key, keyword.value, parent=parent, child=scope.owner, routine=True)
        else:
            text = "".join(ast.unparse(call).split())
            self._add(scope, ("call", name, text), keyword.value, parent="", child=scope.owner)

    def _create_foreign_key(self, call: ast.Call, keyword: ast.keyword, receiver: str, scope: Scope) -> None:
        """op.create_foreign_key(name, source, referent, local_cols, remote_cols, ondelete=...);
        a batch operation has no source argument."""
        batch = self.batch_tables.get(receiver)
        shift = 0 if batch else 1
        source = batch or table_name(argument(call, 1, "source_table"))
        referent = table_name(argument(call, 1 + shift, "referent_table"))
        columns = ",".join(string_values(argument(call, 2 + shift, "local_cols")))
        key = ("fk", source, columns)
        self._add(scope, key, keyword.value, parent=referent, child=source, container=("ddl", source))

    def _sql_lines(self, text: str, first: int, last: int) -> dict[int, int]:
        """Where each ON DELETE CASCADE of a string's value is in the source: they
        differ for implicitly joined strings and escaped line breaks."""
        source = "\n".join(self.lines[first - 1 : last])
        in_value = [first + text.count("\n", 0, m.start()) for m in ON_DELETE_CASCADE.finditer(text)]
        in_source = [first + source.count("\n", 0, m.start()) for m in ON_DELETE_CASCADE.finditer(source)]
        if len(in_value) != len(in_source):
            return {}
        return dict(zip(reversed(in_value), reversed(in_source), strict=True))

    def _sql(self, node: ast.Constant | ast.JoinedStr, scope: Scope) -> None:
        """ON DELETE CASCADE in SQL strings (op.execute, RunSQL, text())."""
        if isinstance(node, ast.Constant):
            text = node.value if isinstance(node.value, str) else ""
        else:
            text = "".join(
                string_value(part)
                or ("{" + ast.unparse(part.value) + "}" if isinstance(part, ast.FormattedValue) else "")
                for part in node.values
            )
        if "cascade" not in text.lower() or scope.snapshot:
            return
        first, last = span(node)
        anchor = scope.anchor if scope.anchor != (0, 0) else (first, last)
        lines = self._sql_lines(text, first, last)
        for cascade in sql_cascades(text, first, anchor):
            line = lines.get(cascade.line, min(cascade.line, last))
            self.sink.append(replace(cascade, line=line, column=node.col_offset + 1))
        self.facts.created |= created_tables(text)
