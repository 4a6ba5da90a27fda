"""Python files are decoded as the interpreter decodes them, whether or not the fast path
for plain UTF-8 takes them."""

from __future__ import annotations

import codecs
import io
import tokenize

import pytest

from faultline.analyzers.languages import ParseError
from faultline.analyzers.languages.python import decode


def _interpreter(data: bytes) -> str:
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"x = 1\n",
        "name = 'caf\xe9'\n".encode(),
        b"# -*- coding: latin-1 -*-\nname = 'caf\xe9'\n",
        b"#!/usr/bin/env python\n# vim: set fileencoding=latin-1 :\nname = 'caf\xe9'\n",
        codecs.BOM_UTF8 + "x = '\u20ac'\n".encode(),
        b"# no cookie on line one\nx = 1\n# coding: latin-1 is too late here\n",
        b"x = 1\r# coding: latin-1\rname = 'cafe'\r",
        b"no newline at all",
    ],
)
def test_the_text_is_what_python_reads(data: bytes) -> None:
    assert decode(data) == _interpreter(data)


def test_invalid_utf8_names_its_line() -> None:
    with pytest.raises(ParseError) as err:
        decode(b"x = 1\ny = 2\nname = 'caf\xe9'\n")
    assert err.value.line == 3
    assert "utf-8" in err.value.message and "0xe9" in err.value.message


def test_invalid_utf8_on_the_first_line_is_told_as_python_tells_it() -> None:
    with pytest.raises(ParseError) as err:
        decode(b"name = 'caf\xe9'\n")
    with pytest.raises(SyntaxError) as python:
        tokenize.detect_encoding(io.BytesIO(b"name = 'caf\xe9'\n").readline)
    assert err.value.message == f"cannot decode: {python.value}"


def test_an_unknown_cookie_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="cannot decode"):
        decode(b"# coding: no-such-codec\nx = 1\n")
