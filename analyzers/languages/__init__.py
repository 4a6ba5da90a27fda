"""The languages Faultline reads, one module each: which files are theirs, how their bytes
decode, how they parse, how a comment starts and which files are tests.

Adding a language is adding a module here that defines ``LANGUAGE`` (or ``LANGUAGES``) (and rules that target
it): the engine, suppressions, renderers and docs ask this registry and do not change.
"""

from __future__ import annotations

import codecs
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import PurePosixPath
from typing import Any


class ParseError(Exception):
    """A file cannot be decoded or parsed; reported once as FL000."""

    def __init__(self, message: str, line: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = max(line, 1)


def decode_utf8(data: bytes) -> str:
    """UTF-8, with or without a byte-order mark: what most formats and git tools expect."""
    encoding = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        raise undecodable(data, err, encoding) from None


def undecodable(data: bytes, err: UnicodeDecodeError, encoding: str) -> ParseError:
    line = data[: err.start].count(b"\n") + 1
    return ParseError(f"cannot decode as {encoding}: byte 0x{data[err.start]:02x}", line)


@dataclass(frozen=True)
class Language:
    name: str
    suffixes: tuple[str, ...]
    # Whole file names that belong to the language whatever their suffix ("setup.cfg").
    filenames: tuple[str, ...] = ()
    # How a line comment starts: where ``faultline: ignore[...]`` is looked for.
    comment_prefixes: tuple[str, ...] = ("#",)
    # Globs (config.matches_any syntax) of this language's test and tooling files, which
    # production-only rules skip (beside the folders every language shares).
    test_globs: tuple[str, ...] = ()
    # The info string of a Markdown code fence for this language's code.
    fence: str = ""
    decode: Callable[[bytes], str] = decode_utf8
    # text, path -> the language's tree; raises ParseError. None: read as text only.
    parse: Callable[[str, str], Any] | None = field(default=None, compare=False)
    # A file of the language that no rule has anything to say about (a minified bundle): the
    # engine reads no further. Takes the SourceFile; None: every file is read.
    generated: Callable[[Any], bool] | None = field(default=None, compare=False)

    def owns(self, path: str) -> bool:
        return self.owns_name(PurePosixPath(path).name)

    def owns_name(self, name: str) -> bool:
        """``owns`` for a file name (the path's last part) already split off."""
        return name in self.filenames or name.endswith(self.suffixes)


_extra: list[Language] = []


@cache
def _discovered() -> tuple[Language, ...]:
    found: list[Language] = []
    for info in pkgutil.iter_modules(__path__, f"{__name__}."):
        module = importlib.import_module(info.name)
        declared = (getattr(module, "LANGUAGE", None), *getattr(module, "LANGUAGES", ()))
        found.extend(language for language in declared if isinstance(language, Language))
    return tuple(found)


def all_languages() -> tuple[Language, ...]:
    return (*_extra, *_discovered())


def register(language: Language) -> Callable[[], None]:
    """Add a language from outside this package (a plugin, a test double); returns the
    function that removes it again."""
    _extra.insert(0, language)
    _by_name.clear()

    def remove() -> None:
        _extra.remove(language)
        _by_name.clear()

    return remove


# language_for's answers by file name: the engine asks several times for every file of a run.
# Emptied when full: the App's workers live long and see many repositories.
_by_name: dict[str, Language | None] = {}
_BY_NAME_MAX = 50_000


def language_for(path: str) -> Language | None:
    """The language a file is written in, by its name; None for a file no language owns."""
    # The name is split off once, not once per language, and without pathlib (thirty times
    # slower): this runs for every file read, more than once. A file's path never ends in "/".
    name = path.rpartition("/")[2]
    if name not in _by_name:
        if len(_by_name) >= _BY_NAME_MAX:
            _by_name.clear()
        _by_name[name] = next((language for language in all_languages() if language.owns_name(name)), None)
    return _by_name[name]


def fence_for(path: str) -> str:
    """The Markdown code-fence info string for a file's code ("" when no language owns it)."""
    language = language_for(path)
    return language.fence if language else ""
