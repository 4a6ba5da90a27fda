"""Python: ``.py`` and ``.pyi`` files, decoded as the interpreter decodes them (coding cookie
or BOM) and parsed with ``ast``."""

from __future__ import annotations

import ast
import codecs
import io
import tokenize
from typing import TYPE_CHECKING

from faultline.analyzers.languages import Language, ParseError, undecodable
from faultline.analyzers.languages.python_syntax import parse_module

if TYPE_CHECKING:
    from faultline.analyzers.core.source import SourceFile


def decode(data: bytes) -> str:
    """Decode as Python does: a coding cookie or BOM, else UTF-8."""
    if not data.startswith(codecs.BOM_UTF8) and b"coding" not in _first_two_lines(data):
        # No cookie can be there: UTF-8, without ``tokenize``'s line-by-line reading, which
        # cost ten times the decoding. An error is still told as below.
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as err:
        raise ParseError(f"cannot decode: {err}") from None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        raise undecodable(data, err, encoding) from None


def _first_two_lines(data: bytes) -> bytes:
    """Where a coding cookie may be (PEP 263): the first line, or the second."""
    first = data.find(b"\n")
    second = data.find(b"\n", first + 1) if first >= 0 else -1
    return data if second < 0 else data[:second]


def parse(text: str, path: str) -> ast.Module:
    """The tree of Python 3.8 to 3.14, whichever interpreter runs this: newer syntax is
    lowered onto the same lines and columns first (``python_syntax``)."""
    try:
        return parse_module(text, path)
    except SyntaxError as err:
        raise ParseError(f"syntax error: {err.msg}", err.lineno or 1) from None
    except (ValueError, RecursionError, MemoryError) as err:
        raise ParseError(f"cannot parse: {err}") from None


def module(source: SourceFile) -> ast.Module:
    """The file's ``ast`` tree (parsed once, shared by every rule); ParseError if it has none."""
    tree = source.tree
    if not isinstance(tree, ast.Module):
        raise ParseError(f"{source.path} is not Python")
    return tree


LANGUAGE = Language(
    name="python",
    suffixes=(".py", ".pyi"),
    comment_prefixes=("#",),
    test_globs=("test_*.py", "*_test.py", "*_tests.py", "conftest.py", "setup.py"),
    fence="python",
    decode=decode,
    parse=parse,
)
