"""What a rule may know besides its own file: the change and the repository."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar, cast

from faultline.analyzers.core.changes import ChangeSet
from faultline.analyzers.core.repo import RepoView
from faultline.analyzers.core.source import SourceFile

T = TypeVar("T")


class Context:
    """Reads files through the RepoView once each, and says what the change touched."""

    def __init__(self, repo: RepoView, changes: ChangeSet) -> None:
        self.repo = repo
        self.changes = changes
        self._new: dict[str, SourceFile | None] = {}
        self._base: dict[str, SourceFile | None] = {}
        self._memo: dict[Hashable, object] = {}

    @property
    def whole_files(self) -> bool:
        """True for ``--all``: there is no base and every line counts as added."""
        return self.changes.whole_files

    def source(self, path: str) -> SourceFile | None:
        """The new side of ``path``, or None when it does not exist."""
        if path not in self._new:
            data = self.repo.read_new(path)
            self._new[path] = None if data is None else SourceFile(path, data)
        return self._new[path]

    def base_source(self, path: str) -> SourceFile | None:
        """The base side of the file now at ``path`` (its old path if renamed)."""
        if self.whole_files:
            return None
        change = self.changes.get(path)
        base_path = change.base_path if change else path
        if path not in self._base:
            data = self.repo.read_base(base_path)
            self._base[path] = None if data is None else SourceFile(base_path, data)
        return self._base[path]

    def listing(self, folder: str) -> list[str]:
        return self.repo.list_new(folder)

    def is_changed(self, path: str) -> bool:
        return path in self.changes.files

    def memo(self, key: Hashable, factory: Callable[[], T]) -> T:
        """``factory()``, made once per run for ``key``: what a rule derives from
        several files and reuses for each. Keys are shared by every rule, so
        start them with the rule's slug; keep parsed trees out (see the engine)."""
        if key not in self._memo:
            self._memo[key] = factory()
        return cast(T, self._memo[key])
