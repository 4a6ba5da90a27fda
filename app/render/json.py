"""JSON: a stable, versioned schema (documented in docs/output.md)."""

from __future__ import annotations

import json
from typing import Any

from faultline import __version__
from faultline.analyzers.core.findings import Finding, Severity
from faultline.app.links import RuleLinks
from faultline.app.render import Rendering, rule_url

SCHEMA_VERSION = 1


def finding_dict(finding: Finding, links: RuleLinks) -> dict[str, Any]:
    suggestion = finding.suggestion
    return {
        "code": finding.code,
        "slug": finding.slug,
        "severity": str(finding.severity),
        "path": finding.path,
        "line": finding.line,
        "end_line": finding.end_line,
        "column": finding.column,
        "message": finding.message,
        "fingerprint": finding.fingerprint,
        "suggestion": None
        if suggestion is None
        else {
            "start_line": suggestion.start_line,
            "end_line": suggestion.end_line,
            "replacement": suggestion.replacement,
            "safe": suggestion.safe,
        },
        "docs": rule_url(finding, links),
    }


def render(rendering: Rendering) -> str:
    report = rendering.report
    counts = report.counts()
    document = {
        "version": SCHEMA_VERSION,
        "tool": {"name": "faultline", "version": __version__},
        "summary": {
            "files_checked": report.files_checked,
            "findings": len(report.findings),
            **{str(severity): counts[severity] for severity in sorted(Severity, reverse=True)},
            "failing": len(report.failing(rendering.fail_level)),
        },
        "findings": [finding_dict(finding, rendering.links) for finding in report.findings],
        "skipped": [{"path": s.path, "reason": s.reason} for s in report.skipped],
        "rule_errors": [
            {"code": e.code, "slug": e.slug, "path": e.path, "error": e.error} for e in report.rule_errors
        ],
    }
    return json.dumps(document, indent=2) + "\n"
