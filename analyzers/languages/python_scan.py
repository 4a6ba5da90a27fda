"""A lexer just deep enough to lower newer Python syntax: it finds the strings (with the
replacement fields of PEP 701 f-strings and PEP 750 t-strings), brackets, line ends and
keywords that the lowering needs, and leaves the rest of the grammar to ``ast``.

It works on character indices of the whole text and raises ``Unreadable`` where the text
stops being Python (a string that never ends, an empty replacement field); the tokens
read before that point are still returned, so an error further down does not hide the
newer syntax above it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

NAME, OP, STRING, NEWLINE = "name", "op", "string", "newline"

# Spaces before a token are part of its match: half as many matches to make. ``word`` is a
# keyword the lowering looks at (``type`` is one only where a statement begins).
_TOKEN = re.compile(
    r"""[ \t\f]*(?:
      (?P<word>(?:except|def|class|type)\b)
    | (?P<formatted>(?:[fFtT][rR]?|[rR][fFtT])(?:'''|\"\"\"|'|"))
    | (?P<string>(?:[rR][bB]?|[bB][rR]?|[uU])?
        (?:'''(?:[^'\\]|\\(?:\r\n|.)|'(?!''))*'''
          |\"\"\"(?:[^"\\]|\\(?:\r\n|.)|"(?!""))*\"\"\"
          |'(?:[^'\\\r\n]|\\(?:\r\n|.))*'
          |"(?:[^"\\\r\n]|\\(?:\r\n|.))*"))
    | (?P<name>\w+)
    | (?P<open>[(\[{])
    | (?P<close>[)\]}])
    | (?P<newline>\r\n|\r|\n)
    | (?P<skip>\\(?:\r\n|\r|\n)|\#[^\r\n]*|\Z)
    | (?P<unended>['"])
    | (?P<op>\*\*=?|//=?|>>=?|<<=?|[-+*/%@&|^<>!=:]=|->|\.\.\.|[^\s\w])
    )""",
    re.VERBOSE | re.DOTALL,
)
_LITERAL = re.compile(r"[^{}\\\r\n'\"]+")
_CONVERSION = re.compile(r"\w+")
# What PEP 701 allows after the ``=`` or the conversion of a field: ``{x!r }``, ``{x=\n}``.
_GAP = re.compile(r"(?:[ \t\f\r\n]|\\(?:\r\n|\r|\n)|\#[^\r\n]*)*")
# What ends the expression of a replacement field when no bracket is open: ``{x!r}``,
# ``{x:>10}`` (``{x:=10}`` too: a walrus needs its own brackets there), ``{x=}``, ``{x}``.
_FIELD_END = frozenset({"}", "!", ":", ":=", "="})


class Unreadable(Exception):
    """The lexer cannot go on at ``index``."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


class Token(NamedTuple):
    kind: str
    start: int
    end: int
    depth: int  # brackets open around the token (for a bracket: around the pair)
    part: Part | None = None  # the literal of a STRING token


Text = tuple[int, int]  # literal text of an f-string: [start, end) as written, escapes and all


@dataclass(slots=True, eq=False)
class Field:
    """A replacement field ``{expression=!conversion:spec}``."""

    start: int  # the "{"
    expression: tuple[int, int]  # [start, end): whitespace, comments and line ends included
    debug: int | None  # with ``=``: where the text ``expression=`` and the spaces (comments) after it end
    conversion: str | None
    spec: list[Text | Field] | None
    end: int  # after the "}"
    groups: list[list[Part]]  # string literals in the expression, a concatenation together
    is_tuple: bool  # a comma outside brackets: ``{a, b}``


@dataclass(slots=True, eq=False)
class Part:
    """One string literal: ``pieces`` are the text and fields of an f-string or t-string."""

    start: int
    end: int
    prefix: str  # lower case; "" for a plain string
    quote: str
    pieces: list[Text | Field] = field(default_factory=list)

    @property
    def formatted(self) -> bool:
        return "f" in self.prefix or "t" in self.prefix

    @property
    def template(self) -> bool:
        return "t" in self.prefix

    @property
    def raw(self) -> bool:
        return "r" in self.prefix


@dataclass(slots=True)
class Tokens:
    items: list[Token]
    words: list[int]  # indices of the ``except``, ``def``, ``class`` and ``type`` tokens
    strings: list[int]  # indices of the STRING tokens
    complete: bool  # False: the text is unreadable after the last token


def lex(text: str) -> Tokens:
    tokens = Tokens([], [], [], True)
    try:
        _lex(text, 0, tokens, field=False)
    except Unreadable:
        tokens.complete = False
    return tokens


def fields(pieces: list[Text | Field]) -> list[Field]:
    """The fields among ``pieces`` and in their format specs, in the order they are written."""
    found: list[Field] = []
    for piece in pieces:
        if isinstance(piece, Field):
            found.append(piece)
            if piece.spec:
                found.extend(fields(piece.spec))
    return found


def groups(tokens: Tokens) -> list[list[Part]]:
    """The string literals, those written next to each other (one concatenation) together."""
    found: list[list[Part]] = []
    previous = -2
    for index in tokens.strings:
        part = tokens.items[index].part
        assert part is not None
        if index == previous + 1:
            found[-1].append(part)
        else:
            found.append([part])
        previous = index
    return found


def _lex(text: str, pos: int, tokens: Tokens, field: bool) -> int:
    """Tokens from ``pos`` to the end of the text, or in a replacement field to the
    character that ends its expression; returns the index where it stopped."""
    items, new = tokens.items, tuple.__new__  # a Token without NamedTuple's slower __new__
    depth = 0
    size = len(text)
    match = _TOKEN.match
    while pos < size:
        found = match(text, pos)
        if found is None:
            raise Unreadable(pos)
        kind = found.lastgroup or "skip"  # every alternative is a named group
        start, pos = found.span(kind)
        if kind == "name":
            items.append(new(Token, (NAME, start, pos, depth, None)))
        elif kind in ("op", "close"):
            if field and depth == 0 and text[start:pos] in _FIELD_END:
                return start
            if kind == "close":
                depth = max(depth - 1, 0)
            items.append(new(Token, (OP, start, pos, depth, None)))
        elif kind == "open":
            items.append(new(Token, (OP, start, pos, depth, None)))
            depth += 1
        elif kind == "newline" and depth == 0 and not field:
            items.append(new(Token, (NEWLINE, start, pos, 0, None)))
        elif kind == "word":
            tokens.words.append(len(items))
            items.append(new(Token, (NAME, start, pos, depth, None)))
        elif kind == "unended":
            raise Unreadable(start)  # a string that never ends
        elif kind in ("formatted", "string"):
            part = (
                _formatted(text, start, found.group(kind))
                if kind == "formatted"
                else _plain(text, start, pos)
            )
            pos = part.end
            tokens.strings.append(len(items))
            items.append(new(Token, (STRING, start, pos, depth, part)))
    if field:
        raise Unreadable(pos)
    return pos


def _plain(text: str, start: int, end: int) -> Part:
    literal = text[start:end]
    body = literal.lstrip("rRbBuU")
    quote = body[:3] if body[:3] in ("'''", '"""') and len(body) >= 6 else body[:1]
    return Part(start, end, literal[: len(literal) - len(body)].lower(), quote)


def _formatted(text: str, start: int, head: str) -> Part:
    prefix = head.rstrip("'\"")
    quote = head[len(prefix) :]
    pieces, end = _body(text, start + len(head), quote, "r" in prefix.lower(), spec=False)
    return Part(start, end, prefix.lower(), quote, pieces)


def _body(text: str, pos: int, quote: str, raw: bool, spec: bool) -> tuple[list[Text | Field], int]:
    """The text and fields of an f-string from ``pos``, and the index after its closing
    quote (in a format spec: the index of the ``}`` that ends it)."""
    pieces: list[Text | Field] = []
    begin = pos
    size = len(text)
    while True:
        found = _LITERAL.match(text, pos)
        if found is not None:
            pos = found.end()
        if pos >= size:
            raise Unreadable(pos)
        char = text[pos]
        if char == "{" and (spec or not text.startswith("{{", pos)):
            _text(pieces, begin, pos)
            item = _field(text, pos, quote, raw)
            pieces.append(item)
            pos = begin = item.end
        elif (char == "}" and spec) or text.startswith(quote, pos):
            if spec != (char == "}"):
                raise Unreadable(pos)  # the string ends inside a format spec
            _text(pieces, begin, pos)
            return pieces, pos if spec else pos + len(quote)
        else:
            pos = _skip(text, pos, char, quote, raw)


def _skip(text: str, pos: int, char: str, quote: str, raw: bool) -> int:
    """The index after the character at ``pos``, or after the escape or doubled brace it begins."""
    if char == "\\":
        return _escape(text, pos, raw)
    if char in "\r\n":
        if len(quote) == 1:
            raise Unreadable(pos)
        return pos + 1
    if char in "{}":
        if not text.startswith(char * 2, pos):
            raise Unreadable(pos)  # a single "}"
        return pos + 2
    return pos + 1  # the other quote, or one of a triple quote


def _escape(text: str, pos: int, raw: bool) -> int:
    """The index after the escape sequence at ``pos`` as far as the string's end is concerned."""
    following = text[pos + 1 : pos + 2]
    if not raw and following == "N" and text.startswith("{", pos + 2):
        close = text.find("}", pos + 3)  # ``\N{EM DASH}`` names a character: no field
        if close < 0:
            raise Unreadable(pos)
        return close + 1
    if following in ("{", "}", ""):
        return pos + 1  # ``\{``: the brace still opens a field
    return pos + (3 if text.startswith("\r\n", pos + 1) else 2)


def _field(text: str, start: int, quote: str, raw: bool) -> Field:
    inner = Tokens([], [], [], True)
    stop = _lex(text, start + 1, inner, field=True)
    if not inner.items:
        raise Unreadable(start)  # ``{}``, or only a comment
    pos, debug, conversion, spec = stop, None, None, None
    if text.startswith("=", pos):
        pos = debug = _gap(text, pos + 1)
    if text.startswith("!", pos):
        name = _CONVERSION.match(text, pos + 1)
        if name is None:
            raise Unreadable(pos)
        conversion, pos = name.group(), _gap(text, name.end())
    if text.startswith(":", pos):
        spec, pos = _body(text, pos + 1, quote, raw, spec=True)
    if not text.startswith("}", pos):
        raise Unreadable(pos)
    is_tuple = any(t.kind == OP and t.depth == 0 and text[t.start] == "," for t in inner.items)
    return Field(start, (start + 1, stop), debug, conversion, spec, pos + 1, groups(inner), is_tuple)


def _gap(text: str, pos: int) -> int:
    """The index after the spaces, line ends and comments from ``pos`` (after ``=`` or ``!r``)."""
    found = _GAP.match(text, pos)
    assert found is not None  # it matches the empty string too
    return found.end()


def _text(pieces: list[Text | Field], start: int, end: int) -> None:
    if end > start:
        pieces.append((start, end))
