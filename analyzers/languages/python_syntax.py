"""Python source of any version from 3.8 to 3.14 as this interpreter's ``ast.Module``.

``ast.parse`` reads the text first; only when it fails is the text lowered
(``python_lowering``: PEP 695 type parameters and ``type`` statements, PEP 701 f-strings,
PEP 750 t-strings, PEP 758 ``except A, B:``) and parsed again. The tree then gets back what
the lowering took away from the grammar, with the lines and columns of the text as written:

- a ``type X = ...`` statement is an ``Assign`` to ``X`` (this ``ast`` has no ``TypeAlias``);
- type parameters are dropped (this ``ast`` has no ``type_params``);
- a t-string is a ``JoinedStr``, as an f-string would be (this ``ast`` has no ``TemplateStr``);
- ``except A, B:`` has the ``Tuple`` of 3.14, which spans ``A, B``.
"""

from __future__ import annotations

import ast
import re
import warnings
from bisect import bisect_left
from collections.abc import Iterator
from typing import TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from faultline.analyzers.languages.python_lowering import Lowered, Position
    from faultline.analyzers.languages.python_scan import Field, Part, Text

_MARK = "_"
_CONVERSIONS = {"r": ord("r"), "s": ord("s"), "a": ord("a")}
_LINE_END = re.compile(r"\r\n|\r")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_NOT_SHOWN = re.compile(r"#[^\r\n]*|\\(?:\r\n|\r|\n)")


def parse_module(text: str, filename: str = "<unknown>") -> ast.Module:
    """The module ``text`` holds.

    Raises ``SyntaxError`` for text that no Python from 3.8 to 3.14 reads, with the line
    of the error as written, and what ``ast.parse`` raises besides (``ValueError`` for a
    null byte, ``RecursionError``, ``MemoryError``).
    """
    try:
        return _parsed(text, filename)
    except SyntaxError as error:
        first = error
    # Imported here: start-up, which every run pays, needs only the fast path.
    from faultline.analyzers.languages.python_lowering import lower

    lowered = lower(text)
    if not lowered.changed:
        raise first
    try:
        tree = _parsed(lowered.text, filename)
        return _Restore(lowered).module(tree)
    except SyntaxError as error:
        # The lines are those of the text: show the line as written, not as lowered.
        error.filename = filename
        lines = _LINE_BREAK.split(text)  # as ``ast`` counts lines: not at form feeds
        if error.lineno and 0 < error.lineno <= len(lines):
            error.text = lines[error.lineno - 1]
        raise


def _parsed(text: str, filename: str) -> ast.Module:
    """``ast.parse`` without its warnings. It warns about valid code (an invalid escape
    such as ``"\\d"``, ``x is 1``): a checker has no use for them on stderr, and where
    warnings are errors (``PYTHONWARNINGS=error``) they would make the file a SyntaxError."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(text, filename=filename, type_comments=False)


class _Restore:
    """Moves the tree of the lowered text back onto the text as written."""

    def __init__(self, lowered: Lowered) -> None:
        self.lowered = lowered
        self.source = lowered.source
        self.lines = lowered.lines()

    def module(self, tree: ast.Module) -> ast.Module:
        self._children(tree)
        return tree

    def _visit(self, node: ast.AST) -> ast.AST:
        first = getattr(node, "lineno", None)
        if first is not None:
            last = getattr(node, "end_lineno", None) or first
            for decorator in getattr(node, "decorator_list", ()):
                first = min(first, decorator.lineno)
            found = bisect_left(self.lines, first)
            if found == len(self.lines) or self.lines[found] > last:
                return node  # nothing to restore in it
            self._move(node)
            at = (node.lineno, node.col_offset)  # type: ignore[attr-defined]
            if isinstance(node, ast.Call) and at in self.lowered.strings:
                return self._joined(node, *self.lowered.strings[at])
            if isinstance(node, ast.Assign) and at in self.lowered.aliases:
                _place(node.targets[0], self.lowered.aliases[at])
        self._children(node)
        return node

    def _children(self, node: ast.AST) -> None:
        for name, value in ast.iter_fields(node):
            if isinstance(value, list):
                for index, item in enumerate(value):
                    if isinstance(item, ast.AST):
                        value[index] = self._visit(item)
            elif isinstance(value, ast.AST):
                setattr(node, name, self._visit(value))

    def _move(self, node: ast.AST) -> None:
        """Columns of the lowered text back to those of the text, where brackets were inserted."""
        inserted = self.lowered.inserted
        line, end_line = node.lineno, node.end_lineno  # type: ignore[attr-defined]
        if line in inserted:
            node.col_offset = _back(inserted[line], node.col_offset)  # type: ignore[attr-defined]
        end = getattr(node, "end_col_offset", None)
        if end_line in inserted and end is not None:
            node.end_col_offset = _back(inserted[end_line], end)  # type: ignore[attr-defined]

    # --- f-strings and t-strings -------------------------------------------

    def _joined(self, call: ast.Call, group: list[Part], start: Position, end: Position) -> ast.expr:
        """The ``JoinedStr`` that ``(_(e1)(e2))`` stands for, at the span of the literals."""
        levels: list[ast.Call] = []
        node: ast.expr = call
        while isinstance(node, ast.Call):
            levels.append(node)
            node = node.func
        from faultline.analyzers.languages.python_scan import fields

        items = [item for part in group for item in fields(part.pieces)]
        if not (isinstance(node, ast.Name) and node.id == _MARK and len(levels) == len(items)):
            raise _error("cannot read this f-string", start)
        levels.reverse()
        values = iter([self._expression(level, item) for level, item in zip(levels, items, strict=True)])
        out: list[str | ast.expr] = []
        for part in group:
            if part.formatted:
                self._pieces(part.pieces, part.raw, values, out, (start, end))
            else:
                out.append(_plain(self.source[part.start : part.end], start))
        return _place(ast.JoinedStr(values=_merge(out, (start, end))), (start, end))

    def _expression(self, level: ast.Call, item: Field) -> ast.expr:
        args = [cast(ast.expr, self._visit(arg)) for arg in level.args]
        if level.keywords or not args:
            raise _error("f-string: invalid expression", _start(level))
        if item.is_tuple or len(args) > 1:
            last = args[-1]
            span = (_start(args[0]), (last.end_lineno or last.lineno, last.end_col_offset or 0))
            return _place(ast.Tuple(elts=args, ctx=ast.Load()), span)
        if isinstance(args[0], ast.Starred):
            raise _error("f-string: cannot use starred expression here", _start(args[0]))
        return args[0]

    def _pieces(
        self,
        pieces: list[Text | Field],
        raw: bool,
        values: Iterator[ast.expr],
        out: list[str | ast.expr],
        span: tuple[Position, Position],
    ) -> None:
        """The text and ``FormattedValue`` nodes of an f-string, its expressions taken from ``values``."""
        for piece in pieces:
            if isinstance(piece, tuple):
                out.append(_decode(self.source[piece[0] : piece[1]], raw, span[0]))
                continue
            value = next(values)
            if piece.debug is not None:
                out.append(self._debug_text(piece))
            spec = None
            if piece.spec is not None:
                inner: list[str | ast.expr] = []
                self._pieces(piece.spec, raw, values, inner, span)
                spec = _place(ast.JoinedStr(values=_merge(inner, span)), span)
            if piece.conversion is not None and piece.conversion not in _CONVERSIONS:
                raise _error("f-string: invalid conversion character", span[0])
            conversion = _CONVERSIONS.get(piece.conversion or "", -1)
            if piece.debug is not None and piece.conversion is None and piece.spec is None:
                conversion = _CONVERSIONS["r"]  # ``{x=}`` shows the repr
            formatted = ast.FormattedValue(value=value, conversion=conversion, format_spec=spec)
            out.append(_place(formatted, span))

    def _debug_text(self, piece: Field) -> str:
        """What ``{x=}`` shows: the text from the expression to the spaces after the ``=``,
        less its comments and the backslashes that continue lines (as 3.12 shows it)."""
        assert piece.debug is not None
        strings = [(part.start, part.end) for group in piece.groups for part in group]
        out, pos = [], piece.expression[0]
        for start, end in [*strings, (piece.debug, piece.debug)]:
            out.append(_NOT_SHOWN.sub("", self.source[pos:start]))
            out.append(self.source[start:end])  # a ``#`` in a string is no comment
            pos = end
        return "".join(out)


def _merge(out: list[str | ast.expr], span: tuple[Position, Position]) -> list[ast.expr]:
    """Adjacent text as one ``Constant`` at the literal's span (as 3.11 places it), empty text dropped."""
    merged: list[ast.expr] = []
    text: list[str] = []
    for item in [*out, None]:
        if isinstance(item, str):
            text.append(item)
            continue
        if "".join(text):
            merged.append(_place(ast.Constant(value="".join(text)), span))
        text = []
        if item is not None:
            merged.append(item)
    return merged


def _decode(text: str, raw: bool, at: Position) -> str:
    """The value of f-string text as written: ``{{`` for ``{``, escapes unless raw."""
    text = _LINE_END.sub("\n", text.replace("{{", "{").replace("}}", "}"))
    if raw or "\\" not in text:
        return text
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an unknown escape such as ``\d`` stays as written
            return text.encode("latin-1", "backslashreplace").decode("unicode_escape")
    except UnicodeDecodeError as error:
        raise _error(f"f-string: {error.reason}", at) from None


def _plain(literal: str, at: Position) -> str:
    """The value of a plain string concatenated with an f-string."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an unknown escape such as ``\\d`` stays as written
            value = ast.literal_eval(literal)
    except (SyntaxError, ValueError):
        raise _error("cannot read this string", at) from None
    if not isinstance(value, str):
        raise _error("cannot mix bytes and nonbytes literals", at)
    return value


def _back(inserted: list[tuple[int, int]], column: int) -> int:
    """The column of the text for a column of a lowered line with ``inserted`` characters."""
    shift = 0
    for start, length in inserted:
        if column < start:
            break
        if column < start + length:
            return start - shift  # an inserted bracket stands where the text it brackets begins
        shift += length
    return column - shift


def _error(message: str, at: Position) -> SyntaxError:
    return SyntaxError(message, ("<unknown>", at[0], at[1] + 1, None))


def _start(node: ast.expr) -> Position:
    return node.lineno, node.col_offset


_Node = TypeVar("_Node", bound=ast.AST)


def _place(node: _Node, span: tuple[Position, Position]) -> _Node:
    (node.lineno, node.col_offset), (node.end_lineno, node.end_col_offset) = span  # type: ignore[attr-defined]
    return node
