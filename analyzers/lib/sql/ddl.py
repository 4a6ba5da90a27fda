"""Reads SQL as text, without a parser: the ``ON DELETE CASCADE`` foreign keys
a script declares (in CREATE TABLE and ALTER TABLE) and the tables it creates.
Names come back lower-cased, without quotes or schema."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_PART = r'(?:[\w$]+|"[^"]+"|`[^`]+`|\[[^\]]+\])'
_NAME = rf"{_PART}(?:\s*\.\s*{_PART})*"
ON_DELETE_CASCADE = re.compile(r"\bON\s+DELETE\s+CASCADE\b", re.IGNORECASE)
_CREATE_TABLE = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:GLOBAL|LOCAL)\s+)?(?:(?:TEMP|TEMPORARY|UNLOGGED)\s+)?"
    rf"TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?({_NAME})",
    re.IGNORECASE,
)
_ALTER_TABLE = re.compile(rf"^\s*ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?({_NAME})", re.IGNORECASE)
_REFERENCES = re.compile(rf"\bREFERENCES\s+({_NAME})", re.IGNORECASE)
_FOREIGN_KEY = re.compile(rf"\bFOREIGN\s+KEY\s*(?:{_PART}\s*)?\(([^)]*)\)", re.IGNORECASE)
_ADD_COLUMN = re.compile(rf"^\s*ADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?({_NAME})", re.IGNORECASE)
_FIRST_NAME = re.compile(rf"\s*({_NAME})")
_SQL_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_NOT_A_COLUMN = {"constraint", "foreign", "primary", "unique", "check", "index", "key", "add"}


@dataclass(frozen=True)
class CascadingForeignKey:
    """A foreign key with ``ON DELETE CASCADE``: deleting a ``parent`` row deletes
    the ``table`` rows whose ``columns`` point to it."""

    table: str
    columns: str  # comma-separated; "?" when the SQL does not say
    parent: str
    line: int  # of the ON DELETE CASCADE
    statement: tuple[int, int]  # the lines of its statement


def cascading_foreign_keys(text: str, first_line: int) -> Iterator[CascadingForeignKey]:
    """``ON DELETE CASCADE`` foreign keys in SQL text that starts on ``first_line``."""
    text = _blank_comments(text)
    for offset, stmt in statements(text):
        for match in ON_DELETE_CASCADE.finditer(stmt):
            found = _foreign_key(stmt, match.start())
            if found is None:
                continue
            table, columns, parent = found
            lead = len(stmt) - len(stmt.lstrip())
            lines = (
                first_line + text.count("\n", 0, offset + lead),
                first_line + text.count("\n", 0, offset + len(stmt.rstrip())),
            )
            line = first_line + text.count("\n", 0, offset + match.start())
            yield CascadingForeignKey(table, columns, parent, line, lines)


def created_tables(text: str) -> set[str]:
    """The tables the SQL text creates."""
    return {
        _identifier(match.group(1))
        for _, stmt in statements(_blank_comments(text))
        if (match := _CREATE_TABLE.match(stmt))
    }


def statements(text: str) -> Iterator[tuple[int, str]]:
    """(offset, text) of each ``;``-separated statement."""
    start = 0
    for part in text.split(";"):
        yield start, part
        start += len(part) + 1


def _identifier(text: str) -> str:
    """The last part of a possibly quoted, schema-qualified name, lower-cased."""
    parts = re.findall(_PART, text)
    return parts[-1].strip('"`[]').lower() if parts else ""


def _blank_comments(text: str) -> str:
    """SQL without comments; offsets and line breaks kept."""
    return _SQL_COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)


def _foreign_key(stmt: str, at: int) -> tuple[str, str, str] | None:
    """(table, columns, parent table) of the foreign key whose ON DELETE is at ``at``."""
    create = _CREATE_TABLE.match(stmt)
    alter = None if create else _ALTER_TABLE.match(stmt)
    header = create or alter
    if header is None:
        return None  # a trigger or function body, or prose: not a foreign key we can name
    item = _item(stmt[header.end() : at], 1 if create else 0)
    references = list(_REFERENCES.finditer(item))
    if not references:
        return None
    reference = references[-1]
    foreign_key = _FOREIGN_KEY.search(item, 0, reference.start())
    if foreign_key:
        cols = ",".join(_identifier(col) for col in foreign_key.group(1).split(","))
    else:
        named = (_ADD_COLUMN if alter else _FIRST_NAME).match(item)
        cols = _identifier(named.group(1)) if named else ""
        cols = "" if cols in _NOT_A_COLUMN else cols
    return _identifier(header.group(1)), cols or "?", _identifier(reference.group(1))


def _item(body: str, level: int) -> str:
    """The last comma-separated part of ``body`` (from after the table name to the
    ON DELETE) at paren depth ``level``: a CREATE TABLE column definition (1) or
    an ALTER TABLE action (0)."""
    depth = 0
    start = 0
    for index, char in enumerate(body):
        if char == "(":
            depth += 1
            if depth == level:
                start = index + 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif char == "," and depth == level:
            start = index + 1
    return body[start:]
