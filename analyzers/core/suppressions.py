"""``faultline: ignore[...]`` comments, in the comment syntax of the file's language.

``ignore[broad-except]`` (or the code, ``FL001``; several keys with commas) names rules;
a bare ``ignore`` (not followed by a bracket) silences every rule on that line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from faultline.analyzers.core.findings import Hit
from faultline.analyzers.core.rule import Rule
from faultline.analyzers.core.source import SourceFile

DEFAULT_COMMENT_PREFIXES = ("#",)


@cache
def _pattern(prefixes: tuple[str, ...]) -> re.Pattern[str]:
    starts = "|".join(re.escape(prefix) for prefix in prefixes)
    return re.compile(rf"(?:{starts})\s*faultline:\s*ignore(?:\s*\[([^\]]*)\]|(?!\s*\[))", re.IGNORECASE)


@dataclass(frozen=True)
class SuppressionKey:
    """One name or code inside ``faultline: ignore[...]``, where it is written."""

    line: int
    column: int  # 0-based, in characters
    key: str  # as written, without spaces around it


def suppression_keys(source: SourceFile) -> Iterator[SuppressionKey]:
    """Every key of every ``faultline: ignore[...]`` comment of the file, in order."""
    language = source.language
    pattern = _pattern(language.comment_prefixes if language else DEFAULT_COMMENT_PREFIXES)
    for number, text in enumerate(source.lines, start=1):
        if "faultline" not in text.lower():
            continue
        for match in pattern.finditer(text):
            if match.group(1) is None:
                continue
            start = match.start(1)
            for part in match.group(1).split(","):
                key = part.strip()
                if key:
                    yield SuppressionKey(number, start + part.index(key), key)
                start += len(part) + 1


def suppressed(source: SourceFile, hit: Hit, rule: Rule) -> bool:
    """``# faultline: ignore[FL001]`` (or the slug, or bare) on the flagged
    line, the statement's first line, or the line above either."""
    language = source.language
    pattern = _pattern(language.comment_prefixes if language else DEFAULT_COMMENT_PREFIXES)
    lines = {hit.line, hit.line - 1, hit.span[0], hit.span[0] - 1}
    for number in lines:
        text = source.line(number)
        if "faultline" not in text.lower():
            continue
        for match in pattern.finditer(text):
            keys = match.group(1)
            if keys is None:
                return True
            names = {key.strip().lower() for key in keys.split(",")}
            if rule.code.lower() in names or rule.slug in names:
                return True
    return False
