"""One file's content, decoded and parsed at most once, shared by every rule.

How a file decodes and parses is its language's business (``analyzers/languages/``): this
module only holds the bytes, the text and the tree, and counts lines as git does.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any

from faultline.analyzers.languages import Language, ParseError, decode_utf8, language_for

__all__ = ["ParseError", "SourceFile", "split_lines"]

_LINE_END = re.compile(r"\r\n|\r|\n")


class SourceFile:
    def __init__(self, path: str, data: bytes) -> None:
        self.path = path
        self.data = data

    @cached_property
    def language(self) -> Language | None:
        return language_for(self.path)

    @cached_property
    def text(self) -> str:
        decode = self.language.decode if self.language else decode_utf8
        return decode(self.data)

    @cached_property
    def lines(self) -> list[str]:
        """Lines without their endings; ``lines[0]`` is line 1."""
        return split_lines(self.text)

    def line(self, number: int) -> str:
        return self.lines[number - 1] if 0 < number <= len(self.lines) else ""

    def segment(self, first: int, last: int) -> str:
        return "\n".join(self.lines[first - 1 : last])

    @cached_property
    def tree(self) -> Any:
        """The file parsed by its language (an ``ast.Module`` for Python, ruamel's tree for
        YAML); ParseError when it cannot be parsed or its language has no parser."""
        if self.language is None or self.language.parse is None:
            raise ParseError(f"no parser for {self.path}")
        return self.language.parse(self.text, self.path)

    def offset_to_column(self, line: int, utf8_offset: int) -> int:
        """ast gives columns as UTF-8 byte offsets; turn one into a character index."""
        return len(self.line(line).encode()[:utf8_offset].decode(errors="replace"))


def split_lines(text: str) -> list[str]:
    """Lines as Python's parser and git count them: str.splitlines() would also
    break at form feeds and other separators, and shift every line after them."""
    # Without a carriage return the expression splits where str.split does, several
    # times slower: most files end their lines with a newline alone.
    lines = text.split("\n") if "\r" not in text else _LINE_END.split(text)
    return lines[:-1] if lines and not lines[-1] else lines
