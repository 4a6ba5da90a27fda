"""A pull request read through GitHub, ready for the pure engine.

The App does not clone: it lists the changed files with their patches, then
fetches only the files an enabled rule looks at (and the paths the rules ask
for as context), puts them in a MemoryRepoView and runs the engine on that.
Fork pull requests need nothing special: their commits are readable from the
base repository.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from githubkit.exception import RequestFailed
from githubkit_schemas.latest.models import ContentDirectoryItems, DiffEntry

from faultline.analyzers.core.changes import (
    ChangeSet,
    DiffError,
    FileChange,
    FileStatus,
    diff_texts,
    file_change_from_patch,
)
from faultline.analyzers.core.config import Config
from faultline.analyzers.core.engine import Engine
from faultline.analyzers.core.plan import Skipped
from faultline.analyzers.core.repo import MemoryRepoView
from faultline.app.github.client import InstallationClient

T = TypeVar("T")

# GitHub lists at most 3000 files of a pull request.
MAX_FILES = 3000
FILES_PER_PAGE = 100
# Requests in flight at once for one job: enough to hide latency, few enough
# not to trip GitHub's secondary rate limit on concurrency.
CONCURRENCY = 8
# Files read from one context folder (a rule's ``context_paths`` entry ending in "/").
MAX_FOLDER_FILES = 200
# git's own test: a NUL byte in the first 8000 bytes makes a file binary.
BINARY_PROBE = 8000
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
    skipped: list[Skipped] = field(default_factory=list)
    wanted: list[str] = field(default_factory=list)  # changed paths some enabled rule looks at
    truncated: bool = False  # GitHub listed only the first MAX_FILES changed files


def wanted_paths(engine: Engine, config: Config, paths: Iterable[str]) -> list[str]:
    """The paths an enabled rule looks at, excluded paths left out."""
    return [
        path
        for path in paths
        if not config.is_excluded(path) and any(active.wants(path) for active in engine.active)
    ]


def context_paths(engine: Engine, wanted: Iterable[str]) -> list[str]:
    """The extra paths (``Rule.context_paths``) of the rules that will run: a rule
    that looks at none of the changed files needs none of its context."""
    paths = list(wanted)
    running = [active for active in engine.active if any(active.wants(path) for path in paths)]
    return sorted({path for active in running for path in active.rule.context_paths})


def is_binary(data: bytes | None) -> bool:
    return data is not None and b"\0" in data[:BINARY_PROBE]


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

    async def read(self, path: str, ref: str) -> bytes | None:
        return await self._limited(self.client.read_file(self.pull.owner, self.pull.repo, path, ref))

    async def changes(self) -> ChangeSet:
        """The changed files and their hunks as GitHub's patches give them (none
        for a file listed without a patch)."""
        return ChangeSet({entry.filename: _from_entry(entry) for entry in await self.list_files()})

    async def load(self, engine: Engine, config: Config) -> PullContents:
        entries = await self.list_files()
        changes = ChangeSet({entry.filename: _from_entry(entry) for entry in entries})
        contents = PullContents(changes, MemoryRepoView())
        if self.pull.changed_files > len(entries):
            contents.truncated = True
            reason = TOO_MANY_FILES.format(total=self.pull.changed_files, limit=MAX_FILES)
            contents.skipped.append(Skipped(f"{self.pull.changed_files - len(entries)} more files", reason))
        readable = [c.path for c in changes if c.status is not FileStatus.REMOVED]
        contents.wanted = wanted_paths(engine, config, readable)
        if not contents.wanted:
            return contents
        await asyncio.gather(*(self._load_file(changes, path, contents.view) for path in contents.wanted))
        await self._load_context(context_paths(engine, contents.wanted), contents.view)
        # A second round for what only the files read so far name (a job's working directory).
        await self._load_context(engine.more_context_paths(changes, contents.view), contents.view)
        return contents

    async def _load_file(self, changes: ChangeSet, path: str, view: MemoryRepoView) -> None:
        change = changes.files[path]
        new = await self.read(path, self.pull.head_sha)
        if new is None:
            return
        view.new[path] = new
        if change.hunk_sources:
            base = rebuilt_base(change, new)
        else:
            # No patch (GitHub leaves it out for binary files and huge diffs): diff it ourselves.
            base = await self._read_base(change)
            change = _diffed(change, base, new)
            changes.files[path] = change
        if base is not None:
            view.base[change.base_path] = base

    async def _read_base(self, change: FileChange) -> bytes | None:
        if change.status is FileStatus.ADDED:
            return None
        return await self.read(change.base_path, await self.merge_base())

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

    async def _load_context(self, paths: Iterable[str], view: MemoryRepoView) -> None:
        files: list[str] = []
        for path in paths:
            if path.endswith("/"):
                files.extend(await self.list_folder(path.rstrip("/")))
            else:
                files.append(path)
        missing = [path for path in dict.fromkeys(files) if path not in view.new]
        datas = await asyncio.gather(*(self.read(path, self.pull.head_sha) for path in missing))
        for path, data in zip(missing, datas, strict=True):
            if data is not None:
                view.new[path] = data

    async def list_folder(self, folder: str) -> list[str]:
        """The files directly inside ``folder`` at the head commit (none when it is absent)."""
        pull = self.pull
        try:
            response = await self._limited(
                self.client.call(
                    lambda gh: gh.rest.repos.async_get_content(
                        pull.owner, pull.repo, folder, ref=pull.head_sha
                    )
                )
            )
        except RequestFailed as err:
            if err.response.status_code == 404:
                return []
            raise
        items = response.parsed_data
        if not isinstance(items, list):
            return []
        return sorted(item.path for item in items if _is_file(item))[:MAX_FOLDER_FILES]


def _is_file(item: ContentDirectoryItems) -> bool:
    return item.type == "file"


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


def rebuilt_base(change: FileChange, new: bytes) -> bytes | None:
    """The file before the change, rebuilt by undoing the patch's hunks on the new
    side: exactly what the pull request's diff starts from, without a request."""
    text = change.base_text(new.decode("utf-8", "surrogateescape"))
    return None if text is None else text.encode("utf-8", "surrogateescape")


def _diffed(change: FileChange, base: bytes | None, new: bytes) -> FileChange:
    if is_binary(new) or is_binary(base):
        return FileChange(path=change.path, status=FileStatus.BINARY, old_path=change.old_path)
    old_text = None if base is None else base.decode("utf-8", "replace")
    return diff_texts(change.path, old_text, new.decode("utf-8", "replace"), change.old_path)
