"""FL002 cascade-delete: a change makes deleting one row delete others."""

from __future__ import annotations

import ast
import re
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import ClassVar

from pydantic import BaseModel

from analyzers.changes import FileStatus
from analyzers.context import Context
from analyzers.findings import Hit, Severity
from analyzers.rule import Invalid, Rule, Valid
from analyzers.source import ParseError, SourceFile

# What a cascade is on: (mechanism, owner, name), e.g. ("orm", "Case", "canvases"),
# ("fk", "canvas", "case_id"), ("django", "Canvas", "case"), ("call", "redefine", text).
Key = tuple[str, str, str]
DELETE = "delete"
ORPHAN = "delete-orphan"
DELETE_ONLY = frozenset({DELETE})
NEEDLES = (b"cascade", b"CASCADE", b"Cascade")

RELATIONSHIP_CALLS = {"relationship", "relation", "dynamic_loader", "Relationship"}
COLUMN_CALLS = {"Column", "mapped_column", "Field"}
DJANGO_CASCADES = {"CASCADE", "DB_CASCADE"}
ALEMBIC_TABLE_OPS = {"create_table", "add_column"}
# Wrappers to look through when a relationship's class comes from its annotation.
TYPE_WRAPPERS = {
    "Mapped", "DynamicMapped", "WriteOnlyMapped", "Optional", "Union", "List", "list",
    "Set", "set", "Sequence", "Iterable", "Collection", "typing", "None", "ClassVar",
}  # fmt: skip
# SQL files under such paths are migrations: history, in --all mode.
SQL_MIGRATION_PATH = re.compile(r"migrat|(^|/)V\d+__[^/]*$", re.IGNORECASE)

ORM_DELETE = "deleting {parent} {now}deletes its {child} rows"
ORM_ORPHAN = "removing {child} from {where} {now}deletes it"
ORM_WHERE = " (delete cascade on {where})"
FK_MESSAGE = "deleting {parent} row {now}deletes its {child} rows (ON DELETE CASCADE on {where})"
DJANGO_MESSAGE = "deleting {parent} {now}deletes its {child} rows ({where} on_delete=CASCADE)"
CALL_MESSAGE = (
    "`{name}(...)` sets ON DELETE CASCADE: deleting a referenced row {now}deletes the rows that point to it"
)


@dataclass(frozen=True)
class Cascade:
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


# ---------------------------------------------------------------- SQL text

_PART = r'(?:[\w$]+|"[^"]+"|`[^`]+`|\[[^\]]+\])'
_NAME = rf"{_PART}(?:\s*\.\s*{_PART})*"
_ON_DELETE_CASCADE = re.compile(r"\bON\s+DELETE\s+CASCADE\b", re.IGNORECASE)
_CREATE_TABLE = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:GLOBAL|LOCAL)\s+)?(?:(?:TEMP|TEMPORARY|UNLOGGED)\s+)?"
    rf"TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?({_NAME})",
    re.IGNORECASE,
)
_ALTER_TABLE = re.compile(rf"^\s*ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?({_NAME})", re.IGNORECASE)
_REFERENCES = re.compile(rf"\bREFERENCES\s+({_NAME})", re.IGNORECASE)
_FOREIGN_KEY = re.compile(rf"\bFOREIGN\s+KEY\s*(?:{_PART}\s*)?\(([^)]*)\)", re.IGNORECASE)
_ADD_COLUMN = re.compile(rf"^\s*ADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?({_NAME})", re.IGNORECASE)
_FIRST_NAME = re.compile(rf"\s*({_NAME})")
_SQL_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_NOT_A_COLUMN = {"constraint", "foreign", "primary", "unique", "check", "index", "key", "add"}


def _identifier(text: str) -> str:
    """The last part of a possibly quoted, schema-qualified name, lower-cased."""
    parts = re.findall(_PART, text)
    return parts[-1].strip('"`[]').lower() if parts else ""


def _blank_comments(text: str) -> str:
    """SQL without comments; offsets and line breaks kept."""
    return _SQL_COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)


def sql_statements(text: str) -> Iterator[tuple[int, str]]:
    """(offset, text) of each ``;``-separated statement."""
    start = 0
    for part in text.split(";"):
        yield start, part
        start += len(part) + 1


def sql_created_tables(text: str) -> set[str]:
    return {
        _identifier(match.group(1))
        for _, stmt in sql_statements(_blank_comments(text))
        if (match := _CREATE_TABLE.match(stmt))
    }


def sql_cascades(text: str, first_line: int, statement: tuple[int, int] | None = None) -> Iterator[Cascade]:
    """``ON DELETE CASCADE`` foreign keys in SQL text that starts on ``first_line``."""
    text = _blank_comments(text)
    for offset, stmt in sql_statements(text):
        for match in _ON_DELETE_CASCADE.finditer(stmt):
            found = _sql_foreign_key(stmt, match.start())
            if found is None:
                continue
            table, cols, parent = found
            lead = len(stmt) - len(stmt.lstrip())
            span = statement or (
                first_line + text.count("\n", 0, offset + lead),
                first_line + text.count("\n", 0, offset + len(stmt.rstrip())),
            )
            yield Cascade(
                key=("fk", table, cols),
                flags=frozenset({DELETE}),
                container=("ddl", table),
                parent=parent,
                child=table,
                line=first_line + text.count("\n", 0, offset + match.start()),
                column=1,
                statement=span,
            )


def _sql_foreign_key(stmt: str, at: int) -> tuple[str, str, str] | None:
    """(table, columns, parent table) of the foreign key whose ON DELETE is at ``at``."""
    create = _CREATE_TABLE.match(stmt)
    alter = None if create else _ALTER_TABLE.match(stmt)
    header = create or alter
    if header is None:
        return None  # a trigger or function body, or prose: not a foreign key we can name
    item = _sql_item(stmt[header.end() : at], 1 if create else 0)
    references = list(_REFERENCES.finditer(item))
    if not references:
        return None
    reference = references[-1]
    foreign_key = _FOREIGN_KEY.search(item, 0, reference.start())
    if foreign_key:
        cols = ",".join(_identifier(col) for col in foreign_key.group(1).split(","))
    else:
        named = (_ADD_COLUMN if alter else _FIRST_NAME).match(item)
        cols = _identifier(named.group(1)) if named else ""
        cols = "" if cols in _NOT_A_COLUMN else cols
    return _identifier(header.group(1)), cols or "?", _identifier(reference.group(1))


def _sql_item(body: str, level: int) -> str:
    """The last comma-separated part of ``body`` (from after the table name to the
    ON DELETE) at paren depth ``level``: a CREATE TABLE column definition (1) or
    an ALTER TABLE action (0)."""
    depth = 0
    start = 0
    for index, char in enumerate(body):
        if char == "(":
            depth += 1
            if depth == level:
                start = index + 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif char == "," and depth == level:
            start = index + 1
    return body[start:]


# ---------------------------------------------------------------- Python


@dataclass(frozen=True)
class Scope:
    """Where the walker is: enclosing class, table, column and statement."""

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


def _call_name(func: ast.expr) -> tuple[str, str]:
    """(receiver, name) of a call: ``op.create_table`` -> ("op", "create_table")."""
    if isinstance(func, ast.Name):
        return "", func.id
    if isinstance(func, ast.Attribute):
        value = func.value
        receiver = value.id if isinstance(value, ast.Name) else getattr(value, "attr", "")
        return receiver, func.attr
    return "", ""


def _string(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _keyword(call: ast.Call, name: str) -> ast.keyword | None:
    return next((kw for kw in call.keywords if kw.arg == name), None)


def _argument(call: ast.Call, index: int, name: str) -> ast.expr | None:
    positional = [arg for arg in call.args if not isinstance(arg, ast.Starred)]
    if len(positional) == len(call.args) and len(positional) > index:
        return positional[index]
    keyword = _keyword(call, name)
    return keyword.value if keyword else None


def _strings(node: ast.expr | None) -> list[str]:
    if isinstance(node, (ast.List, ast.Tuple)):
        return [text for elt in node.elts if (text := _string(elt)) is not None]
    text = _string(node)
    return [text] if text is not None else []


def _class_of(node: ast.expr | None, own: str = "") -> str:
    """The class a relationship() or Django ForeignKey argument names."""
    if isinstance(node, ast.Lambda):
        node = node.body
    text = _string(node)
    if text is not None:
        return own if text == "self" else text.rsplit(".", 1)[-1]
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return "User" if node.attr == "AUTH_USER_MODEL" else node.attr
    if isinstance(node, ast.Call) and _call_name(node.func)[1] == "get_user_model":
        return "User"
    return ""


def _table_name(node: ast.expr | None) -> str:
    """A table argument: "case"; ``Case.__tablename__`` -> "Case"; a variable in backticks."""
    text = _string(node)
    if text is not None:
        return text
    if isinstance(node, ast.Attribute) and node.attr == "__tablename__":
        return _class_of(node.value)
    return f"`{ast.unparse(node)}`" if isinstance(node, (ast.Name, ast.Attribute)) else ""


def _annotated_class(node: ast.expr | None) -> str:
    """``Mapped[list["Canvas"]]`` -> "Canvas"."""
    if node is None:
        return ""
    text = _string(node)
    if text is not None:
        try:
            node = ast.parse(text, mode="eval").body
        except SyntaxError:
            return ""
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and child.id not in TYPE_WRAPPERS:
            return child.id
        if isinstance(child, ast.Constant) and isinstance(child.value, str) and child is not node:
            return _annotated_class(child)
    return ""


def _referenced_table(node: ast.expr | None) -> str:
    """``"case.id"`` -> "case"; ``Case.id`` -> "Case"; ``cases.c.id`` -> "cases"."""
    text = _string(node)
    if text is not None:
        return _table_of(text)
    if isinstance(node, ast.Attribute):
        value = node.value
        if isinstance(value, ast.Attribute) and value.attr == "c":
            value = value.value
        if isinstance(value, ast.Name):
            return value.id
        if isinstance(value, ast.Attribute):
            return value.attr
    return ""


def _table_of(column: str) -> str:
    """``"schema.case.id"`` -> "case"."""
    parts = column.split(".")
    return parts[-2] if len(parts) >= 2 else parts[0]


def _cascade_flags(node: ast.expr | None) -> frozenset[str]:
    """The delete parts of a relationship's ``cascade=`` value."""
    tokens = {token.strip() for text in _strings(node) for token in text.split(",")}
    if "none" in tokens:
        return frozenset()
    flags = {DELETE} if tokens & {"all", DELETE} else set()
    if ORPHAN in tokens:
        flags.add(ORPHAN)
    return frozenset(flags)


def _cascade_value(node: ast.expr) -> str:
    """ "string" for ondelete="CASCADE", "name" for models.CASCADE, "" otherwise."""
    text = _string(node)
    if text is not None:
        return "string" if text.strip().upper() == "CASCADE" else ""
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return "name" if name in DJANGO_CASCADES else ""


def _span(node: ast.AST) -> tuple[int, int]:
    first: int = getattr(node, "lineno", 1)
    last: int | None = getattr(node, "end_lineno", None)
    return first, last or first


def _defined_names(node: ast.stmt) -> Iterator[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield node.name
    elif isinstance(node, ast.Assign):
        yield from (target.id for target in node.targets if isinstance(target, ast.Name))
    elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        yield node.target.id


def _is_abstract(node: ast.ClassDef) -> bool:
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


def _imports(module: ast.Module, package: str) -> bool:
    for node in module.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == package:
            return True
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == package for a in node.names):
            return True
    return False


class PythonScan:
    """Walks one module and collects its cascades and declarations."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.facts = Facts()
        self.alembic = False
        self.django_migration = False
        self.batch_tables: dict[str, str] = {}
        self.aliases: dict[str, str] = {}
        self.sink = self.facts.cascades

    def scan(self, module: ast.Module) -> Facts:
        self.aliases = {
            alias.asname: alias.name
            for node in module.body
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
            if alias.asname
        }
        top = {name for node in module.body for name in _defined_names(node)}
        # Alembic revisions import op, or only helpers that wrap it (Superset).
        self.alembic = _imports(module, "alembic") or {"upgrade", "revision", "down_revision"} <= top
        self.django_migration = _imports(module, "django") and any(
            isinstance(node, ast.ClassDef) and node.name == "Migration" for node in module.body
        )
        self.facts.migration = self.alembic or self.django_migration
        self._body(module.body, Scope())
        return self.facts

    def _body(self, statements: Iterable[ast.stmt], scope: Scope) -> None:
        for statement in statements:
            self._statement(statement, scope)

    def _statement(self, node: ast.stmt, scope: Scope) -> None:
        if isinstance(node, ast.ClassDef):
            self._class(node, scope)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self._function(node, scope)
        elif isinstance(node, ast.Expr) and _string(node.value) is not None:
            return  # a docstring
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [target.id for target in targets if isinstance(target, ast.Name)]
            annotation = node.annotation if isinstance(node, ast.AnnAssign) else None
            here = replace(scope, anchor=_span(node), target=names[0] if names else "", annotation=annotation)
            if node.value is not None:
                self._expr(node.value, here)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            self._with(node, scope)
        elif isinstance(node, ast.Return) and node.value is not None:
            self._expr(node.value, replace(scope, anchor=_span(node)))  # keeps a declared_attr's name
        else:
            self._children(node, scope)

    def _children(self, node: ast.AST, scope: Scope) -> None:
        """Statements inside ``node`` in ``scope``; its expressions anchored to
        the statement when it is a simple one, else to themselves."""
        simple = isinstance(node, ast.stmt) and not any(
            isinstance(c, ast.stmt) for c in ast.iter_child_nodes(node)
        )
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                self._statement(child, scope)
            elif isinstance(child, ast.expr):
                anchor = _span(node) if simple else _span(child)
                self._expr(child, replace(scope, anchor=anchor, target="", annotation=None))
            else:
                self._children(child, scope)

    def _class(self, node: ast.ClassDef, scope: Scope) -> None:
        self.facts.declared.add(node.name)
        table = ""
        for statement in node.body:
            if isinstance(statement, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == "__tablename__" for target in statement.targets
            ):
                table = _string(statement.value) or ""
        if table:
            self.facts.tables[node.name] = table
        abstract = node.name.endswith("Mixin") or _is_abstract(node)
        self._body(node.body, Scope(cls=node.name, table=table, snapshot=self.alembic, abstract=abstract))

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope) -> None:
        # A method's return value is its attribute (declared_attr relationships).
        inner = replace(scope, target=node.name if scope.cls else "", annotation=node.returns)
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
            if isinstance(call, ast.Call) and _call_name(call.func)[1] == "batch_alter_table":
                table = _table_name(_argument(call, 0, "table_name"))
                if table and isinstance(item.optional_vars, ast.Name):
                    self.batch_tables[item.optional_vars.id] = table
            self._expr(call, replace(scope, anchor=_span(call), target="", annotation=None))
        self._body(node.body, scope)

    def _expr(self, node: ast.expr, scope: Scope) -> None:
        if isinstance(node, ast.Call):
            self._call(node, scope)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                name = _string(key)
                self._expr(value, replace(scope, target=name) if name else scope)
        elif isinstance(node, (ast.Constant, ast.JoinedStr)):
            self._sql(node, scope)
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self._expr(child, scope)

    def _call(self, call: ast.Call, scope: Scope) -> None:
        receiver, name = _call_name(call.func)
        name = self.aliases.get(name, name)  # from sqlalchemy import Table as DBTable
        inner = self._inner_scope(call, receiver, name, scope)
        if not inner.snapshot:
            self._call_cascades(call, receiver, name, inner, scope)
        self._expr(call.func, scope)
        for arg in call.args:
            self._expr(arg, replace(inner, target=""))
        for keyword in call.keywords:
            if keyword.arg != "reverse_sql":  # a Django RunSQL's way back
                self._expr(keyword.value, replace(inner, target=""))

    def _inner_scope(self, call: ast.Call, receiver: str, name: str, scope: Scope) -> Scope:
        """The scope of a call's arguments: a table, a column, a relationship."""
        if name == "Table" and (table := _string(_argument(call, 0, "name"))):
            self.facts.declared.add(table)
            return replace(scope, table=table, cls="", snapshot=self.alembic)
        if name in ALEMBIC_TABLE_OPS and self._is_op(receiver):
            table = self.batch_tables.get(receiver) or _table_name(_argument(call, 0, "table_name"))
            if name == "create_table" and table:
                self.facts.created.add(table.lower())
            return replace(scope, table=table, cls="", ddl=True, snapshot=False)
        if name in COLUMN_CALLS:
            column = _string(call.args[0]) if call.args else None
            return replace(scope, column=column or scope.target)
        if name in ("map_imperatively", "mapper"):
            return replace(scope, cls=_class_of(_argument(call, 0, "class_")))
        if name in RELATIONSHIP_CALLS:
            target = _argument(call, 0, "argument")
            related = _class_of(target) or _annotated_class(scope.annotation)
            return replace(scope, related=related)
        return scope

    def _is_op(self, receiver: str) -> bool:
        return receiver == "op" or receiver in self.batch_tables

    def _call_cascades(self, call: ast.Call, receiver: str, name: str, inner: Scope, scope: Scope) -> None:
        if name in RELATIONSHIP_CALLS or name == "backref":
            self._relationship(call, name, inner, scope)
        for keyword in call.keywords:
            if keyword.arg in ("ondelete", "on_delete", "db_on_delete"):
                kind = _cascade_value(keyword.value)
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
        anchor = scope.anchor if scope.anchor != (0, 0) else _span(at)
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
        cascade = _keyword(call, "cascade")
        options = _keyword(call, "sa_relationship_kwargs")
        cascade_delete = _keyword(call, "cascade_delete")
        if cascade is not None:
            at, flags = cascade.value, _cascade_flags(cascade.value)
        elif options is not None and isinstance(options.value, ast.Dict):
            for key, value in zip(options.value.keys, options.value.values, strict=True):
                if _string(key) == "cascade":
                    at, flags = value, _cascade_flags(value)
        elif cascade_delete is not None and isinstance(cascade_delete.value, ast.Constant):
            at, flags = (
                cascade_delete.value,
                frozenset({DELETE} if cascade_delete.value.value is True else ()),
            )
        if at is None or not flags:
            return
        if name == "backref":
            attribute = _string(_argument(call, 0, "name")) or ""
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
        parent_link = _keyword(call, "parent_link")
        if parent_link and isinstance(parent_link.value, ast.Constant) and parent_link.value.value is True:
            return  # multi-table inheritance: the child row is part of the parent
        parent = _class_of(_argument(call, 0, "to"), own=scope.cls)
        key = ("django", scope.cls, scope.target) if scope.target else ("call", _call_name(call.func)[1], "")
        self._add(scope, key, keyword.value, parent=parent, child=scope.cls, routine=True)

    def _foreign_key(
        self, call: ast.Call, keyword: ast.keyword, scope: Scope, receiver: str, name: str
    ) -> None:
        """ondelete="CASCADE" on ForeignKey, ForeignKeyConstraint, create_foreign_key and the like."""
        if name == "ForeignKey":
            column = scope.column or scope.target
            parent = _referenced_table(_argument(call, 0, "column"))
            self._add(scope, ("fk", scope.owner, column), keyword.value, parent=parent, child=scope.owner)
        elif name == "ForeignKeyConstraint":
            columns = ",".join(_strings(_argument(call, 0, "columns")))
            parent = _table_of(next(iter(_strings(_argument(call, 1, "refcolumns"))), ""))
            self._add(scope, ("fk", scope.owner, columns), keyword.value, parent=parent, child=scope.owner)
        elif name == "create_foreign_key" and self._is_op(receiver):
            self._create_foreign_key(call, keyword, receiver, scope)
        elif scope.cls and scope.target:
            # SQLModel Field(foreign_key=..., ondelete=...); Odoo Many2one(ondelete="cascade"),
            # peewee ForeignKeyField(on_delete="CASCADE"): routine there, like Django's.
            foreign_key = _keyword(call, "foreign_key")
            key = ("fk", scope.owner, scope.target)
            if foreign_key:
                parent = _referenced_table(foreign_key.value)
                self._add(scope, key, keyword.value, parent=parent, child=scope.owner)
            else:
                parent = _class_of(_argument(call, 0, "model"))
                self._add(scope, key, keyword.value, parent=parent, child=scope.owner, routine=True)
        else:
            text = "".join(ast.unparse(call).split())
            self._add(scope, ("call", name, text), keyword.value, parent="", child=scope.owner)

    def _create_foreign_key(self, call: ast.Call, keyword: ast.keyword, receiver: str, scope: Scope) -> None:
        """op.create_foreign_key(name, source, referent, local_cols, remote_cols, ondelete=...);
        a batch operation has no source argument."""
        batch = self.batch_tables.get(receiver)
        shift = 0 if batch else 1
        source = batch or _table_name(_argument(call, 1, "source_table"))
        referent = _table_name(_argument(call, 1 + shift, "referent_table"))
        columns = ",".join(_strings(_argument(call, 2 + shift, "local_cols")))
        key = ("fk", source, columns)
        self._add(scope, key, keyword.value, parent=referent, child=source, container=("ddl", source))

    def _sql_lines(self, text: str, first: int, last: int) -> dict[int, int]:
        """Where each ON DELETE CASCADE of a string's value is in the source: they
        differ for implicitly joined strings and escaped line breaks."""
        source = "\n".join(self.lines[first - 1 : last])
        in_value = [first + text.count("\n", 0, m.start()) for m in _ON_DELETE_CASCADE.finditer(text)]
        in_source = [first + source.count("\n", 0, m.start()) for m in _ON_DELETE_CASCADE.finditer(source)]
        if len(in_value) != len(in_source):
            return {}
        return dict(zip(reversed(in_value), reversed(in_source), strict=True))

    def _sql(self, node: ast.Constant | ast.JoinedStr, scope: Scope) -> None:
        """ON DELETE CASCADE in SQL strings (op.execute, RunSQL, text())."""
        if isinstance(node, ast.Constant):
            text = node.value if isinstance(node.value, str) else ""
        else:
            text = "".join(
                _string(part)
                or ("{" + ast.unparse(part.value) + "}" if isinstance(part, ast.FormattedValue) else "")
                for part in node.values
            )
        if "cascade" not in text.lower() or scope.snapshot:
            return
        first, last = _span(node)
        anchor = scope.anchor if scope.anchor != (0, 0) else (first, last)
        lines = self._sql_lines(text, first, last)
        for cascade in sql_cascades(text, first, anchor):
            line = lines.get(cascade.line, min(cascade.line, last))
            self.sink.append(replace(cascade, line=line, column=node.col_offset + 1))
        self.facts.created |= sql_created_tables(text)


# ---------------------------------------------------------------- the change


def scan_facts(source: SourceFile) -> Facts:
    """Cascades and declarations of one file (raises ParseError)."""
    if source.path.endswith(".sql"):
        facts = Facts(migration=bool(SQL_MIGRATION_PATH.search(source.path)))
        facts.cascades.extend(sql_cascades(source.text, 1))
        facts.created = sql_created_tables(source.text)
        return facts
    return PythonScan(source.lines).scan(source.python)


class ChangeIndex:
    """What the other files of a change hold: cascades and classes moved out of
    them, tables the change creates, foreign keys its migrations add."""

    def __init__(self, ctx: Context, facts_of: FactsCache) -> None:
        self.ctx = ctx
        self.sides: dict[str, tuple[Facts, Facts]] = {}
        for change in ctx.changes:
            if not change.path.endswith((".py", ".sql")):
                continue
            new = facts_of.get(ctx.source(change.path) if change.has_new_content else None)
            base = facts_of.get(ctx.base_source(change.path) if change.status != FileStatus.ADDED else None)
            self.sides[change.path] = (base, new)
        self.created: set[str] = set()
        self._classes: tuple[dict[str, tuple[set[str], set[str]]], set[str]] | None = None
        # Foreign keys the change's migrations add: a model that declares the
        # same one is not reported twice.
        self.migrated: set[tuple[str, str]] = set()
        for base, new in self.sides.values():
            self.created |= new.created - base.created
            if new.migration:
                existed = set(base.flags())
                self.migrated |= {
                    c.reference for c in new.cascades if c.key[0] == "fk" and c.key not in existed
                }

    def others(self, path: str) -> Iterator[tuple[Facts, Facts]]:
        return (sides for other, sides in self.sides.items() if other != path)

    def moved(self, path: str) -> list[Cascade]:
        """Cascades other changed files had and no longer have: moved, not new."""
        found: list[Cascade] = []
        for base, new in self.others(path):
            kept = {cascade.key for cascade in new.cascades}
            found.extend(cascade for cascade in base.cascades if cascade.key not in kept)
        return found

    def subclasses(self, name: str, attribute: str) -> tuple[list[str], bool]:
        """The classes of the change (new side) built on mixin ``name`` that do
        not define ``attribute`` themselves, and whether one existed before."""
        classes, declared = self._class_bases()
        found = sorted(cls for cls, (bases, own) in classes.items() if name in bases and attribute not in own)
        return found, any(cls in declared for cls in found)

    def _class_bases(self) -> tuple[dict[str, tuple[set[str], set[str]]], set[str]]:
        """Each class on the new side of the changed Python files with its base
        classes and own attributes, and the classes their base side declares.
        Parsed on demand: only a cascade on a mixin needs them."""
        if self._classes is None:
            bases: dict[str, tuple[set[str], set[str]]] = {}
            declared: set[str] = set()
            for change in self.ctx.changes:
                if change.path.endswith(".py"):
                    new = self.ctx.source(change.path) if change.has_new_content else None
                    bases.update(_classes(new))
                    base = self.ctx.base_source(change.path) if change.status != FileStatus.ADDED else None
                    declared |= set(_classes(base))
            self._classes = bases, declared
        return self._classes

    def moved_classes(self, path: str) -> set[str]:
        return {name for base, new in self.others(path) for name in base.declared - new.declared}

    def base_foreign_keys(self, path: str) -> tuple[list[Cascade], dict[str, str]]:
        cascades = [c for base, _ in self.others(path) for c in base.cascades if c.key[0] == "fk"]
        tables = {
            cls: table
            for base, new in self.others(path)
            for cls, table in {**base.tables, **new.tables}.items()
        }
        return cascades, tables


def _classes(source: SourceFile | None) -> dict[str, tuple[set[str], set[str]]]:
    """Each class in ``source`` with the names of its base classes and attributes."""
    try:
        tree = source.python if source is not None else None
    except ParseError:
        tree = None
    if tree is None:
        return {}
    return {
        node.name: (
            {_class_of(base) for base in node.bases},
            {name for statement in node.body for name in _defined_names(statement)},
        )
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
    }


class FactsCache:
    """Facts per SourceFile object (the Context shares one object per path and side)."""

    def __init__(self) -> None:
        self._facts: weakref.WeakKeyDictionary[SourceFile, Facts] = weakref.WeakKeyDictionary()

    def get(self, source: SourceFile | None, gate: bool = True, strict: bool = False) -> Facts:
        """Facts of ``source``; empty when it lacks the needles (unless ``gate``
        is False) or, unless ``strict``, cannot be parsed."""
        if source is None or (gate and not any(needle in source.data for needle in NEEDLES)):
            return Facts()
        if source not in self._facts:
            try:
                self._facts[source] = scan_facts(source)
            except ParseError:
                if strict:
                    raise  # the engine reports the file the rule checks as FL000
                return Facts()
            except RecursionError:
                self._facts[source] = Facts()
        return self._facts[source]


def _article(word: str) -> str:
    """ "a Case", "an Experiment"; "a user", "a unit" but "an upload"."""
    first, rest = word[:1].lower(), word[1:3].lower()
    if first == "u":
        sounds_like_you = len(rest) == 2 and rest[0] not in "aeiou" and rest[1] in "aeiou"
        return f"a {word}" if sounds_like_you else f"an {word}"
    return f"an {word}" if first in "aeio" else f"a {word}"


def describe(cascade: Cascade, flags: frozenset[str], now: str, child: str) -> str:
    """What now gets deleted with what; ``child`` names whose rows (a mixin's
    are its subclasses')."""
    kind = cascade.key[0]
    parent = cascade.parent
    child = child or "related"
    if kind == "orm":
        parts = []
        if DELETE in flags:
            parts.append(ORM_DELETE.format(parent=_article(parent or "parent"), now=now, child=child))
        if ORPHAN in flags:
            parts.append(
                ORM_ORPHAN.format(child=_article(child), where=cascade.where, now=now if not parts else "")
            )
        tail = ORM_WHERE.format(where=cascade.where) if ORPHAN not in flags else ""
        return ", and ".join(parts) + tail
    if kind == "fk":
        return FK_MESSAGE.format(
            parent=_article(parent or "referenced"), now=now, child=child, where=cascade.where
        )
    if kind == "django":
        return DJANGO_MESSAGE.format(
            parent=_article(parent or "parent"), now=now, child=child, where=cascade.where
        )
    return CALL_MESSAGE.format(name=cascade.key[1], now=now)


def _signatures(cascade: Cascade) -> set[tuple[str, str, str, str]]:
    """A cascade without its name, and without its owner: what stays when a field
    is renamed, or moves to another class (a mixin, an abstract base)."""
    kind, owner, name = cascade.key
    other_end = (cascade.child if kind == "orm" else cascade.parent).lower()
    return {(kind, owner, "", other_end), (kind, "", name, other_end)}


class Before:
    """What existed before the change, as seen from one changed file."""

    def __init__(self, base: Facts, new: Facts, index: ChangeIndex, path: str) -> None:
        kept = {cascade.key for cascade in new.cascades}
        moved = index.moved(path)
        # Cascades in the base, moved from another file, or recreated by this
        # migration's downgrade.
        self.flags: dict[Key, frozenset[str]] = {}
        for cascade in (*base.cascades, *base.restored, *new.restored, *moved):
            self.flags[cascade.key] = self.flags.get(cascade.key, frozenset()) | cascade.flags
        gone = [*moved, *(cascade for cascade in base.cascades if cascade.key not in kept)]
        self.renamed = {signature for cascade in gone for signature in _signatures(cascade)}
        self.declared = base.declared | index.moved_classes(path)
        self.index = index
        other_keys, tables = index.base_foreign_keys(path)
        self.tables = {**tables, **base.tables, **new.tables}
        self.foreign_keys = [*other_keys, *(cascade for cascade in base.cascades if cascade.key[0] == "fk")]

    def added_flags(self, cascade: Cascade) -> frozenset[str]:
        """The parts of ``cascade`` that are new."""
        if cascade.key not in self.flags and _signatures(cascade) & self.renamed:
            return frozenset()
        flags = cascade.flags - self.flags.get(cascade.key, frozenset())
        if cascade.key[0] == "orm" and DELETE in flags and self._database_cascades(cascade):
            flags -= {DELETE}
        return flags

    def existing(self, cascade: Cascade) -> bool:
        """Whether rows that exist today are at stake (a warning) or not (a notice)."""
        kind, name = cascade.container
        if kind == "ddl":
            return name not in self.index.created
        if not name or name in self.declared:
            return True
        # A new mixin puts its cascade on the existing models built on it.
        return cascade.abstract and self.index.subclasses(name, cascade.key[2])[1]

    def child(self, cascade: Cascade) -> str:
        """Whose rows get deleted: a mixin's are its subclasses'."""
        if not cascade.abstract or cascade.key[0] == "orm":
            return cascade.child
        subclasses = self.index.subclasses(cascade.child, cascade.key[2])[0]
        if not subclasses:
            return f"{cascade.child}-based"
        return ", ".join(subclasses[:3]) + (", ..." if len(subclasses) > 3 else "")

    def _database_cascades(self, cascade: Cascade) -> bool:
        """True when ON DELETE CASCADE already deletes this relationship's child
        rows: an ORM delete cascade on top of it changes nothing for them."""
        tables = self.tables
        parents = {name.lower() for name in (cascade.parent, tables.get(cascade.parent, "")) if name}
        children = {name.lower() for name in (cascade.child, tables.get(cascade.child, "")) if name}
        return any(fk.key[1] in children and fk.parent.lower() in parents for fk in self.foreign_keys)


# Example code shared by several examples.
_CANVAS = """\
class Canvas(Base):
    __tablename__ = "canvas"
    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("case.id", ondelete="CASCADE"), nullable=False)
"""
_CANVAS_SPLIT = """\
class Canvas(Base):
    __tablename__ = "canvas"
    id = Column(Integer, primary_key=True)
    case_id = Column(
        Integer,
        ForeignKey(
            "case.id",
            ondelete="CASCADE",
        ),
        nullable=False,
    )
"""
_CASE = """\
class Case(Base):
    __tablename__ = "case"
    canvases = relationship("Canvas"{cascade})
"""
_DJANGO = """\
class Canvas(models.Model):
    case = models.ForeignKey(Case, on_delete=models.{action})
"""


class CascadeDelete(Rule):
    """## What it does
    Checks for new delete cascades: SQLAlchemy `relationship(cascade=...)` with
    `all`, `delete` or `delete-orphan`, `ForeignKey(..., ondelete="CASCADE")`,
    `ForeignKeyConstraint`, Alembic `op.create_foreign_key(..., ondelete="CASCADE")`,
    Django `on_delete=models.CASCADE`, and `ON DELETE CASCADE` in SQL (strings
    passed to `op.execute`, `.sql` migrations).

    Only cascades the change adds are reported: a reformatted, moved or renamed
    cascade is not. A cascade added to an existing relationship, column or table
    is a warning, because rows that exist today will now be deleted with their
    parent; one on a table or relationship the change creates is a notice. A
    cascade on a mixin or abstract model is reported for the models built on it.
    When a migration adds the same foreign key as a model, only the migration is
    reported; Django migrations repeat their model and are not.

    In `--all` mode every cascade is reported as a notice, except Django's
    `on_delete=models.CASCADE` (the usual choice there: hundreds would drown the
    rest) and migration files, which are history.

    ## Why is this risky?
    A cascade turns one delete into many. Deleting a case silently deletes its
    canvases, their comments, and whatever cascades from those; with
    `delete-orphan`, merely removing an item from a list deletes the row. Nothing
    asks for confirmation, the deleted rows leave no trace, and the only way back
    is a restore from backup. Reviewers should see each new cascade and agree
    that the children really have no life without the parent.

    ## Example
    ```python
    class Case(Base):
        __tablename__ = "case"
        canvases = relationship("Canvas", cascade="all, delete-orphan")
    ```

    ## Use instead
    Keep the cascade if the children cannot outlive the parent, and say so in the
    pull request. Otherwise let the delete fail while children exist
    (`ondelete="RESTRICT"`, Django `on_delete=models.PROTECT`), detach them
    (`ondelete="SET NULL"`), or archive the parent instead of deleting it:
    ```python
    class Case(Base):
        __tablename__ = "case"
        canvases = relationship("Canvas", back_populates="case")
    ```
    """

    code = "FL002"
    slug = "cascade-delete"
    severity = Severity.WARNING
    summary = "New delete cascade: deleting one row deletes others"
    patterns = ("*.py", "*.sql")
    production_only = True
    needles = NEEDLES

    VALID: ClassVar[list[Valid]] = [
        # No delete in this cascade.
        Valid(_CASE.format(cascade=', cascade="save-update, merge"')),
        # A Django migration repeats the model change, which is where it is reported.
        Valid(
            """\
from django.db import migrations, models


class Migration(migrations.Migration):
    operations = [
        migrations.AlterField(
            model_name="canvas",
            name="case",
            field=models.ForeignKey(on_delete=models.CASCADE, to="app.case"),
        ),
    ]
""",
            path="app/migrations/0007_alter_canvas_case.py",
        ),
        # A downgrade that restores the cascade; prose that mentions one.
        Valid(
            """\
from alembic import op


def upgrade():
    \"\"\"Drop ON DELETE CASCADE: canvas keeps its REFERENCES case.\"\"\"
    op.drop_constraint("fk_canvas_case", "canvas", type_="foreignkey")


def downgrade():
    op.create_foreign_key(
        "fk_canvas_case", "canvas", "case", ["case_id"], ["id"], ondelete="CASCADE"
    )
""",
            path="migrations/versions/0008_drop_cascade.py",
        ),
        # A formatter split the ForeignKey over several lines: the same cascade.
        Valid(_CANVAS_SPLIT, base=_CANVAS),
        # The relationship moved below another attribute.
        Valid(
            """\
class Case(Base):
    title = Column(String)
    canvases = relationship("Canvas", cascade="all, delete-orphan")
""",
            base="""\
class Case(Base):
    canvases = relationship("Canvas", cascade="all, delete-orphan")
    title = Column(String)
""",
        ),
        # The database already deletes the canvases with their case.
        Valid(
            _CANVAS + _CASE.format(cascade=', cascade="all", passive_deletes=True'),
            base=_CANVAS + _CASE.format(cascade=""),
        ),
        # A renamed Django field keeps its cascade.
        Valid(
            _DJANGO.format(action="CASCADE").replace("case =", "parent_case ="),
            base=_DJANGO.format(action="CASCADE"),
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        # A cascade added to an existing relationship.
        Invalid(
            _CASE.format(cascade=', cascade="all, delete-orphan"'),
            base=_CASE.format(cascade=""),
            line=3,
            severity=Severity.WARNING,
            message="deleting a Case now deletes its Canvas rows, and removing a Canvas from Case.canvases",
        ),
        Invalid(
            """\
from alembic import op


def upgrade():
    op.drop_constraint("fk_canvas_case", "canvas", type_="foreignkey")
    op.create_foreign_key(
        "fk_canvas_case", "canvas", "case", ["case_id"], ["id"], ondelete="CASCADE"
    )
""",
            path="migrations/versions/0010_cascade.py",
            line=7,
            severity=Severity.WARNING,
            message="deleting a case row now deletes its canvas rows (ON DELETE CASCADE on canvas.case_id)",
        ),
        Invalid(
            """\
CREATE TABLE canvas (
    id bigserial PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE
);
""",
            path="db/migrations/0012_canvas.sql",
            line=3,
            severity=Severity.NOTICE,
            message="deleting a cases row deletes its canvas rows (ON DELETE CASCADE on canvas.case_id)",
        ),
        Invalid(
            """\
import sqlalchemy as sa
from alembic import op


def upgrade():
    op.create_table(
        "canvas",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], ondelete="CASCADE"),
    )
""",
            path="migrations/versions/0009_canvas.py",
            line=10,
            severity=Severity.NOTICE,
            message="deleting a case row deletes its canvas rows",
        ),
        Invalid(
            """\
from alembic import op


def upgrade():
    op.execute(
        "ALTER TABLE note ADD CONSTRAINT fk_note_case FOREIGN KEY (case_id) "
        "REFERENCES cases (id) ON DELETE CASCADE"
    )
""",
            path="migrations/versions/0011_note.py",
            line=7,
            severity=Severity.WARNING,
            message="deleting a cases row now deletes its note rows (ON DELETE CASCADE on note.case_id)",
        ),
        # Django: PROTECT became CASCADE.
        Invalid(
            _DJANGO.format(action="CASCADE"),
            base=_DJANGO.format(action="PROTECT"),
            line=2,
            severity=Severity.WARNING,
            message="deleting a Case now deletes its Canvas rows (Canvas.case on_delete=CASCADE)",
        ),
        # A new model: no existing rows are at stake.
        Invalid(
            _CASE.format(cascade="") + "\n\n" + _CANVAS,
            base=_CASE.format(cascade=""),
            line=9,
            severity=Severity.NOTICE,
            message="deleting a case row deletes its canvas rows (ON DELETE CASCADE on canvas.case_id)",
        ),
        # Only delete-orphan is new.
        Invalid(
            _CASE.format(cascade=', cascade="all, delete-orphan"'),
            base=_CASE.format(cascade=', cascade="all"'),
            line=3,
            message="removing a Canvas from Case.canvases now deletes it",
        ),
    ]

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self._cache = FactsCache()
        self._indexes: weakref.WeakKeyDictionary[Context, ChangeIndex] = weakref.WeakKeyDictionary()

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        facts = self._cache.get(source, strict=True)
        if not facts.cascades:
            return
        if ctx.whole_files:
            yield from self._audit(facts)
            return
        index = self._index(ctx)
        base = self._cache.get(ctx.base_source(source.path), gate=False)
        before = Before(base, facts, index, source.path)
        for cascade in facts.cascades:
            flags = before.added_flags(cascade)
            if not flags or (
                cascade.key[0] == "fk" and not facts.migration and cascade.reference in index.migrated
            ):
                continue
            yield self._hit(cascade, flags, before.existing(cascade), before.child(cascade))

    def _audit(self, facts: Facts) -> Iterator[Hit]:
        """--all: what cascades exist today, as notices."""
        if facts.migration:
            return
        for cascade in facts.cascades:
            if not cascade.routine:
                mixin = cascade.abstract and cascade.key[0] != "orm"
                child = f"{cascade.child}-based" if mixin else cascade.child
                yield self._hit(cascade, cascade.flags, existing=False, child=child)

    def _index(self, ctx: Context) -> ChangeIndex:
        if ctx not in self._indexes:
            self._indexes[ctx] = ChangeIndex(ctx, self._cache)
        return self._indexes[ctx]

    @staticmethod
    def _hit(cascade: Cascade, flags: frozenset[str], existing: bool, child: str) -> Hit:
        return Hit(
            line=cascade.line,
            column=cascade.column,
            message=describe(cascade, flags, "now " if existing else "", child),
            severity=None if existing else Severity.NOTICE,
            statement=cascade.statement,
            fingerprint_key="|".join((*cascade.key, *sorted(flags))),
        )
