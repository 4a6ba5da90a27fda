"""The RepoViews of a machine's own files: a folder, and a git repository read
through git itself (the engine stays pure: git runs here, in the CLI)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

GIT_MISSING = "git is not installed (no git on PATH)"


def git_installed() -> bool:
    return shutil.which("git") is not None


class GitError(RuntimeError):
    """git refused a command (unknown revision, not a repository); the message is
    git's last line, ``stderr`` all it said."""

    def __init__(self, message: str, stderr: str = "") -> None:
        super().__init__(message)
        self.stderr = stderr


class FilesystemView:
    """The files under a folder, with no base: for ``faultline check --all``
    outside a git repository."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._root = str(root)

    def read_new(self, path: str) -> bytes | None:
        # os.path and a raw file, not pathlib: ``check --all`` reads every file of a project
        # this way, and a Path per file cost about as much as reading it.
        try:
            with open(os.path.join(self._root, path), "rb", buffering=0) as file:
                return file.readall()
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
        out = git(self.root, "ls-tree", "-z", "--name-only", self.head_rev, "--", spec or ".")
        return sorted(name for name in out.split("\0") if name)

    def _show(self, rev: str, path: str) -> bytes | None:
        """Read ``rev:path`` through one long-lived ``git cat-file --batch``."""
        if "\n" in path or path.endswith("\r"):
            return _show_one(self.root, rev, path)  # the batch reads one name per line
        proc = self._cat_file()
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(f"{rev}:{path}\n".encode("utf-8", errors="surrogateescape"))
            proc.stdin.flush()
            header = proc.stdout.readline()
        except BrokenPipeError:
            header = b""
        if not header:
            self.close()  # git died on a damaged object: the next read starts a new one
            return None
        answer = _answer(header)
        if answer is None:
            return None
        kind, size = answer
        # Read every object whole, trees included, or the next answer starts mid-object.
        data = proc.stdout.read(size)
        proc.stdout.read(1)  # the newline after the object
        return data if kind == b"blob" and len(data) == size else None

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
                with contextlib.suppress(BrokenPipeError):
                    self._batch.stdin.close()
            self._batch.wait()
            if self._batch.stdout:
                self._batch.stdout.close()
            self._batch = None

    def __del__(self) -> None:
        self.close()


def _answer(header: bytes) -> tuple[bytes, int] | None:
    """Type and size from ``cat-file --batch``'s answer ``<oid> <type> <size>``, None
    when there is no object. The other answers, ``<name> missing`` and ``<name>
    ambiguous``, repeat the name asked for, which may hold spaces: their last word
    is never a number."""
    words = header.rstrip(b"\n").split(b" ")
    if len(words) != 3 or not words[2].isdigit():
        return None
    return words[1], int(words[2])


def _show_one(root: Path, rev: str, path: str) -> bytes | None:
    proc = subprocess.run(
        ["git", "cat-file", "blob", f"{rev}:{path}"], cwd=root, capture_output=True, check=False
    )
    return proc.stdout if proc.returncode == 0 else None


def git(root: Path, *args: str, env: Mapping[str, str] | None = None, stdin: bytes | None = None) -> str:
    """Run git in ``root`` and return its stdout; raise GitError with git's own words."""
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
    try:
        proc = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, env=full_env, input=stdin, check=False
        )
    except FileNotFoundError:
        if shutil.which("git", path=full_env.get("PATH")) is None:
            raise GitError(GIT_MISSING) from None
        raise  # git is there: the folder is what is missing
    if proc.returncode != 0:
        said = proc.stderr.decode(errors="replace").strip()
        lines = said.split("\n")
        raise GitError(lines[-1] if said else f"git {args[0]} failed", said)
    # Paths are bytes to git: one that is not UTF-8 must come back to the same bytes.
    return proc.stdout.decode("utf-8", errors="surrogateescape")
