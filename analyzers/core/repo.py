"""RepoView: the one way a rule reads files (the git and disk views live with the CLI).

A view has two sides: *new* (what the change produces: the working tree or a
commit) and *base* (what it started from). Paths are POSIX, relative to the
repository root. A missing file reads as ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol


class RepoView(Protocol):
    def read_new(self, path: str) -> bytes | None: ...

    def read_base(self, path: str) -> bytes | None: ...

    def list_new(self, folder: str) -> list[str]:
        """Paths of the files directly inside ``folder`` on the new side, sorted."""
        ...


class MemoryRepoView:
    """A view over files held in memory: for tests, and for the App, which
    fetches from GitHub first and then runs the pure engine over what it got."""

    def __init__(
        self, new: Mapping[str, bytes] | None = None, base: Mapping[str, bytes] | None = None
    ) -> None:
        self.new = dict(new or {})
        self.base = dict(base or {})

    def read_new(self, path: str) -> bytes | None:
        return self.new.get(path)

    def read_base(self, path: str) -> bytes | None:
        return self.base.get(path)

    def list_new(self, folder: str) -> list[str]:
        return _children(self.new, folder)


def _children(files: Iterable[str], folder: str) -> list[str]:
    prefix = folder.strip("/")
    prefix = f"{prefix}/" if prefix else ""
    return sorted(path for path in files if path.startswith(prefix) and "/" not in path[len(prefix) :])
