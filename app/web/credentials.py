"""Where the App's credentials are kept once registered: the .env file the next start
reads, or, when it cannot be written, a private file in the data dir (which the next
start reads too). Credentials already stored are never written over."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from faultline.app.settings import CREDENTIAL_NAMES, Settings

ENV_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")


class AlreadyStored(Exception):
    """Credentials are stored in ``path`` already: a second App's must not replace them."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.path = path


@dataclass(frozen=True)
class Saved:
    """Where the credentials were written, and why not to the .env file if they are elsewhere."""

    path: Path
    error: str = ""


def stored_credentials(settings: Settings) -> Path | None:
    """The file that holds App credentials already, if any: the data dir's credentials
    file, or the .env file when it assigns one of them."""
    if settings.credentials_file.exists():
        return settings.credentials_file
    try:
        text = settings.env_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in _lines(text):
        match = ENV_ASSIGNMENT.match(line)
        if match and match.group(1) in CREDENTIAL_NAMES and line.split("=", 1)[1].strip():
            return settings.env_file
    return None


def save_credentials(settings: Settings, values: Mapping[str, str]) -> Saved:
    """Write the new App's credentials to the .env file, or else to a private file in the
    data dir that the next start reads: GitHub shows the private key once, so it must not
    be lost. Neither file is written over credentials already there."""
    try:
        write_env(settings.env_file, values)
        return Saved(settings.env_file)
    except OSError as err:
        fallback = settings.credentials_file
        try:
            _create_private(fallback, "".join(f"{name}={value}\n" for name, value in values.items()))
        except FileExistsError:
            raise AlreadyStored(fallback) from None
        return Saved(fallback, err.strerror or type(err).__name__)


def write_env(path: Path, values: Mapping[str, str]) -> None:
    """Set ``values`` in the dotenv file at ``path``, keeping its other lines; the file ends up mode 0600."""
    old = _lines(path.read_text(encoding="utf-8")) if path.is_file() else []
    lines: list[str] = []
    written: set[str] = set()
    for line in old:
        match = ENV_ASSIGNMENT.match(line)
        name = match.group(1) if match else ""
        if name in values:
            if name not in written:
                lines.append(f"{name}={values[name]}")
                written.add(name)
            continue
        lines.append(line)
    lines.extend(f"{name}={value}" for name, value in values.items() if name not in written)
    _replace_private(path, "\n".join(lines) + "\n")


def _create_private(path: Path, text: str) -> None:
    """Write a new file, mode 0600, all at once; FileExistsError if ``path`` exists."""
    temporary = _private_draft(path, text)
    try:
        os.link(temporary, path)  # unlike a rename, never replaces a file already there
    finally:
        temporary.unlink(missing_ok=True)


def _replace_private(path: Path, text: str) -> None:
    """Write ``path`` anew, all at once: the new file is renamed over the old."""
    temporary = _private_draft(path, text)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.chmod(path, 0o600)


def _private_draft(path: Path, text: str) -> Path:
    """``text`` in a new file beside ``path``, created 0600 (never a moment readable by
    others) and flushed to disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def _lines(text: str) -> list[str]:
    """The lines of a .env file, broken only where a line ends (a form feed or U+2028 inside
    a value is not a line break). Not the engine's helper: the web process never loads it."""
    lines = text.replace("\r\n", "\n").split("\n")
    return lines[:-1] if lines and not lines[-1] else lines
