"""Carrying out the engine's ReadPlan against GitHub, within a memory budget.

Sizes come first (``blobs.look_up``: no content is sent), so a file above the
engine's cap is skipped without being downloaded, and files are admitted in the
plan's order while the run's total stays under ``plan.max_total_bytes``. Each read
is streamed and cut at the cap as well: a size GitHub got wrong (or a file changed
in between) costs at most the cap. Whatever is left out is named with the reason:
changed files in ``contents.unread`` (the engine reports them as skipped), context
files in ``contents.skipped``.

The look-up brings the contents as well (GraphQL, ``github_read_batch`` files a query), so a
run costs about one request per that many files; only files GraphQL sends no exact text
for (too large for it, not UTF-8) are read one by one over REST. With the batch set to 0,
every file is read over REST.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING

from githubkit.exception import RequestFailed

from faultline.analyzers.core.changes import FileChange, FileStatus, diff_texts
from faultline.analyzers.core.paths import is_safe
from faultline.analyzers.core.plan import MIB, FileRead, ReadPlan, Skipped, too_large
from faultline.app.github.blobs import BATCH, UNKNOWN, Blob, Folder, Found, Spec, TextBudget, look_up
from faultline.app.github.client import TooLargeError, UnsafePathError

if TYPE_CHECKING:
    from faultline.app.github.reader import PullContents, PullReader

# Files read from one context folder (a rule's ``context_paths`` entry ending in "/").
MAX_FOLDER_FILES = 200
OVER_BUDGET = "not read: the files read for this run would hold more than {limit}, its limit"
NOT_SERVED = "GitHub did not serve it ({status})"
NOT_LISTED = "GitHub could not list this folder"
# git's own test: a NUL byte in the first 8000 bytes makes a file binary.
BINARY_PROBE = 8000


class Unreadable(Exception):
    """One file that cannot be read; the run goes on without it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PlanRun:
    """One execution of a ReadPlan for one pull request."""

    def __init__(self, reader: PullReader, plan: ReadPlan, contents: PullContents) -> None:
        self.reader = reader
        self.plan = plan
        self.contents = contents
        self.head = reader.pull.head_sha
        self.left = plan.max_total_bytes
        self.batch = reader.client.settings.github_read_batch
        # What GraphQL sent, contents included; a file in here costs no request of its own.
        self.found: dict[Spec, Found] = {}

    async def changed_files(self) -> None:
        """Read the planned changed files, and the base sides no patch can rebuild."""
        plan, changes = self.plan, self.contents.changes
        # Listed without a patch (binary, or a diff too big): both sides are read and diffed.
        unpatched = {r.path for r in plan.files if not changes.files[r.path].hunk_sources}
        base_needed = any(r.base_path and r.path in unpatched for r in plan.files)
        base_sha = await self.reader.merge_base() if base_needed else ""
        specs = [(self.head, r.path) for r in plan.files]
        specs += [(base_sha, r.base_path) for r in plan.files if r.base_path and r.path in unpatched]
        sizes = await self.look_up(specs)
        admitted: list[tuple[FileRead, str | None]] = []
        for read in plan.files:
            new = sizes[(self.head, read.path)]
            if new is None:
                continue  # the engine says: not found on the new side
            if read.path not in unpatched:
                reason = self.admit(new, self.cost(new) * (2 if read.base_path else 1))
                if reason is None:
                    admitted.append((read, None))  # the base is rebuilt from the patch
            else:
                base = sizes[(base_sha, read.base_path)] if read.base_path else None
                if _binary(new, base):  # nothing the engine would check: not downloaded
                    changes.files[read.path] = as_binary(changes.files[read.path])
                    continue
                reason = self.refusal(base) or self.admit(new, self.cost(new) + self.cost(base))
                if reason is None:
                    admitted.append((read, base_sha))
            if reason is not None:
                self.contents.unread.append(Skipped(read.path, reason))
        await asyncio.gather(*(self.changed_file(read, sha) for read, sha in admitted))

    async def changed_file(self, read: FileRead, base_sha: str | None) -> None:
        """Read one changed file; ``base_sha`` None: its base is rebuilt from the patch."""
        changes, view = self.contents.changes, self.contents.view
        change = changes.files[read.path]
        try:
            new = await self.fetch(read.path, self.head)
            if new is None:
                return
            base = None
            if base_sha is not None and read.base_path:
                base = await self.fetch(read.base_path, base_sha)
        except Unreadable as err:
            self.contents.unread.append(Skipped(read.path, err.reason))
            return
        view.new[read.path] = new
        if base_sha is not None:
            changes.files[read.path] = diffed(change, base, new)
        elif read.base_path:
            base = rebuilt_base(change, new)
        if base is not None and read.base_path:
            view.base[read.base_path] = base

    async def context(self, entries: Iterable[str]) -> None:
        """Read context files, and the files directly inside context folders."""
        view = self.contents.view
        entries = [entry for entry in entries if entry.rstrip("/") not in view.new]
        sizes = await self.look_up([(self.head, entry.rstrip("/")) for entry in entries])
        candidates: dict[str, Found] = {}
        for entry in entries:
            found = sizes[(self.head, entry.rstrip("/"))]
            if not entry.endswith("/"):
                candidates[entry] = found
            elif isinstance(found, Folder):
                for path, blob in sorted(found.files.items())[:MAX_FOLDER_FILES]:
                    candidates.setdefault(path, blob)
            elif found is UNKNOWN:
                self.contents.skipped.append(Skipped(entry, NOT_LISTED))
        wanted = [path for path, found in candidates.items() if self.admit_context(path, found)]
        # Files found inside folders came with their sizes only: their contents in batches too.
        unread = [(self.head, path) for path in wanted if not self.sent(self.head, path)]
        if self.batch and unread:
            await self.look_up(unread, keep=self.plan.max_total_bytes)  # their bytes are spent already
        datas = await asyncio.gather(*(self.fetch_context(path) for path in wanted))
        for path, data in zip(wanted, datas, strict=True):
            if data is not None:
                view.new[path] = data

    def admit_context(self, path: str, found: Found) -> bool:
        if found is None or isinstance(found, Folder) or path in self.contents.view.new or not is_safe(path):
            return False
        reason = self.admit(found, self.cost(found))
        if reason:
            self.contents.skipped.append(Skipped(path, reason))
        return reason is None

    def admit(self, found: Found, cost: int) -> str | None:
        """None when a file of this size may be read (its cost is then spent), else why not."""
        return self.refusal(found) or self.spend(cost)

    async def fetch_context(self, path: str) -> bytes | None:
        try:
            return await self.fetch(path, self.head)
        except Unreadable as err:
            self.contents.skipped.append(Skipped(path, err.reason))
            return None

    def sent(self, sha: str, path: str) -> bool:
        found = self.found.get((sha, path))
        return isinstance(found, Blob) and found.data is not None

    async def fetch(self, path: str, sha: str) -> bytes | None:
        """The file's bytes, None when absent; Unreadable when it is too large or
        GitHub refuses to serve it (a rate limit or 5xx still ends the run for a retry)."""
        found = self.found.pop((sha, path), None)
        if isinstance(found, Blob) and found.data is not None:
            return found.data
        try:
            return await self.reader.read(path, sha, self.plan.max_file_bytes)
        except TooLargeError as err:
            raise Unreadable(f"larger than {err.limit // 1024} KiB") from err
        except UnsafePathError as err:
            raise Unreadable(str(err)) from err
        except RequestFailed as err:
            raise Unreadable(NOT_SERVED.format(status=err.response.status_code)) from err

    async def look_up(self, specs: list[Spec], keep: int | None = None) -> dict[Spec, Found]:
        """Sizes (and, batching, contents) of ``specs``; no more than ``keep`` bytes of contents
        are kept (default: what is left of the run's budget), the rest is read later if admitted."""
        if not specs:
            return {}
        pull = self.reader.pull
        text = (
            TextBudget(self.plan.max_file_bytes, self.left if keep is None else keep) if self.batch else None
        )
        found = await look_up(self.reader.client, pull.owner, pull.repo, specs, text, self.batch or BATCH)
        for spec, item in found.items():
            if isinstance(item, Blob) and (item.data is not None or spec not in self.found):
                self.found[spec] = item
        return found

    def cost(self, found: Found) -> int:
        """Bytes a read will hold: the size GitHub gave, the cap when it gave none."""
        if isinstance(found, Blob):
            return found.size
        return self.plan.max_file_bytes if found is UNKNOWN else 0

    def refusal(self, found: Found) -> str | None:
        if isinstance(found, Blob) and found.size > self.plan.max_file_bytes:
            return too_large(found.size, self.plan.max_file_bytes)
        return None

    def spend(self, cost: int) -> str | None:
        """Take ``cost`` bytes from the run's budget; the reason when they are not there."""
        if cost > self.left:
            return OVER_BUDGET.format(limit=_amount(self.plan.max_total_bytes))
        self.left -= cost
        return None


def _amount(size: int) -> str:
    return f"{size // MIB} MiB" if size >= MIB else f"{size:,} bytes"


def _binary(new: Found, base: Found) -> bool:
    return any(isinstance(side, Blob) and side.binary for side in (new, base))


def as_binary(change: FileChange) -> FileChange:
    return FileChange(path=change.path, status=FileStatus.BINARY, old_path=change.old_path)


def is_binary(data: bytes | None) -> bool:
    return data is not None and b"\0" in data[:BINARY_PROBE]


def rebuilt_base(change: FileChange, new: bytes) -> bytes | None:
    """The file before the change, rebuilt by undoing the patch's hunks on the new
    side: exactly what the pull request's diff starts from, without a request."""
    text = change.base_text(new.decode("utf-8", "surrogateescape"))
    return None if text is None else text.encode("utf-8", "surrogateescape")


def diffed(change: FileChange, base: bytes | None, new: bytes) -> FileChange:
    """The change with hunks from both sides (GitHub listed it without a patch)."""
    if is_binary(new) or is_binary(base):
        return as_binary(change)
    old_text = None if base is None else base.decode("utf-8", "replace")
    return diff_texts(change.path, old_text, new.decode("utf-8", "replace"), change.old_path)
