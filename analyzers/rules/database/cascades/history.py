"""What existed before a change, for the cascades of one changed file: the
base side of the file, and what the change does to its other files (cascades
and classes moved out of them, tables created, foreign keys migrated)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Literal

from faultline.analyzers.core.changes import FileStatus
from faultline.analyzers.core.context import Context
from faultline.analyzers.core.source import ParseError, SourceFile
from faultline.analyzers.languages import python
from faultline.analyzers.lib.python.nodes import defined_names
from faultline.analyzers.lib.python.orm import class_of
from faultline.analyzers.rules.database.cascades import DELETE, NEEDLES, Cascade, Facts, Key, signatures
from faultline.analyzers.rules.database.cascades.scan import scan_facts

# Context memo keys: one index per run; facts by side and path.
INDEX_KEY = "cascade-delete:index"
FACTS_KEY = "cascade-delete:facts"
Side = Literal["new", "base"]


def facts_of(
    ctx: Context, source: SourceFile | None, side: Side, gate: bool = True, strict: bool = False
) -> Facts:
    """Facts of ``source``, one side of a file of the change, read once per run;
    empty when it lacks the needles (unless ``gate`` is False) or, unless
    ``strict``, cannot be parsed. Only the facts are kept, never the parsed tree."""
    if source is None or (gate and not any(needle in source.data for needle in NEEDLES)):
        return Facts()
    try:
        return ctx.memo((FACTS_KEY, side, source.path), lambda: _scan(source))
    except ParseError:
        if strict:
            raise  # the engine reports the file the rule checks as FL000
        return Facts()


def _scan(source: SourceFile) -> Facts:
    try:
        return scan_facts(source)
    except RecursionError:
        return Facts()


def change_index(ctx: Context) -> ChangeIndex:
    """The index of the run's change, built for the first file that needs it."""
    return ctx.memo(INDEX_KEY, lambda: ChangeIndex(ctx))


class ChangeIndex:
    """What the other files of a change hold: cascades and classes moved out of
    them, tables the change creates, foreign keys its migrations add."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.sides: dict[str, tuple[Facts, Facts]] = {}
        for change in ctx.changes:
            if not change.path.endswith((".py", ".sql")):
                continue
            new = facts_of(ctx, ctx.source(change.path) if change.has_new_content else None, "new")
            base_source = ctx.base_source(change.path) if change.status != FileStatus.ADDED else None
            base = facts_of(ctx, base_source, "base")
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
        tree = python.module(source) if source is not None else None
    except ParseError:
        tree = None
    if tree is None:
        return {}
    return {
        node.name: (
            {class_of(base) for base in node.bases},
            {name for statement in node.body for name in defined_names(statement)},
        )
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
    }


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
        self.renamed = {signature for cascade in gone for signature in signatures(cascade)}
        self.declared = base.declared | index.moved_classes(path)
        self.index = index
        other_keys, tables = index.base_foreign_keys(path)
        self.tables = {**tables, **base.tables, **new.tables}
        self.foreign_keys = [*other_keys, *(cascade for cascade in base.cascades if cascade.key[0] == "fk")]

    def added_flags(self, cascade: Cascade) -> frozenset[str]:
        """The parts of ``cascade`` that are new."""
        if cascade.key not in self.flags and signatures(cascade) & self.renamed:
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
