"""FL005 alembic-multiple-heads: a migration forks the Alembic history into several heads."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import ClassVar

from faultline.analyzers.core.context import Context
from faultline.analyzers.core.findings import Hit, Severity
from faultline.analyzers.core.rule import Invalid, Rule, Valid
from faultline.analyzers.core.source import SourceFile
from faultline.analyzers.lib.python.alembic import Migration, ini_candidates, read_migration
from faultline.analyzers.rules.database.alembic_history import History, history_of, migration_folders

FORK = (
    "`{mine}` ({mine_file}) and `{other}` ({other_file}) both revise `{parent}`: the history "
    "now has {count} heads ({heads}) and `alembic upgrade head` fails. Run `alembic merge heads`, "
    "or point `down_revision` at `{target}`"
)
MERGE_LEAVES = (
    "this merge leaves {count} heads ({heads}): `alembic upgrade head` still fails. "
    "Merge them all (`alembic merge heads`)"
)
DUPLICATE = (
    "revision id `{revision}` is also the id of {other_file}: Alembic keeps only one of the two "
    "migrations. Give this one a new id (and update the `down_revision` that points at it)"
)

SLUG = "alembic-multiple-heads"
_BASE = '''"""{title}

Revision ID: {rev}
Revises: {down}
"""
from alembic import op
import sqlalchemy as sa

revision = "{rev}"
down_revision = {down_value}
branch_labels = {labels}
depends_on = None


def upgrade():
    {body}
'''


def _migration(rev: str, down: str | None, body: str = "pass", labels: str = "None", title: str = "") -> str:
    down_value = "None" if down is None else (down if down.startswith("(") else f'"{down}"')
    return _BASE.format(
        title=title or f"revision {rev}",
        rev=rev,
        down=down or "",
        down_value=down_value,
        labels=labels,
        body=body,
    )


_VERSIONS = "migrations/versions"
_ROOT = {f"{_VERSIONS}/0001_base.py": _migration("0001", None)}
_TWO = {**_ROOT, f"{_VERSIONS}/0002_users.py": _migration("0002", "0001")}


class AlembicMultipleHeads(Rule):
    """
    ## What it does
    Checks Alembic migrations that a change adds or edits for a history that no longer
    has one head: a `down_revision` that another migration already revises (the history
    forks), a merge migration that still leaves more than one head, and a `revision` id
    that another migration uses too. The versions folder is read (with the other
    `version_locations` of the `alembic.ini` section that names it) to know the history.

    Not reported: a fork where one side starts a named branch (`branch_labels`), separate
    trees with their own base (several roots), `depends_on` between trees, and a fork
    that a merge migration already joins.

    ## Why is this risky?
    Two pull requests that each add a migration on the same parent both pass CI; once
    both are merged, `alembic upgrade head` stops with "Multiple head revisions are
    present" and the deploy that runs it fails. Which of the two runs first on a
    database is left to chance, and a database upgraded with `heads` on one machine and
    `head` on another ends up in a state no one tested. A repeated revision id is worse:
    Alembic keeps one of the two files and silently never runs the other.

    ## Example
    ```python
    # migrations/versions/0003_add_email.py, while 0002_users.py also revises 0001
    revision = "0003"
    down_revision = "0001"
    ```

    ## Use instead
    ```python
    revision = "0003"
    down_revision = "0002"  # on top of the current head
    ```
    or keep both and join them with `alembic merge heads`.

    ## Fix safety
    No fix is offered: which migration runs first is a decision about the schema
    (two migrations may alter the same table), not a mechanical edit.
    """

    code = "FL005"
    slug = SLUG
    severity = Severity.ERROR
    summary = "A migration forks the Alembic history into several heads"
    patterns = ("*.py",)
    needles = (b"down_revision",)
    # No context_paths: every pull request with a Python file would pay for them. The
    # App reads the versions folder and the alembic.ini files in its second round, only
    # when a changed file is a migration (``more_context``).

    VALID: ClassVar[list[Valid]] = [
        Valid(_migration("0003", "0002"), path=f"{_VERSIONS}/0003_email.py", files=_TWO),
        Valid(
            # A merge that joins both heads.
            _migration("0004", '("0002", "0003")', title="merge heads"),
            path=f"{_VERSIONS}/0004_merge.py",
            files={**_TWO, f"{_VERSIONS}/0003_email.py": _migration("0003", "0001")},
        ),
        Valid(
            # A named branch that starts from 0001: legitimate.
            _migration("0003", "0001", labels='("billing",)'),
            path=f"{_VERSIONS}/0003_billing.py",
            files=_TWO,
        ),
        Valid(
            # A second tree with its own base.
            _migration("a001", None, labels='("audit",)'),
            path=f"{_VERSIONS}/a001_audit.py",
            files=_TWO,
        ),
        Valid(
            # Not a migration: a module that mentions the words.
            'revision = get_revision()\ndown_revision = "x"\n',
            path="app/versions.py",
        ),
        Valid(
            # The fork was merged later: editing the old migration's body is fine.
            _migration("0003", "0001", body="op.add_column('user', sa.Column('age', sa.Integer()))"),
            path=f"{_VERSIONS}/0003_email.py",
            base=_migration("0003", "0001"),
            files={**_TWO, f"{_VERSIONS}/0004_merge.py": _migration("0004", '("0002", "0003")')},
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        Invalid(
            _migration("0003", "0001", title="add email"),
            path=f"{_VERSIONS}/0003_email.py",
            files=_TWO,
            line=10,
            message=(
                "`0003` (0003_email.py) and `0002` (0002_users.py) both revise `0001`: the history now "
                "has 2 heads (`0002`, `0003`) and `alembic upgrade head` fails. Run `alembic merge heads`, "
                "or point `down_revision` at `0002`"
            ),
        ),
        Invalid(
            # Annotated identifiers, as Alembic's newer templates write them.
            _migration("0003", "0001").replace(
                'down_revision = "0001"', 'down_revision: Union[str, Sequence[str], None] = "0001"'
            ),
            path=f"{_VERSIONS}/0003_email.py",
            files=_TWO,
            line=10,
            message="both revise `0001`",
        ),
        Invalid(
            _migration("0005", '("0002", "0003")', title="merge"),
            path=f"{_VERSIONS}/0005_merge.py",
            files={
                **_TWO,
                f"{_VERSIONS}/0003_email.py": _migration("0003", "0001"),
                f"{_VERSIONS}/0004_phone.py": _migration("0004", "0001"),
            },
            line=10,
            message="this merge leaves 2 heads (`0004`, `0005`)",
        ),
        Invalid(
            _migration("0002", "0001", title="add email"),
            path=f"{_VERSIONS}/0002_email.py",
            files={
                **_TWO,
                f"{_VERSIONS}/0003_phone.py": _migration("0003", "0002"),
            },
            line=9,
            message="revision id `0002` is also the id of 0002_users.py",
        ),
    ]

    def more_context(self, ctx: Context) -> Iterator[str]:
        """The folders of the changed migrations, the other version locations their
        ``alembic.ini`` names, and the ``alembic.ini`` files that may name them."""
        for path in ctx.changes.paths:
            source = ctx.source(path) if path.endswith(".py") else None
            if source is None or b"down_revision" not in source.data:
                continue
            folder = posixpath.dirname(path)
            yield from (f"{other}/" for other in migration_folders(ctx, folder))
            yield from ini_candidates(posixpath.dirname(folder))

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        mine = read_migration(source.path, source.text)
        if mine is None:
            return
        folders = migration_folders(ctx, posixpath.dirname(source.path))
        history = ctx.memo((SLUG, folders), lambda: history_of(ctx, folders))
        if source.path not in history.paths:
            history = History(
                [*history.migrations, mine]
            )  # a view that lists nothing (a test, a file outside)
        yield from _duplicates(mine, history)
        forks = list(_forks(mine, history, ctx))
        yield from forks
        if not forks and mine.is_merge:
            yield from _merge_leaves(mine, history)


def _duplicates(mine: Migration, history: History) -> Iterator[Hit]:
    others = [m for m in history.by_id.get(mine.revision, []) if m.path != mine.path]
    if others:
        yield Hit(
            mine.revision_line,
            DUPLICATE.format(revision=mine.revision, other_file=_name(others[0].path, mine.path)),
        )


def _forks(mine: Migration, history: History, ctx: Context) -> Iterator[Hit]:
    """One hit for the first sibling whose side of the fork is still a separate head."""
    my_heads = history.heads_after(mine.revision)
    for parent in mine.down_revisions:
        for sibling in history.children.get(parent, []):
            if sibling.path == mine.path or sibling.revision == mine.revision:
                continue
            if _reported_on(sibling, mine, ctx):
                continue
            their_heads = history.heads_after(sibling.revision)
            if my_heads & their_heads:
                continue  # a merge already joins the two sides
            rivals = sorted({h for a in my_heads for h in their_heads if history.rivals(a, h)})
            if not rivals:
                continue  # one side is a named branch or another tree
            heads = sorted(set(rivals) | {a for a in my_heads if any(history.rivals(a, h) for h in rivals)})
            yield Hit(
                mine.down_line,
                FORK.format(
                    mine=mine.revision,
                    mine_file=_name(mine.path, mine.path),
                    other=sibling.revision,
                    other_file=_name(sibling.path, mine.path),
                    parent=parent,
                    count=len(heads),
                    heads=", ".join(f"`{head}`" for head in heads),
                    target=rivals[0],
                ),
            )
            return


def _reported_on(sibling: Migration, mine: Migration, ctx: Context) -> bool:
    """A fork of two migrations the change both adds is reported once, on the later name."""
    if sibling.path < mine.path:
        return False
    change = ctx.changes.get(sibling.path)
    return change is not None and change.any_added(sibling.down_line, sibling.down_line)


def _merge_leaves(mine: Migration, history: History) -> Iterator[Hit]:
    after = history.heads_after(mine.revision)
    left = sorted({h for h in history.heads if h not in after and any(history.rivals(h, a) for a in after)})
    if left:
        heads = sorted({*after, *left})
        yield Hit(
            mine.down_line,
            MERGE_LEAVES.format(count=len(heads), heads=", ".join(f"`{head}`" for head in heads)),
        )


def _name(path: str, beside: str) -> str:
    """A migration's file name, with its folder when it lives elsewhere."""
    if posixpath.dirname(path) == posixpath.dirname(beside):
        return posixpath.basename(path)
    return path
