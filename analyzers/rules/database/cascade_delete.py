"""FL002 cascade-delete: a change makes deleting one row delete others."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from faultline.analyzers.core.context import Context
from faultline.analyzers.core.findings import Hit, Severity
from faultline.analyzers.core.rule import Invalid, Rule, Valid
from faultline.analyzers.core.source import SourceFile
from faultline.analyzers.rules.database.cascades import (
    DELETE,
    NEEDLES,
    ORPHAN,
    Cascade,
    Facts,
    may_declare_cascade,
    sql_cascades,
)
from faultline.analyzers.rules.database.cascades.history import Before, change_index, facts_of

# The SQL reader, as its tests know it.
__all__ = ["CascadeDelete", "sql_cascades"]

ORM_DELETE = "deleting {parent} {now}deletes its {child} rows"
ORM_ORPHAN = "removing {child} from {where} {now}deletes it"
ORM_WHERE = " (delete cascade on {where})"
FK_MESSAGE = "deleting {parent} row {now}deletes its {child} rows (ON DELETE CASCADE on {where})"
DJANGO_MESSAGE = "deleting {parent} {now}deletes its {child} rows ({where} on_delete=CASCADE)"
TABLE_MESSAGE = "deleting {parents} deletes the {child} rows that point to it (ON DELETE CASCADE on {where})"
CALL_MESSAGE = (
    "`{name}(...)` sets ON DELETE CASCADE: deleting a referenced row {now}deletes the rows that point to it"
)


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


@dataclass(frozen=True)
class Found:
    """A cascade to report, with what makes its message."""

    cascade: Cascade
    flags: frozenset[str]
    existing: bool
    child: str


def _table_hit(cascades: list[Cascade]) -> Hit:
    """A new table whose foreign keys cascade from several parents: one notice."""
    first = min(cascades, key=lambda cascade: cascade.line)
    parents = list(dict.fromkeys(_article(cascade.parent or "referenced") + " row" for cascade in cascades))
    # A key declared twice (a column's ForeignKey and a ForeignKeyConstraint) is named once;
    # one whose columns could not be read is named by its table.
    where = ", ".join(dict.fromkeys(cascade.where.rstrip(".") for cascade in cascades))
    message = TABLE_MESSAGE.format(parents=" or ".join(parents), child=first.child, where=where)
    return Hit(
        line=first.line,
        column=first.column,
        message=message,
        severity=Severity.NOTICE,
        statement=first.statement,
        fingerprint_key="|".join(("table", first.key[1], *sorted(cascade.key[2] for cascade in cascades))),
    )


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
        # Cascades passed through a dict of shared arguments: one finding per relationship.
        Invalid(
            """\
class Household(Base):
    __tablename__ = "households"
    COMMON_ARGS = {"back_populates": "household", "cascade": "all, delete-orphan"}

    cookbooks = relationship("CookBook", **COMMON_ARGS)
""",
            base='class Household(Base):\n    __tablename__ = "households"\n'
            '    cookbooks = relationship("CookBook")\n',
            line=5,
            severity=Severity.WARNING,
            message="deleting a Household now deletes its CookBook rows",
        ),
        # A new association table: one notice for the table, not one per foreign key.
        Invalid(
            """\
assoc_case_tags = Table(
    "assoc_case_tags",
    Base.metadata,
    Column("case_id", Integer, ForeignKey("case.id", ondelete="CASCADE")),
    Column("tag_id", Integer, ForeignKey("tag.id", ondelete="CASCADE")),
    PrimaryKeyConstraint("case_id", "tag_id"),
)
""",
            line=4,
            severity=Severity.NOTICE,
            message="deleting a case row or a tag row deletes the assoc_case_tags rows that point to it "
            "(ON DELETE CASCADE on assoc_case_tags.case_id, assoc_case_tags.tag_id)",
        ),
        # Only delete-orphan is new.
        Invalid(
            _CASE.format(cascade=', cascade="all, delete-orphan"'),
            base=_CASE.format(cascade=', cascade="all"'),
            line=3,
            message="removing a Canvas from Case.canvases now deletes it",
        ),
    ]

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        if source.path.endswith(".py") and not may_declare_cascade(source.data):
            return  # nothing new on this side, so nothing to compare with the base
        facts = facts_of(ctx, source, "new", strict=True)
        if not facts.cascades:
            return
        if ctx.whole_files:
            yield from self._audit(facts)
            return
        index = change_index(ctx)
        base = facts_of(ctx, ctx.base_source(source.path), "base", gate=False)
        before = Before(base, facts, index, source.path)
        found: list[Found] = []
        for cascade in facts.cascades:
            flags = before.added_flags(cascade)
            if not flags or (
                cascade.key[0] == "fk" and not facts.migration and cascade.reference in index.migrated
            ):
                continue
            found.append(Found(cascade, flags, before.existing(cascade), before.child(cascade)))
        yield from self._hits(found)

    def _audit(self, facts: Facts) -> Iterator[Hit]:
        """--all: what cascades exist today, as notices."""
        if facts.migration:
            return
        found: list[Found] = []
        for cascade in facts.cascades:
            if not cascade.routine:
                mixin = cascade.abstract and cascade.key[0] != "orm"
                child = f"{cascade.child}-based" if mixin else cascade.child
                found.append(Found(cascade, cascade.flags, existing=False, child=child))
        yield from self._hits(found)

    def _hits(self, found: list[Found]) -> Iterator[Hit]:
        """One hit per cascade; one per new table for the foreign keys of a table that
        cascade from several parents (an association table: ``case_tag``)."""
        tables: dict[tuple[str, str], list[Found]] = {}
        for item in found:
            if item.cascade.key[0] == "fk" and not item.existing and item.cascade.key[1]:
                tables.setdefault((item.cascade.key[1], item.cascade.container[1]), []).append(item)
        grouped = {id(item) for group in tables.values() if len(group) > 1 for item in group}
        for item in found:
            if id(item) not in grouped:
                yield self._hit(item.cascade, item.flags, item.existing, item.child)
        for group in tables.values():
            if len(group) > 1:
                yield _table_hit([item.cascade for item in group])

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
