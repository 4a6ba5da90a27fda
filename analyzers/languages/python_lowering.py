"""Python 3.12-3.14 syntax rewritten as syntax this interpreter reads, on the same lines
and, counted in UTF-8 bytes as ``ast`` counts them, at the same columns:

- ``except A, B:`` (PEP 758) gets its brackets, ``except (A, B):``: the one rewrite that
  moves columns, so it records the two inserted characters for the tree to be moved back;
- ``type X[T] = list[T]`` (PEP 695) becomes ``X = list[T]``, its name moved to where
  ``type`` was and the rest blanked (``(    X[T] )`` when the brackets span lines);
- ``def f[T](x)`` and ``class C[T](B):`` lose their type parameters: the ``[`` becomes the
  ``(`` of the parameters or bases and the rest is blanked, ``def f(   x)``;
- a t-string (PEP 750) becomes an f-string, ``t"..."`` -> ``f"..."``;
- an f-string or t-string that only PEP 701 allows (the same quotes nested, a backslash, a
  comment or a line end in a replacement field) becomes the call chain ``(_(e1)(e2))`` of its
  expressions, each left where it was, the literal text blanked; the tree then gets its
  ``JoinedStr`` back from the parts recorded here.
"""

from __future__ import annotations

import keyword
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import cached_property

from faultline.analyzers.languages.python_scan import (
    NAME,
    NEWLINE,
    OP,
    Field,
    Part,
    Token,
    Tokens,
    fields,
    groups,
    lex,
)

Position = tuple[int, int]  # (line, UTF-8 column) as ``ast`` gives them
_LINE_END = re.compile(r"\r\n|\r|\n")
_BLANKABLE = re.compile(r"[^\r\n]+")
# Kept in a blanked ``type`` statement: line ends and the backslashes that continue lines.
_KEPT = re.compile(r"\\(?=\r\n|\r|\n)|\r\n|\r|\n|(?P<other>[^\\\r\n]+|\\)")


class Lines:
    """Character indices of a text as ``ast`` positions."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def starts(self) -> list[int]:
        return [0, *(found.end() for found in _LINE_END.finditer(self.text))]

    def position(self, index: int) -> Position:
        line = bisect_right(self.starts, index)
        before = self.text[self.starts[line - 1] : index]
        return line, len(before) if before.isascii() else _width(before)


@dataclass(slots=True)
class Lowered:
    text: str
    source: str
    # the position of ``_`` in ``(_(e1)(e2))`` -> the literals it stands for, and their span
    strings: dict[Position, tuple[list[Part], Position, Position]] = field(default_factory=dict)
    # the position of a ``type`` statement -> the span of its name
    aliases: dict[Position, tuple[Position, Position]] = field(default_factory=dict)
    # line -> (column in the lowered line, length) of each insertion, left to right
    inserted: dict[int, list[tuple[int, int]]] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.text != self.source

    def lines(self) -> list[int]:
        """The lines where the tree needs more than ``ast`` gives."""
        found = {line for line, _ in self.strings} | {line for line, _ in self.aliases}
        return sorted(found | set(self.inserted))


def lower(text: str) -> Lowered:
    return _Lowering(text).run()


def blank(segment: str) -> str:
    """As many spaces as ``segment`` has UTF-8 bytes, its line ends kept."""
    return _BLANKABLE.sub(lambda found: " " * _width(found.group()), segment)


class _Lowering:
    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = Lines(text)
        self.tokens: Tokens = lex(text)
        self.items: list[Token] = self.tokens.items
        self.replaced: list[tuple[int, int, str]] = []
        self.inserts: list[tuple[int, str]] = []
        # Blanked type parameters and alias heads, in order: the strings in them stay as they are.
        self.regions: list[tuple[int, int]] = []
        self.result = Lowered(text, text)

    def run(self) -> Lowered:
        for index in self.tokens.words:
            word = self._text(self.items[index])
            if word == "except":
                self._except(index)
            elif word in ("def", "class"):
                self._generic(index, word)
            elif self._statement_start(index):
                self._alias(index)
        starts = [start for start, _ in self.regions]
        for group in groups(self.tokens):
            region = bisect_right(starts, group[0].start) - 1
            if region < 0 or group[0].start >= self.regions[region][1]:
                self._strings(group)
        self.result.text = self._apply()
        return self.result

    # --- statements -------------------------------------------------------

    def _except(self, index: int) -> None:
        """``except A, B:`` and ``except* A, B:`` (PEP 758) -> ``except (A, B):``."""
        first = index + 1
        if self._is(first, OP, "*"):
            first += 1
        depth, comma, last = self.items[index].depth, False, None
        for position in range(first, len(self.items)):
            token = self.items[position]
            if token.kind == NEWLINE:
                return
            if token.depth != depth:
                continue
            word = self._text(token)
            if token.kind == OP and word == ":":
                last = position - 1
                break
            if word == "as":
                return  # PEP 758 keeps ``except (A, B) as err:`` bracketed
            comma = comma or (token.kind == OP and word == ",")
        if last is None or not comma:
            return
        self._insert(self.items[first].start, "(")
        self._insert(self.items[last].end, ")")

    def _generic(self, index: int, word: str) -> None:
        """``def f[T](x)`` -> ``def f(   x)``; ``class C[T]:`` -> ``class C( ):`` (PEP 695)."""
        if not (self._is(index + 1, NAME) and self._is(index + 2, OP, "[") and self._parameter(index + 3)):
            return
        close = self._closing(index + 2)
        if close is None:
            return
        opening = self.items[index + 2].start
        if self._is(close + 1, OP, "("):
            end = self.items[close + 1].end
            self._replace(opening, end, "(" + blank(self.text[opening + 1 : end]), region=True)
        elif word == "class" and self._is(close + 1, OP, ":"):
            end = self.items[close].end
            self._replace(opening, end, "(" + blank(self.text[opening + 1 : end - 1]) + ")", region=True)

    def _alias(self, index: int) -> None:
        """``type X[T] = list[T]`` (PEP 695) -> ``X = list[T]``."""
        name = index + 1
        if not self._is(name, NAME) or keyword.iskeyword(self._text(self.items[name])):
            return
        equals = name + 1
        if self._is(equals, OP, "[") and self._parameter(equals + 1):
            close = self._closing(equals)
            equals = -1 if close is None else close + 1
        if not self._is(equals, OP, "="):
            return
        start, end = self.items[index].start, self.items[equals].start
        first, last = self.items[name].start, self.items[name].end
        region = self.text[start:end]
        label = self.text[first:last]
        if "\n" not in region and "\r" not in region:
            new: str | None = label + " " * (_width(region) - _width(label))
        else:
            new = _bracketed(region, label, _width(self.text[start:first]))
        if new is None:
            return
        self._replace(start, end, new, region=True)
        span = (self.lines.position(first), self.lines.position(last))
        self.result.aliases[self.lines.position(start)] = span

    # --- strings ------------------------------------------------------------

    def _strings(self, group: list[Part]) -> None:
        templates = [part.template for part in group]
        if any(templates) and not all(templates):
            return  # a t-string concatenated with another kind of string: an error in 3.14 too
        if any(self._needs_call(part) for part in group):
            self._call(group)
        else:
            for part in group:
                if part.template:
                    letter = part.start + part.prefix.index("t")
                    self._replace(letter, letter + 1, "F" if self.text[letter] == "T" else "f")
        for part in group:
            for item in fields(part.pieces):
                for inner in item.groups:
                    self._strings(inner)

    def _needs_call(self, part: Part) -> bool:
        """Whether this interpreter's tokenizer cannot read the f-string (or t-string) as it is."""
        for item in fields(part.pieces):
            code = self.text[item.expression[0] : item.expression[1]]
            if part.quote in code or any(char in code for char in "\\#\r\n"):
                return True
            if self._after_expression(item):
                return True
            if any(self._needs_call(inner) for group in item.groups for inner in group):
                return True
        return False

    def _after_expression(self, item: Field) -> bool:
        """Whether the field has what only PEP 701 allows after its expression: ``{x=\n}``,
        ``{x = # why\n}``, ``{x!r }``."""
        end = item.expression[1]
        if item.debug is not None and any(char in self.text[end : item.debug] for char in "\\#\r\n"):
            return True
        return item.conversion is not None and self.text[_after_conversion(item)] not in ":}"

    def _call(self, group: list[Part]) -> None:
        """The literals as ``(_(e1)(e2))``: every expression where it was written."""
        expressions = [item.expression for part in group for item in fields(part.pieces)]
        start, end = group[0].start, group[-1].end
        bounds = [start, *(edge for span in expressions for edge in span), end]
        pieces = list(zip(bounds[::2], bounds[1::2], strict=True))
        opening, closing = pieces[0], pieces[-1]
        marks = _first_marks(self.text, opening[0])
        self._mark(opening, dict(zip(marks, "(_(", strict=True)))
        for piece in pieces[1:-1]:
            self._mark(piece, {piece[0]: ")", piece[1] - 1: "("})
        self._mark(closing, {closing[0]: ")", closing[1] - 1: ")"})
        span = (self.lines.position(start), self.lines.position(end))
        self.result.strings[self.lines.position(marks[1])] = (group, *span)

    def _mark(self, piece: tuple[int, int], marks: dict[int, str]) -> None:
        """Blank the piece of text but for the brackets at the given indices."""
        out, pos = [], piece[0]
        for index in sorted(marks):
            out.append(blank(self.text[pos:index]))
            out.append(marks[index] + " " * (_width(self.text[index]) - 1))
            pos = index + 1
        out.append(blank(self.text[pos : piece[1]]))
        self._replace(piece[0], piece[1], "".join(out))

    # --- helpers ------------------------------------------------------------

    def _text(self, token: Token) -> str:
        return self.text[token.start : token.end]

    def _is(self, index: int, kind: str, text: str | None = None) -> bool:
        if not 0 <= index < len(self.items):
            return False
        token = self.items[index]
        return token.kind == kind and (text is None or self._text(token) == text)

    def _parameter(self, index: int) -> bool:
        """A type parameter begins here: ``T``, ``*Ts`` or ``**P`` (so ``[]`` stays an error)."""
        return self._is(index, NAME) or self._is(index, OP, "*") or self._is(index, OP, "**")

    def _statement_start(self, index: int) -> bool:
        if index == 0:
            return True
        before = self.items[index - 1]
        return before.kind == NEWLINE or (before.depth == 0 and self._text(before) in (";", ":"))

    def _closing(self, index: int) -> int | None:
        """The index of the bracket that closes the one at ``index``."""
        depth = self.items[index].depth
        for position in range(index + 1, len(self.items)):
            token = self.items[position]
            if token.depth == depth and token.kind == OP and self._text(token) in (")", "]", "}"):
                return position if self._text(token) == "]" else None
        return None

    def _replace(self, start: int, end: int, new: str, region: bool = False) -> None:
        assert _width(new) == _width(self.text[start:end]), (self.text[start:end], new)
        self.replaced.append((start, end, new))
        if region:
            self.regions.append((start, end))

    def _insert(self, index: int, new: str) -> None:
        self.inserts.append((index, new))

    def _apply(self) -> str:
        edits = sorted(
            [(start, 1, end, new) for start, end, new in self.replaced]
            + [(index, 0, index, new) for index, new in self.inserts]
        )
        out, pos = [], 0
        shifts: dict[int, list[tuple[int, int]]] = {}
        for start, _, end, new in edits:
            out.append(self.text[pos:start])
            out.append(new)
            pos = end
            if start == end:
                line, column = self.lines.position(start)
                shifts.setdefault(line, []).append((column, len(new)))
        out.append(self.text[pos:])
        for line, inserts in shifts.items():
            moved, total = [], 0
            for column, length in inserts:
                moved.append((column + total, length))
                total += length
            self.result.inserted[line] = moved
        return "".join(out)


def _width(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _bracketed(region: str, label: str, at: int) -> str | None:
    """A ``type`` statement over several lines, up to its ``=``, as ``(label)`` and blanks, or
    None when they do not fit. ``(`` stands where ``type`` was and ``)`` after the last line end
    that a backslash does not continue (the line ends of brackets); those backslashes are kept.
    The label stays at its column ``at`` if a ``)`` fits after it, else goes where both fit."""
    blanked = _KEPT.sub(_blank_unkept, region)  # a character per column: ``blank`` keeps widths
    floor = 0
    for end in _LINE_END.finditer(blanked):
        if blanked[end.start() - 1 : end.start()] != "\\":
            floor = end.end()
    cells = list(blanked)
    cells[0] = "("
    width = _width(label)
    for spot in [at, *range(1, len(cells))]:
        if cells[spot : spot + width] != [" "] * width:
            continue
        close = next((i for i in range(max(spot + width, floor), len(cells)) if cells[i] == " "), None)
        if close is not None:
            cells[close] = ")"
            return "".join(cells[:spot]) + label + "".join(cells[spot + width :])
    return None


def _blank_unkept(found: re.Match[str]) -> str:
    return found.group() if found.group("other") is None else blank(found.group())


def _after_conversion(item: Field) -> int:
    """The index after the conversion of a field: ``{x!r}``, ``{x = !r}``."""
    bang = item.expression[1] if item.debug is None else item.debug
    return bang + 1 + len(item.conversion or "")


def _first_marks(text: str, start: int) -> list[int]:
    """The first three characters from ``start`` that are no line end (an opening piece has them)."""
    found: list[int] = []
    index = start
    while len(found) < 3:
        if text[index] not in "\r\n":
            found.append(index)
        index += 1
    return found
