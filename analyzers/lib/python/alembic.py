"""Alembic's revision files and config, read cheaply: the identifiers at the top of a
migration (``revision``, ``down_revision``, ``branch_labels``, ``depends_on``) and the
version folders an ``alembic.ini`` names.

A versions folder can hold hundreds of migrations, and a rule that needs the history reads
every one of them: they are read with a regular expression for the four module-level
assignments and ``ast.literal_eval`` of each value, never parsed whole.
"""

from __future__ import annotations

import ast
import configparser
import posixpath
import re
from dataclasses import dataclass

# A module-level assignment, annotated or not: `down_revision: Union[str, None] = "abc"`.
# Searched for in "\n" + text: a pattern that starts with a newline is tried at newlines
# only, where `^` in MULTILINE mode is tried at every character (three times slower).
_ASSIGNMENT = re.compile(r"\n(revision|down_revision|branch_labels|depends_on)[ \t]*(?::[^=\n]*)?=[ \t]*(.*)")
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_MISSING = object()
# `%(here)s` is the folder of the ini file; `pkg:path` a folder inside a package.
_HERE = re.compile(r"%\(here\)s/?")
INI_NAME = "alembic.ini"
# `version_path_separator` as a pattern; without it, spaces or commas (Alembic's legacy split).
_SEPARATORS = {"space": r"\s+", "newline": r"\n", "os": ":", ":": ":", ";": ";", ",": ","}
_LEGACY_SEPARATOR = r"[\s,]+"


@dataclass(frozen=True)
class Migration:
    """One revision file's identifiers, with the lines they are assigned on."""

    path: str
    revision: str
    down_revisions: tuple[str, ...]
    branch_labels: tuple[str, ...]
    revision_line: int
    down_line: int

    @property
    def is_merge(self) -> bool:
        return len(self.down_revisions) > 1


def read_migration(path: str, text: str) -> Migration | None:
    """The identifiers of a revision file; None when it is not one (no literal
    ``revision`` and ``down_revision`` at module level)."""
    values: dict[str, tuple[object, int]] = {}
    lined = "\n" + text
    for match in _ASSIGNMENT.finditer(lined):
        name = match.group(1)
        if name in values:
            continue  # the first assignment is the one Alembic's template writes
        value = _literal(lined, match.start(2))
        if value is not _MISSING:
            values[name] = (value, lined.count("\n", 0, match.start()) + 1)
    if "revision" not in values or "down_revision" not in values:
        return None
    revision, revision_line = values["revision"]
    down, down_line = values["down_revision"]
    downs = _names(down)
    if not isinstance(revision, str) or not revision or downs is None:
        return None
    labels = _names(values.get("branch_labels", (None, 0))[0]) or ()
    return Migration(path, revision, downs, labels, revision_line, down_line)


def _literal(text: str, start: int) -> object:
    """The literal value written from ``start``, across lines while brackets are open."""
    end = text.find("\n", start)
    end = len(text) if end < 0 else end
    snippet = text[start:end]
    if snippet[:1] in _OPENERS:
        closing = text.find(_OPENERS[snippet[0]], start)
        if closing > end:
            end = text.find("\n", closing)
            snippet = text[start : len(text) if end < 0 else end]
    try:
        return ast.literal_eval(ast.parse(snippet.strip(), mode="eval"))
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        return _MISSING


def _names(value: object) -> tuple[str, ...] | None:
    """A revision reference as a tuple of ids: None, a string, or a sequence of strings."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, (tuple, list, set, frozenset)) and all(isinstance(item, str) for item in value):
        return tuple(str(item) for item in value)
    return None


def ini_candidates(folder: str) -> list[str]:
    """Where an ``alembic.ini`` may sit for a versions folder: that folder and every
    folder above it, nearest first."""
    candidates = []
    current = folder.strip("/")
    while True:
        candidates.append(posixpath.join(current, INI_NAME) if current else INI_NAME)
        if not current:
            return candidates
        current = posixpath.dirname(current)


def version_folders(ini_path: str, ini_text: str, folder: str) -> list[str]:
    """The version folders of the ``alembic.ini`` section whose versions include
    ``folder`` (it first), or [] when no section names it. A ``pkg:path`` location
    is found by its tail, and the section's other locations under the same prefix."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(ini_text)
    except configparser.Error:
        return []
    here = posixpath.dirname(ini_path)
    for section in parser.sections():
        locations = _locations(parser[section])
        prefix = _prefix_of(folder, locations, here)
        if prefix is None:
            continue
        folders = [posixpath.normpath(posixpath.join(prefix, tail)) for tail in locations]
        return list(dict.fromkeys([folder, *(path for path in folders if not path.startswith(".."))]))
    return []


def _locations(section: configparser.SectionProxy) -> list[str]:
    """A section's version folders as paths relative to an unknown prefix."""
    raw = section.get("version_locations")
    if raw:
        separator = _SEPARATORS.get(section.get("version_path_separator", "").strip(), _LEGACY_SEPARATOR)
        return [_plain(part) for part in re.split(separator, raw) if part.strip()]
    script = section.get("script_location")
    return [posixpath.join(_plain(script), "versions")] if script else []


def _plain(location: str) -> str:
    location = _HERE.sub("", location.strip())
    if ":" in location:  # `dispatch:database/revisions/core`: the package's folder
        package, _, rest = location.partition(":")
        location = posixpath.join(package.replace(".", "/"), rest)
    return location.strip("/")


def _prefix_of(folder: str, locations: list[str], here: str) -> str | None:
    """The folder the section's locations are relative to, when one of them is ``folder``."""
    for tail in locations:
        if not tail:
            continue
        if posixpath.normpath(posixpath.join(here, tail)) == folder:
            return here
        if folder == tail or folder.endswith(f"/{tail}"):
            return folder[: len(folder) - len(tail)].rstrip("/")
    return None
