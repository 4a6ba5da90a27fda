"""SARIF 2.1.0, as GitHub code scanning accepts it."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from faultline import __version__
from faultline.analyzers.core.findings import Finding, Severity
from faultline.analyzers.core.parse_error import ParseErrorNotice
from faultline.analyzers.core.rule import Rule
from faultline.app.links import RuleLinks
from faultline.app.render import Rendering

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# SARIF levels: a notice is a "note"; warning and error keep their names.
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTICE: "note"}
# GitHub ranks code scanning alerts by this property (0.0-10.0).
_SECURITY_SEVERITY = {Severity.ERROR: "7.0", Severity.WARNING: "4.0", Severity.NOTICE: "1.0"}


def _rule_descriptor(rule: type[Rule], links: RuleLinks) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": rule.slug,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.section("What it does") or rule.summary},
        "helpUri": links.url(rule.code, rule.slug),
        "help": {"text": rule.rationale(), "markdown": rule.rationale()},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {
            "tags": ["reliability"],
            "precision": "high",
            "problem.severity": _LEVEL[rule.severity].replace("note", "recommendation"),
        },
    }


def _fix(finding: Finding) -> list[dict[str, Any]]:
    suggestion = finding.suggestion
    if suggestion is None:
        return []
    return [
        {
            "description": {"text": suggestion.title or f"Apply the {finding.slug} suggestion"},
            "artifactChanges": [
                {
                    "artifactLocation": {"uri": _uri(finding.path), "uriBaseId": "%SRCROOT%"},
                    "replacements": [
                        {
                            # Whole lines: from the start of the first to the start of the one after the last.
                            "deletedRegion": {
                                "startLine": suggestion.start_line,
                                "startColumn": 1,
                                "endLine": suggestion.end_line + 1,
                                "endColumn": 1,
                            },
                            "insertedContent": {"text": suggestion.replacement + "\n"},
                        }
                    ],
                }
            ],
        }
    ]


def _result(finding: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "ruleIndex": rule_index[finding.code],
        "level": _LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(finding.path), "uriBaseId": "%SRCROOT%"},
                    "region": {
                        "startLine": finding.line,
                        "startColumn": finding.column,
                        "endLine": finding.end_line,
                    },
                }
            }
        ],
        "partialFingerprints": {"faultline/v1": finding.fingerprint},
    }
    fixes = _fix(finding)
    if fixes:
        result["fixes"] = fixes
    return result


def render(rendering: Rendering) -> str:
    # FL000 last: the engine reports it beside the rules (analyzers/core/parse_error.py).
    rules = [*rendering.rules, ParseErrorNotice]
    descriptors = [_rule_descriptor(rule, rendering.links) for rule in rules]
    rule_index = {descriptor["id"]: index for index, descriptor in enumerate(descriptors)}
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "Faultline",
                        "semanticVersion": __version__,
                        "informationUri": rendering.links.index(),
                        "rules": descriptors,
                    }
                },
                "originalUriBaseIds": {
                    "%SRCROOT%": {"uri": "file:///"}
                    if rendering.root is None
                    else {"uri": rendering.root.resolve().as_uri() + "/"}
                },
                "results": [_result(finding, rule_index) for finding in rendering.report.findings],
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def _uri(path: str) -> str:
    # A path that is not UTF-8 (held with surrogate escapes) is percent-encoded as its own bytes.
    return quote(path, errors="surrogateescape")
