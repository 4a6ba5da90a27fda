"""An Alembic revision history read from its version folders: which revisions are
heads, and which heads are rivals (``alembic upgrade head`` cannot choose between them).

Two heads are rivals when they grow from the same root and carry the same branch
labels. A label applies to its revision and everything after it, so a fork where one
side starts a named branch (``alembic revision --head=... --branch-label=...``) and
separate trees with their own roots (several bases) are legitimate, as Alembic's
"Working with Branches" describes. ``depends_on`` is not a parent: it joins nothing.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from faultline.analyzers.core.context import Context
from faultline.analyzers.core.source import ParseError
from faultline.analyzers.lib.python.alembic import Migration, ini_candidates, read_migration, version_folders


@dataclass
class History:
    migrations: list[Migration]
    by_id: dict[str, list[Migration]] = field(default_factory=dict)
    children: dict[str, list[Migration]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        by_id: dict[str, list[Migration]] = defaultdict(list)
        children: dict[str, list[Migration]] = defaultdict(list)
        for migration in self.migrations:
            by_id[migration.revision].append(migration)
            for parent in migration.down_revisions:
                children[parent].append(migration)
        self.by_id, self.children = dict(by_id), dict(children)

    @cached_property
    def paths(self) -> frozenset[str]:
        return frozenset(migration.path for migration in self.migrations)

    @cached_property
    def heads(self) -> list[str]:
        return sorted(revision for revision in self.by_id if revision not in self.children)

    @cached_property
    def _after(self) -> dict[str, frozenset[str]]:
        return {}

    def heads_after(self, revision: str) -> set[str]:
        """The heads reached from ``revision`` (itself when nothing follows it). Those of every
        revision on the way are kept: the rule asks for each migration of the folder, and a
        walk from each to the end would take time in the square of the history's length."""
        if revision not in self._after and self._heads_below(revision) is None:
            return self._walk_heads(revision)  # a revision is its own descendant: nothing to share
        return set(self._after[revision])

    def _heads_below(self, revision: str) -> frozenset[str] | None:
        """Fill ``_after`` for ``revision`` and what follows it, children first; None on a cycle."""
        known = self._after
        open_: set[str] = set()
        stack = [(revision, False)]
        while stack:
            current, expanded = stack.pop()
            if current in known:
                continue
            following = list(dict.fromkeys(child.revision for child in self.children.get(current, [])))
            if not following:
                known[current] = frozenset({current})
            elif expanded:
                open_.discard(current)
                known[current] = frozenset().union(*(known[child] for child in following))
            elif current in open_:
                return None
            else:
                open_.add(current)
                stack.append((current, True))
                for child in following:
                    if child in open_:
                        return None
                    if child not in known:
                        stack.append((child, False))
        return known[revision]

    def _walk_heads(self, revision: str) -> set[str]:
        seen, todo, heads = {revision}, [revision], set()
        while todo:
            current = todo.pop()
            following = self.children.get(current, [])
            if not following:
                heads.add(current)
            for child in following:
                if child.revision not in seen:
                    seen.add(child.revision)
                    todo.append(child.revision)
        return heads

    def _ancestry(self, revision: str) -> tuple[frozenset[str], frozenset[str]]:
        """The roots ``revision`` grows from and the branch labels it carries. A
        parent no file defines counts as a root, as Alembic warns and goes on."""
        roots: set[str] = set()
        labels: set[str] = set()
        seen, todo = {revision}, [revision]
        while todo:
            current = todo.pop()
            migrations = self.by_id.get(current, [])
            if not migrations or not any(m.down_revisions for m in migrations):
                roots.add(current)
            for migration in migrations:
                labels.update(migration.branch_labels)
                for parent in migration.down_revisions:
                    if parent not in seen:
                        seen.add(parent)
                        todo.append(parent)
        return frozenset(roots), frozenset(labels)

    def rivals(self, first: str, second: str) -> bool:
        """Whether two heads compete for ``head``: same tree, same branch labels."""
        if first == second:
            return False
        roots_a, labels_a = self._ancestry(first)
        roots_b, labels_b = self._ancestry(second)
        return labels_a == labels_b and bool(roots_a & roots_b)


def migration_folders(ctx: Context, folder: str) -> tuple[str, ...]:
    """The folders of the history a migration in ``folder`` belongs to: its own, and
    the other version locations of the ``alembic.ini`` section that names it. Found once
    per folder and run: every migration of the folder asks, and each would read the ini."""
    return ctx.memo(("alembic-migration-folders", folder), lambda: _migration_folders(ctx, folder))


def _migration_folders(ctx: Context, folder: str) -> tuple[str, ...]:
    for ini_path in ini_candidates(posixpath.dirname(folder)):
        ini = ctx.source(ini_path)
        if ini is None:
            continue
        try:
            folders = version_folders(ini_path, ini.text, folder)
        except ParseError:
            continue
        if folders:
            return tuple(folders)
    return (folder,)


def history_of(ctx: Context, folders: Iterable[str]) -> History:
    migrations = []
    for folder in folders:
        for path in ctx.listing(folder):
            if not path.endswith(".py"):
                continue
            source = ctx.source(path)
            if source is None or b"down_revision" not in source.data:
                continue
            try:
                migration = read_migration(path, source.text)
            except ParseError:
                continue  # undecodable: not a migration Alembic could load either
            if migration is not None:
                migrations.append(migration)
    return History(migrations)
