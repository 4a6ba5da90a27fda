"""SQL (migrations and schema files), read as text by the rules that scan DDL."""

from __future__ import annotations

from faultline.analyzers.languages import Language

LANGUAGE = Language(name="sql", suffixes=(".sql",), comment_prefixes=("--",), fence="sql")
