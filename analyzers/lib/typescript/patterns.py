"""Regular expressions the frontend rules compile on first use, not at import.

Every run imports every rule, and most of these patterns serve a case few files reach (an
axios client, a React root, a ``fetch`` of a blob): compiling the nineteen of them costs
about 4 ms, which a run on a Vue project or on Python code paid for nothing.
"""

from __future__ import annotations

import re
import sys
from typing import Any, AnyStr, Generic


class LazyPattern(Generic[AnyStr]):
    """``re.compile(source, flags)`` once something asks it to match."""

    __slots__ = ("_compiled", "_flags", "_source")

    def __init__(self, source: AnyStr, flags: int = 0) -> None:
        self._source: AnyStr = source
        self._flags = flags
        self._compiled: re.Pattern[AnyStr] | None = None

    @property
    def compiled(self) -> re.Pattern[AnyStr]:
        if self._compiled is None:
            self._compiled = re.compile(self._source, self._flags)
        return self._compiled

    def search(self, string: AnyStr, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[AnyStr] | None:
        return self.compiled.search(string, pos, endpos)

    def match(self, string: AnyStr, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[AnyStr] | None:
        return self.compiled.match(string, pos, endpos)

    def findall(self, string: AnyStr) -> list[Any]:
        return self.compiled.findall(string)

    def sub(self, repl: AnyStr, string: AnyStr) -> AnyStr:
        return self.compiled.sub(repl, string)
