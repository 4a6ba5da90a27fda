"""One file's content, decoded and parsed at most once, shared by every rule."""

from __future__ import annotations

import ast
import codecs
import io
import re
import tokenize
from functools import cached_property
from typing import Any

from analyzers.languages.python_syntax import parse_module

PYTHON_SUFFIXES = (".py", ".pyi")
_LINE_END = re.compile(r"\r\n|\r|\n")
YAML_SUFFIXES = (".yml", ".yaml")


class ParseError(Exception):
    """The file cannot be decoded or parsed; reported once as FL000."""

    def __init__(self, message: str, line: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = max(line, 1)


class SourceFile:
    def __init__(self, path: str, data: bytes) -> None:
        self.path = path
        self.data = data

    @property
    def is_python(self) -> bool:
        return self.path.endswith(PYTHON_SUFFIXES)

    @property
    def is_yaml(self) -> bool:
        return self.path.endswith(YAML_SUFFIXES)

    @cached_property
    def text(self) -> str:
        return decode(self.data, python=self.is_python)

    @cached_property
    def lines(self) -> list[str]:
        """Lines without their endings; ``lines[0]`` is line 1."""
        return split_lines(self.text)

    def line(self, number: int) -> str:
        return self.lines[number - 1] if 0 < number <= len(self.lines) else ""

    def segment(self, first: int, last: int) -> str:
        return "\n".join(self.lines[first - 1 : last])

    @cached_property
    def python(self) -> ast.Module:
        try:
            # Python 3.8 to 3.14, whichever interpreter runs this.
            return parse_module(self.text, self.path)
        except SyntaxError as err:
            raise ParseError(f"syntax error: {err.msg}", err.lineno or 1) from None
        except (ValueError, RecursionError, MemoryError) as err:
            raise ParseError(f"cannot parse: {err}") from None

    @cached_property
    def yaml(self) -> Any:
        """The document as ruamel's round-trip tree (keeps line numbers in ``.lc``)."""
        from ruamel.yaml import YAML
        from ruamel.yaml.error import YAMLError

        try:
            return YAML(typ="rt").load(io.StringIO(self.text))
        except YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 1
            problem = getattr(err, "problem", None) or str(err).splitlines()[0]
            raise ParseError(f"invalid YAML: {problem}", line) from None
        except Exception as err:  # noqa: BLE001  # ruamel raises more than YAMLError
            raise ParseError(f"invalid YAML: {err}") from None

    def offset_to_column(self, line: int, utf8_offset: int) -> int:
        """ast gives columns as UTF-8 byte offsets; turn one into a character index."""
        return len(self.line(line).encode()[:utf8_offset].decode(errors="replace"))


def split_lines(text: str) -> list[str]:
    """Lines as Python's parser and git count them: str.splitlines() would also
    break at form feeds and other separators, and shift every line after them."""
    lines = _LINE_END.split(text)
    return lines[:-1] if lines and not lines[-1] else lines


def decode(data: bytes, python: bool) -> str:
    """Decode as Python does (coding cookie, BOM) for Python files, UTF-8 otherwise."""
    if python:
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        except SyntaxError as err:
            raise ParseError(f"cannot decode: {err}") from None
    else:
        encoding = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ParseError(f"cannot decode as {encoding}: byte 0x{data[err.start]:02x}", line) from None
