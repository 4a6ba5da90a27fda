"""The RepoViews of a machine's own files: a folder, and a git repository read
through git itself (the engine stays pure: git runs here, in the CLI)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path


class GitError(RuntimeError):
    """git refused a command (unknown revision, not a repository)."""


class FilesystemView:
    """The files under a folder, with no base: for ``faultline check --all``
    outside a git repository."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def read_new(self, path: str) -> bytes | None:
        try:
            return (self.root / path).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def read_base(self, path: str) -> bytes | None:
        return None

    def list_new(self, folder: str) -> list[str]:
        base = self.root / folder
        if not base.is_dir():
            return []
        prefix = folder.strip("/")
        return sorted(
            f"{prefix}/{entry.name}" if prefix else entry.name for entry in base.iterdir() if entry.is_file()
        )


class GitRepoView(FilesystemView):
    """A local git repository: base is a revision; new is a revision or, when
    ``head`` is None, the working tree."""

    def __init__(self, root: Path, base: str | None, head: str | None = None) -> None:
        super().__init__(root)
        self.base_rev = base
        self.head_rev = head
        self._batch: subprocess.Popen[bytes] | None = None

    def read_new(self, path: str) -> bytes | None:
        if self.head_rev is None:
            return super().read_new(path)
        return self._show(self.head_rev, path)

    def read_base(self, path: str) -> bytes | None:
        if self.base_rev is None:
            return None
        return self._show(self.base_rev, path)

    def list_new(self, folder: str) -> list[str]:
        if self.head_rev is None:
            return super().list_new(folder)
        spec = f"{folder.strip('/')}/" if folder.strip("/") else ""
        out = git(self.root, "ls-tree", "--name-only", self.head_rev, "--", spec or ".")
        return sorted(line for line in out.splitlines() if line)

    def _show(self, rev: str, path: str) -> bytes | None:
        """Read ``rev:path`` through one long-lived ``git cat-file --batch``."""
        proc = self._cat_file()
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(f"{rev}:{path}\n".encode())
        proc.stdin.flush()
        header = proc.stdout.readline().decode(errors="replace").split()
        if len(header) != 3:
            return None  # "<name> missing"
        # Read every object whole, trees included, or the next answer starts mid-object.
        data = proc.stdout.read(int(header[2]))
        proc.stdout.read(1)  # the newline after the object
        return data if header[1] == "blob" else None

    def _cat_file(self) -> subprocess.Popen[bytes]:
        if self._batch is None or self._batch.poll() is not None:
            self._batch = subprocess.Popen(
                ["git", "cat-file", "--batch"],
                cwd=self.root,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        return self._batch

    def close(self) -> None:
        if self._batch is not None:
            if self._batch.stdin:
                self._batch.stdin.close()
            self._batch.wait()
            if self._batch.stdout:
                self._batch.stdout.close()
            self._batch = None

    def __del__(self) -> None:
        self.close()


def git(root: Path, *args: str, env: Mapping[str, str] | None = None, stdin: bytes | None = None) -> str:
    """Run git in ``root`` and return its stdout; raise GitError with git's own words."""
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
    proc = subprocess.run(
        ["git", *args], cwd=root, capture_output=True, env=full_env, input=stdin, check=False
    )
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(message[-1] if message else f"git {args[0]} failed")
    return proc.stdout.decode(errors="replace")
