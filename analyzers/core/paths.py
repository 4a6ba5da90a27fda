"""Repository paths as data: which ones may be asked for, and rule-named ones made plain.

A path comes from a pull request's file list or from a file's contents (a workflow's
``working-directory``); either may be hostile. Read through a URL, a ``..`` segment
would step out of the repository's ``/repos/{owner}/{repo}/`` prefix once an HTTP
client or proxy normalises it. So a changed path is taken as it is or not at all, and
a path a rule builds is normalised first and kept only while it stays inside.
"""

from __future__ import annotations

import posixpath

UNSAFE_NAME = "its path cannot be read safely ({why})"


def unsafe_reason(path: str) -> str | None:
    """Why ``path`` must never be requested, or None when it is a plain repository path:
    relative, its segments neither empty nor ``.`` / ``..``, no NUL byte (git allows
    every other byte in a name)."""
    if not path:
        return "empty"
    if "\0" in path:
        return "a NUL byte"
    if path.startswith("/"):
        return "absolute"
    segments = path.split("/")
    if "" in segments:
        return "an empty segment"
    if any(segment in (".", "..") for segment in segments):
        return "a '.' or '..' segment"
    return None


def is_safe(path: str) -> bool:
    return unsafe_reason(path) is None


def inside_repository(path: str) -> str | None:
    """A path a rule named (``backend/../ci/setup.cfg``, ``./pyproject.toml``), normalised;
    None when it points outside the repository, at its root, or is not a path at all."""
    if not path or "\0" in path or path.startswith("/"):
        return None
    normal = posixpath.normpath(path)
    if normal in {".", ".."} or normal.startswith("../"):
        return None
    return normal if is_safe(normal) else None


def context_entry(path: str) -> str | None:
    """A ``context_paths`` entry normalised; a folder keeps its trailing "/"."""
    folder = path.endswith("/")
    normal = inside_repository(path.rstrip("/"))
    if normal is None:
        return None
    return f"{normal}/" if folder else normal
