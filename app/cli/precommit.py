"""``faultline check`` run by pre-commit: which change it is asked about.

pre-commit runs a hook in three ways, and tells them apart only by what it gives it:
- at commit time, the staged files (unstaged work stashed): the work tree against HEAD, as
  without pre-commit;
- ``--from-ref A --to-ref B`` (pre-push, and how CI services run hooks on a pull request),
  with ``PRE_COMMIT_FROM_REF``/``PRE_COMMIT_TO_REF`` set: the commits, already made, that
  ``A...B`` holds, read from ``B``; the work tree against HEAD would be empty;
- ``--all-files`` or ``--files``: files that may not have changed at all, checked as whole
  files, like a linter.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from faultline.app.cli.git import GitError, git
from faultline.app.cli.workspace import Workspace, committed, whole_files


def workspace(root: Path, paths: Sequence[str], environ: Mapping[str, str] = os.environ) -> Workspace | None:
    """The change pre-commit asks about; None when it is the commit-time one (or pre-commit
    is not running the hook)."""
    if not environ.get("PRE_COMMIT"):
        return None
    from_ref, to_ref = environ.get("PRE_COMMIT_FROM_REF"), environ.get("PRE_COMMIT_TO_REF")
    if from_ref and to_ref:
        return committed(root, from_ref, paths, head_rev=to_ref)
    if paths and not set(paths) <= _changed_since_head(root):
        # A file that is not part of the change was handed over: --all-files or --files.
        return whole_files(root, True, paths)
    return None


def _changed_since_head(root: Path) -> set[str]:
    """The paths whose work tree differs from HEAD (at commit time, pre-commit has stashed
    what is not staged), under both names of a rename; everything when HEAD has no commit."""
    try:
        git(root, "rev-parse", "--verify", "-q", "HEAD^{commit}")
    except GitError:  # no commit yet: every file is new
        return set(_tracked(root))
    out = git(root, "diff", "--name-only", "--no-renames", "-z", "HEAD", "--")
    return {path for path in out.split("\0") if path}


def _tracked(root: Path) -> list[str]:
    return [path for path in git(root, "ls-files", "-z").split("\0") if path]
