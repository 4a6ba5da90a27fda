"""A pull request read through GitHub, ready for the pure engine.

The App does not clone: it lists the changed files with their patches, asks the
engine for its ReadPlan (which changed files and context paths the enabled rules
read, and the size caps), carries it out (reads.py: sizes first, then the files
that fit), puts what it got in a MemoryRepoView and runs the engine on that. Fork
pull requests need nothing special: their commits are readable from the base
repository.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

from githubkit.exception import RequestFailed
from githubkit_schemas.latest.models import DiffEntry

from faultline.analyzers.core.changes import (
    ChangeSet,
    DiffError,
    FileChange,
    FileStatus,
    file_change_from_patch,
)
from faultline.analyzers.core.engine import Engine
from faultline.analyzers.core.plan import Skipped
from faultline.analyzers.core.repo import MemoryRepoView
from faultline.app.github.client import InstallationClient
from faultline.app.github.reads import PlanRun

T = TypeVar("T")

# GitHub lists at most 3000 files of a pull request.
MAX_FILES = 3000
FILES_PER_PAGE = 100
# Requests in flight at once for one job: enough to hide latency, few enough
# not to trip GitHub's secondary rate limit on concurrency.
CONCURRENCY = 8
TOO_MANY_FILES = "the pull request changes {total} files; GitHub lists only the first {limit}"

_STATUS = {
    "added": FileStatus.ADDED,
    "copied": FileStatus.ADDED,
    "removed": FileStatus.REMOVED,
    "modified": FileStatus.MODIFIED,
    "changed": FileStatus.MODIFIED,
    "unchanged": FileStatus.MODIFIED,
    "renamed": FileStatus.RENAMED,
}


@dataclass(frozen=True)
class PullRef:
    owner: str
    repo: str
    number: int
    head_sha: str
    base_sha: str
    changed_files: int = 0  # as the pull request reports it; may exceed what GitHub lists


@dataclass
class PullContents:
    """The change, the files the rules need, and what could not be read."""

    changes: ChangeSet
    view: MemoryRepoView
    skipped: list[Skipped] = field(default_factory=list)  # notes: files not listed, context not read
    wanted: list[str] = field(default_factory=list)  # changed paths some enabled rule looks at
    truncated: bool = False  # GitHub listed only the first MAX_FILES changed files
    # Changed files some rule wanted that were not read, with why: for ``Engine.run``.
    unread: list[Skipped] = field(default_factory=list)


class PullReader:
    """Fetches what the engine needs for one pull request, a few requests at a time."""

    def __init__(self, client: InstallationClient, pull: PullRef) -> None:
        self.client = client
        self.pull = pull
        self._slots = asyncio.Semaphore(CONCURRENCY)
        self._merge_base: str | None = None

    async def _limited(self, pending: Awaitable[T]) -> T:
        async with self._slots:
            return await pending

    async def list_files(self) -> list[DiffEntry]:
        pull = self.pull
        return await self.client.collect(
            lambda gh: gh.rest.paginate(
                gh.rest.pulls.async_list_files,
                owner=pull.owner,
                repo=pull.repo,
                pull_number=pull.number,
                per_page=FILES_PER_PAGE,
            ),
            limit=MAX_FILES,
        )

    async def read(self, path: str, ref: str, limit: int) -> bytes | None:
        return await self._limited(self.client.read_file(self.pull.owner, self.pull.repo, path, ref, limit))

    async def changes(self) -> ChangeSet:
        """The changed files and their hunks as GitHub's patches give them (none
        for a file listed without a patch)."""
        return ChangeSet({entry.filename: _from_entry(entry) for entry in await self.list_files()})

    async def load(self, engine: Engine) -> PullContents:
        entries = await self.list_files()
        changes = ChangeSet({entry.filename: _from_entry(entry) for entry in entries})
        contents = PullContents(changes, MemoryRepoView())
        if self.pull.changed_files > len(entries):
            contents.truncated = True
            reason = TOO_MANY_FILES.format(total=self.pull.changed_files, limit=MAX_FILES)
            contents.skipped.append(Skipped(f"{self.pull.changed_files - len(entries)} more files", reason))
        plan = engine.plan(changes)
        contents.wanted = plan.paths
        contents.unread.extend(plan.skipped)
        if not plan.files:
            return contents
        run = PlanRun(self, plan, contents)
        await run.changed_files()
        await run.context(plan.context)
        # A second round for what only the files read so far name (a job's working directory).
        await run.context(engine.more_context_paths(changes, contents.view))
        return contents

    async def merge_base(self) -> str:
        """The commit the pull request's diff starts from (the base branch may have moved on)."""
        if self._merge_base is None:
            pull = self.pull
            try:
                comparison = await self._limited(
                    self.client.call(
                        lambda gh: gh.rest.repos.async_compare_commits(
                            pull.owner, pull.repo, f"{pull.base_sha}...{pull.head_sha}", per_page=1
                        )
                    )
                )
                self._merge_base = comparison.parsed_data.merge_base_commit.sha
            except RequestFailed:
                self._merge_base = pull.base_sha
        return self._merge_base


def _from_entry(entry: DiffEntry) -> FileChange:
    """The FileChange GitHub's listing describes; without a patch it has no hunks yet."""
    status = _STATUS.get(entry.status, FileStatus.MODIFIED)
    old_path = entry.previous_filename if isinstance(entry.previous_filename, str) else None
    if entry.status == "copied":
        old_path = None
    patch = entry.patch if isinstance(entry.patch, str) else None
    if patch and status is not FileStatus.REMOVED:
        try:
            return file_change_from_patch(entry.filename, patch, status, old_path)
        except DiffError:
            pass  # read both sides and diff them instead
    return FileChange(path=entry.filename, status=status, old_path=old_path)
