"""Plain text for a terminal: ``path:line:col: FL001 [broad-except] message``."""

from __future__ import annotations

import re

from faultline.analyzers.core.findings import Severity
from faultline.analyzers.core.source import split_lines
from faultline.app.render import Rendering, count_phrase, plural

_COLORS = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m", Severity.NOTICE: "\033[36m"}
_BOLD, _DIM, _RESET = "\033[1m", "\033[2m", "\033[0m"
# Control characters and line separators, written as escapes: git allows them in a name, and
# raw they would split a finding's line or drive the terminal (a file's own code too).
_UNSHOWN = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_UNSHOWN_IN_CODE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")  # a tab is code's own
SAFE_SUGGESTION = "    suggestion (safe: `faultline fix` applies it):"


def shown(text: str, unshown: re.Pattern[str] = _UNSHOWN) -> str:
    return unshown.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"), text)


def render(rendering: Rendering) -> str:
    report = rendering.report
    out: list[str] = []
    for finding in report.findings:
        where = f"{shown(finding.path)}:{finding.line}:{finding.column}:"
        tag = f"{finding.code} [{finding.slug}]"
        if rendering.color:
            where = f"{_BOLD}{where}{_RESET}"
            tag = f"{_COLORS[finding.severity]}{tag}{_RESET}"
        out.append(f"{where} {tag} {finding.message}")
        line = shown(rendering.source_line(finding).strip(), _UNSHOWN_IN_CODE)
        if line:
            out.append(f"    {_DIM if rendering.color else ''}{line}{_RESET if rendering.color else ''}")
        if finding.suggestion is not None:
            out.append(SAFE_SUGGESTION if finding.suggestion.safe else "    suggestion:")
            out.extend(f"    + {text}" for text in split_lines(finding.suggestion.replacement))
    for skipped in report.skipped:
        out.append(f"{shown(skipped.path)}: skipped ({skipped.reason})")
    out.append(f"{count_phrase(report.findings)} in {plural(report.files_checked, 'file')} checked.")
    return "\n".join(out) + "\n"
