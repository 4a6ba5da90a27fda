"""Configuration formats rules read as text (coverage and pytest settings): TOML and INI.
Their rules parse them with the standard library where they need a tree."""

from __future__ import annotations

from faultline.analyzers.languages import Language

TOML = Language(name="toml", suffixes=(".toml",), fence="toml")
INI = Language(
    name="ini",
    suffixes=(".cfg", ".ini"),
    filenames=(".coveragerc", ".pylintrc", ".flake8"),
    comment_prefixes=("#", ";"),
    fence="ini",
)
LANGUAGES = (TOML, INI)
