"""Renderers: one small module per output format, each a ``render(...) -> str``."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from faultline.analyzers.core.engine import Report
from faultline.analyzers.core.findings import Finding, Severity
from faultline.analyzers.core.rule import Rule
from faultline.analyzers.core.source import split_lines
from faultline.app.links import RuleLinks

# Output format -> the module in this package that renders it ("github": Actions workflow commands).
FORMATS = {"text": "text", "json": "json", "sarif": "sarif", "github": "actions"}


def rule_url(finding: Finding, links: RuleLinks) -> str:
    """The page of the rule behind ``finding``: every output links through this."""
    return links.url(finding.code, finding.slug)


@dataclass
class Rendering:
    """What a renderer needs besides the report."""

    report: Report
    rules: tuple[type[Rule], ...]
    root: Path | None = None
    color: bool = False
    fail_level: Severity | None = Severity.ERROR
    lines: dict[str, list[str]] = field(default_factory=dict)
    # The text format shows paths from the folder the command ran in, like ruff, so that they
    # open from a terminal there; the other formats keep them relative to the repository.
    cwd: Path | None = None
    quiet: bool = False  # the text format: the findings only, no summary

    def shown_path(self, path: str) -> str:
        if self.root is None or self.cwd is None:
            return path
        return Path(os.path.relpath(self.root / path, self.cwd)).as_posix()

    # The CLI's links: the repository's pages, or FAULTLINE_DOCS_URL's.
    links: RuleLinks = field(default_factory=RuleLinks.from_env)

    def source_line(self, finding: Finding) -> str:
        """The flagged line as it is on disk now, for the text format."""
        if self.root is None:
            return ""
        if finding.path not in self.lines:
            try:
                text = (self.root / finding.path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
            self.lines[finding.path] = split_lines(text)
        lines = self.lines[finding.path]
        return lines[finding.line - 1] if 0 < finding.line <= len(lines) else ""


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def count_phrase(findings: list[Finding]) -> str:
    """'2 risks found (1 error, 1 warning)' — the one wording every surface uses."""
    if not findings:
        return "No risks found"
    counts = Counter(finding.severity for finding in findings)
    parts = [plural(counts[s], str(s)) for s in sorted(counts, reverse=True)]
    return f"{plural(len(findings), 'risk')} found ({', '.join(parts)})"
