"""GitHub Actions workflow commands, one per finding: annotations in a job log."""

from __future__ import annotations

from faultline.analyzers.core.findings import Finding, Severity
from faultline.app.links import REPOSITORY_LINKS, RuleLinks
from faultline.app.render import Rendering, rule_url

# Workflow commands know error, warning and notice: the same three words.
_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTICE: "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(finding: Finding, links: RuleLinks = REPOSITORY_LINKS) -> str:
    properties = {
        "file": finding.path,
        "line": str(finding.line),
        "endLine": str(finding.end_line),
        "col": str(finding.column),
        "title": f"{finding.code} {finding.slug}",
    }
    joined = ",".join(f"{key}={_escape_property(value)}" for key, value in properties.items())
    # The rule's page after the message, as in the App's check run annotations.
    message = f"{finding.message}\n\n{rule_url(finding, links)}"
    return f"::{_COMMAND[finding.severity]} {joined}::{_escape_data(message)}"


def render(rendering: Rendering) -> str:
    lines = [command(finding, rendering.links) for finding in rendering.report.findings]
    return "".join(f"{line}\n" for line in lines)
