"""FL002 beyond its examples: changes that span files, --all mode, the SQL reader."""

from __future__ import annotations

import pytest

from faultline.analyzers.core.changes import ChangeSet, FileChange, FileStatus, diff_texts
from faultline.analyzers.core.config import Config
from faultline.analyzers.core.engine import Engine
from faultline.analyzers.core.findings import Finding, Severity
from faultline.analyzers.core.repo import MemoryRepoView
from faultline.analyzers.core.rule import Valid
from faultline.analyzers.core.source import SourceFile
from faultline.analyzers.core.testing import run_example
from faultline.analyzers.languages import python
from faultline.analyzers.rules.database.cascade_delete import CascadeDelete, sql_cascades
from faultline.analyzers.rules.database.cascades import Facts
from faultline.analyzers.rules.database.cascades import scan as scan_module
from faultline.analyzers.rules.database.cascades.scan import PythonScan


def run(base: dict[str, str], new: dict[str, str]) -> list[Finding]:
    """FL002's findings on the change from ``base`` to ``new`` (whole repositories)."""
    changes = ChangeSet({})
    for path in sorted(base.keys() | new.keys()):
        if path not in new:
            changes.files[path] = FileChange(path, FileStatus.REMOVED)
        elif base.get(path) != new[path]:
            changes.files[path] = diff_texts(path, base.get(path), new[path])
    view = MemoryRepoView(
        {path: text.encode() for path, text in new.items()},
        {path: text.encode() for path, text in base.items()},
    )
    return Engine(Config(), [CascadeDelete]).run(changes, view).findings


def run_all(files: dict[str, str]) -> list[Finding]:
    view = MemoryRepoView({path: text.encode() for path, text in files.items()})
    return Engine(Config(), [CascadeDelete]).run(ChangeSet.whole(files), view).findings


CASE = """\
class Case(Base):
    __tablename__ = "case"
    canvases = relationship("Canvas", cascade="all, delete-orphan")
"""
OTHER = """\
class Other(Base):
    __tablename__ = "other"
"""


def test_a_class_moved_to_another_file_is_not_new() -> None:
    findings = run({"app/models.py": CASE + OTHER}, {"app/models.py": OTHER, "app/case.py": CASE})
    assert findings == []


def test_a_cascade_added_to_a_moved_class_is_a_warning() -> None:
    moved = CASE + '    notes = relationship("Note", cascade="all")\n'
    findings = run({"app/models.py": CASE + OTHER}, {"app/models.py": OTHER, "app/case.py": moved})
    assert [(f.path, f.line, f.severity) for f in findings] == [("app/case.py", 4, Severity.WARNING)]
    assert findings[0].message == "deleting a Case now deletes its Note rows (delete cascade on Case.notes)"


def test_the_migration_is_reported_instead_of_the_model() -> None:
    model = "class Canvas(Base):\n    __tablename__ = 'canvas'\n    id = Column(Integer, primary_key=True)\n"
    with_fk = model + "    case_id = Column(Integer, ForeignKey('case.id', ondelete='CASCADE'))\n"
    migration = (
        "import sqlalchemy as sa\nfrom alembic import op\n\n\ndef upgrade():\n"
        "    op.add_column('canvas', sa.Column('case_id', sa.Integer,"
        " sa.ForeignKey('case.id', ondelete='CASCADE')))\n"
    )
    findings = run(
        {"app/models.py": model},
        {"app/models.py": with_fk, "migrations/versions/0002_case_id.py": migration},
    )
    assert [(f.path, f.line, f.severity) for f in findings] == [
        ("migrations/versions/0002_case_id.py", 6, Severity.WARNING)
    ]


def test_a_new_mixin_reports_the_existing_models_built_on_it() -> None:
    mixin = "class ScopeMixin(models.Model):\n    site = models.ForeignKey(Site, on_delete=models.CASCADE)\n"
    cluster = "class Cluster(models.Model):\n    name = models.CharField()\n"
    findings = run(
        {"app/clusters.py": cluster},
        {"app/mixins.py": mixin, "app/clusters.py": cluster.replace("(models.Model)", "(ScopeMixin)")},
    )
    assert [(f.path, f.line, f.severity) for f in findings] == [("app/mixins.py", 2, Severity.WARNING)]
    assert findings[0].message.startswith("deleting a Site now deletes its Cluster rows")


def test_a_field_moved_into_an_abstract_base_is_not_new() -> None:
    own = "class Disk(models.Model):\n    vm = models.ForeignKey(VM, on_delete=models.CASCADE)\n"
    base_class = (
        "class Component(models.Model):\n    vm = models.ForeignKey(VM, on_delete=models.CASCADE)\n\n"
        "    class Meta:\n        abstract = True\n\n\nclass Disk(Component):\n    pass\n"
    )
    assert run({"app/models.py": own}, {"app/models.py": base_class}) == []


def test_a_parent_link_is_not_reported() -> None:
    code = (
        "class Place(models.Model):\n    pass\n\n\nclass Restaurant(Place):\n"
        "    place_ptr = models.OneToOneField(Place, on_delete=models.CASCADE, parent_link=True)\n"
    )
    assert run({}, {"app/models.py": code}) == []


def test_a_backref_names_the_relationship_target_as_parent() -> None:
    code = (
        "class Query(Base):\n"
        '    database = relationship("Database", backref=backref("queries", cascade="all"))\n'
    )
    findings = run({}, {"app/models.py": code})
    assert [f.message for f in findings] == [
        "deleting a Database deletes its Query rows (delete cascade on Database.queries)"
    ]


def test_whole_files_mode_lists_models_only_as_notices() -> None:
    files = {
        "app/models.py": CASE,
        "app/django_models.py": (
            "class Canvas(models.Model):\n    case = models.ForeignKey(Case, on_delete=models.CASCADE)\n"
        ),
        "migrations/versions/0001.py": (
            "from alembic import op\n\n\ndef upgrade():\n"
            "    op.create_foreign_key('fk', 'canvas', 'case', ['case_id'], ['id'], ondelete='CASCADE')\n"
        ),
        "db/migrations/0001.sql": (
            "ALTER TABLE canvas ADD FOREIGN KEY (case_id) REFERENCES cases ON DELETE CASCADE;\n"
        ),
        "db/schema.sql": "CREATE TABLE note (case_id int REFERENCES cases ON DELETE CASCADE);\n",
    }
    findings = run_all(files)
    assert [(f.path, f.severity) for f in findings] == [
        ("app/models.py", Severity.NOTICE),
        ("db/schema.sql", Severity.NOTICE),
    ]
    assert findings[0].message.startswith("deleting a Case deletes its Canvas rows")


def test_the_fingerprint_survives_a_reformat() -> None:
    split = CASE.replace(
        'relationship("Canvas", cascade=', 'relationship(\n        "Canvas",\n        cascade='
    )
    split = split.replace('delete-orphan")', 'delete-orphan",\n    )')
    [before] = run_all({"app/models.py": CASE})
    [after] = run_all({"app/models.py": split})
    assert after.line != before.line
    assert after.fingerprint == before.fingerprint


def test_sql_reader_names_table_columns_and_parent() -> None:
    sql = """\
-- ON DELETE CASCADE in a comment
CREATE TABLE IF NOT EXISTS app.canvas (
    id bigint PRIMARY KEY,
    "case_id" bigint REFERENCES app."case" (id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT fk_owner FOREIGN KEY (owner_id, org_id) REFERENCES users (id, org_id) ON DELETE CASCADE
);
ALTER TABLE ONLY note
    ADD COLUMN author_id int REFERENCES users ON DELETE SET NULL,
    ADD COLUMN case_id int REFERENCES cases (id) ON DELETE CASCADE;
CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN DELETE FROM x; END $$ LANGUAGE plpgsql;
"""
    found = [(c.key, c.parent, c.line) for c in sql_cascades(sql, 1)]
    assert found == [
        (("fk", "canvas", "case_id"), "case", 4),
        (("fk", "canvas", "owner_id,org_id"), "users", 5),
        (("fk", "note", "case_id"), "cases", 9),
    ]


def test_sql_without_a_foreign_key_is_ignored() -> None:
    assert list(sql_cascades("TRUNCATE canvas CASCADE; DROP TABLE note CASCADE;", 1)) == []
    assert list(sql_cascades("Set ON DELETE CASCADE on the foreign key.", 1)) == []


def test_a_file_that_does_not_parse_is_reported_once() -> None:
    broken = CASE + "def oops(:\n"
    findings = run({"app/models.py": CASE}, {"app/models.py": broken, "app/other.py": broken})
    assert sorted((f.code, f.path) for f in findings) == [
        ("FL000", "app/models.py"),
        ("FL000", "app/other.py"),
    ]


def test_every_relationship_given_a_shared_dict_of_arguments_is_reported() -> None:
    # A real pull request added six cascades to one model, four of them through **COMMON_ARGS.
    code = """\
class Household(Base):
    __tablename__ = "households"
    invite_tokens = relationship("GroupInviteToken", back_populates="household", cascade="all, delete-orphan")
    COMMON_ARGS = {"back_populates": "household", "cascade": "all, delete-orphan", "single_parent": True}
    SAFE = dict(back_populates="household")

    recipe_actions = relationship("GroupRecipeAction", **COMMON_ARGS)
    cookbooks = relationship("CookBook", **COMMON_ARGS)
    webhooks = relationship(
        "GroupWebhooksModel", **COMMON_ARGS
    )
    users = relationship("User", **SAFE)
"""
    found = run_example(CascadeDelete, Valid(code, path="app/models.py"))
    assert [(f.line, f.severity) for f in found] == [(line, Severity.NOTICE) for line in (3, 7, 8, 10)]
    assert "removing a GroupWebhooksModel from Household.webhooks deletes it" in found[-1].message


def test_a_join_table_whose_keys_cascade_is_one_notice_and_a_single_key_stays_its_own() -> None:
    migration = """\
from alembic import op
import sqlalchemy as sa


def upgrade():
    op.create_table(
        "case_tag",
        sa.Column("case_id", sa.Integer, sa.ForeignKey("case.id", ondelete="CASCADE")),
        sa.Column("tag_id", sa.Integer, sa.ForeignKey("tag.id", ondelete="CASCADE")),
    )
    op.create_table(
        "note",
        sa.Column("case_id", sa.Integer, sa.ForeignKey("case.id", ondelete="CASCADE")),
    )
"""
    found = run_example(CascadeDelete, Valid(migration, path="migrations/versions/0001_tags.py"))
    assert [(f.line, f.message) for f in found] == [
        (
            8,
            "deleting a case row or a tag row deletes the case_tag rows that point to it "
            "(ON DELETE CASCADE on case_tag.case_id, case_tag.tag_id)",
        ),
        (13, "deleting a case row deletes its note rows (ON DELETE CASCADE on note.case_id)"),
    ]


GATED_SOURCE = """\
from sqlalchemy import Column, ForeignKey, Integer, Table as T
from sqlalchemy.orm import relationship

COMMON_ARGS = {"cascade": "all, delete-orphan"}

members = T("members", metadata, Column("id", Integer))


class Team(Base):
    __tablename__ = "team"
    id = Column(Integer, primary_key=True)
    owner_id = Column(Integer, ForeignKey("user.id",
                                          ondelete="CASCADE"))
    users = relationship("User", **COMMON_ARGS)
    plain = relationship("User")


def factory():
    class Local(Base):
        pass
    return Local


def upgrade():
    op.create_table("audit", sa.Column("id", sa.Integer))
    op.execute("ALTER TABLE t ADD FOREIGN KEY (a) REFERENCES b (id) ON DELETE CASCADE")
"""


def _facts(text: str) -> Facts:
    source = SourceFile("models.py", text.encode())
    return PythonScan(source.lines, source.text).scan(python.module(source))


def test_the_scan_enters_only_code_with_a_fact_word_or_a_class_and_finds_the_same_facts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for text in (GATED_SOURCE, GATED_SOURCE.replace("\n", "\r\n")):
        gated = _facts(text)
        with monkeypatch.context() as patched:
            patched.setattr(scan_module, "on_lines", lambda node, lines: True)  # every statement entered
            assert repr(gated) == repr(_facts(text))
        assert {cascade.key for cascade in gated.cascades} == {
            ("orm", "Team", "users"),
            ("fk", "team", "owner_id"),
            ("fk", "t", "a"),
        }
        assert {"members", "Local", "Team"} <= gated.declared and "audit" in gated.created
