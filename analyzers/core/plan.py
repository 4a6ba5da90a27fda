"""What a run will read, decided before anything is read: the engine's plan for the App.

The CLI reads files on demand. The App fetches everything from GitHub first, so it
asks the engine (``Engine.plan``) which changed files the enabled rules will look at,
which context paths those rules read, and how many bytes are worth fetching; then it
executes the plan and runs the engine on what it got. ``Engine.more_context_paths``
is the second round, for paths only the files read so far name.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024
# The engine parses no file above this size: bigger ones are skipped, never read whole.
MAX_FILE_BYTES = 2 * MIB
# What one run may hold in memory, every file read counted, both sides of a change
# included: past it the remaining files are skipped (and named) rather than read.
MAX_TOTAL_BYTES = 64 * MIB


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass(frozen=True)
class FileRead:
    """A changed file to read: its new side at ``path``, its base side (when the
    patch cannot rebuild it) at ``base_path``; None for a file the change adds."""

    path: str
    base_path: str | None


@dataclass(frozen=True)
class ReadPlan:
    files: tuple[FileRead, ...] = ()
    # Paths the rules that will run read besides the changed files; a folder ends with "/"
    # (its files directly inside are read).
    context: tuple[str, ...] = ()
    max_file_bytes: int = MAX_FILE_BYTES
    max_total_bytes: int = MAX_TOTAL_BYTES
    # Changed files a rule wants that must not be requested (an unsafe path), with why.
    skipped: tuple[Skipped, ...] = ()

    @property
    def paths(self) -> list[str]:
        """The changed files the enabled rules look at, in the order of the change."""
        return [*(read.path for read in self.files), *(skipped.path for skipped in self.skipped)]

    @property
    def context_files(self) -> list[str]:
        return [path for path in self.context if not path.endswith("/")]

    @property
    def context_folders(self) -> list[str]:
        return [path.rstrip("/") for path in self.context if path.endswith("/")]


def too_large(size: int, limit: int = MAX_FILE_BYTES) -> str:
    """The reason a file of ``size`` bytes is skipped."""
    return f"larger than {limit // 1024} KiB ({size:,} bytes)"
