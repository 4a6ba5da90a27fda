"""Renderers: text, json, sarif (validated against the official schema), github."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import jsonschema
import pytest

from faultline.analyzers.core.engine import Report
from faultline.analyzers.core.findings import Finding, Severity, Suggestion
from faultline.analyzers.core.plan import Skipped
from faultline.analyzers.core.rule import Invalid, Rule, Valid
from faultline.app.render import Rendering, count_phrase
from faultline.app.render import actions as github_output
from faultline.app.render import json as json_output
from faultline.app.render import sarif as sarif_output
from faultline.app.render import text as text_output

SCHEMA = Path(__file__).parent / "data" / "sarif-2.1.0-rtm.5.json"


class SampleRule(Rule):
    """## What it does
    Checks for samples.

    ## Why is this risky?
    Samples break things.

    ## Example
    ```python
    sample()
    ```

    ## Use instead
    ```python
    real()
    ```
    """

    code = "FL900"
    slug = "sample-rule"
    severity = Severity.WARNING
    summary = "A sample rule for renderer tests"
    VALID: ClassVar[list[Valid]] = [Valid("x = 1\n")]
    INVALID: ClassVar[list[Invalid]] = [Invalid("sample()\n", line=1)]


def _finding(line: int, severity: Severity, message: str, suggestion: Suggestion | None = None) -> Finding:
    return Finding(
        "FL900", "sample-rule", severity, "pkg/mod.py", line, line, 5, message, f"fp{line}", suggestion
    )


@pytest.fixture
def rendering(tmp_path: Path) -> Rendering:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("a = 1\nb = 2\n    except (JWTError, Exception):\n")
    report = Report(
        findings=[
            _finding(
                3,
                Severity.ERROR,
                "turns a database outage into a 401",
                Suggestion(3, 3, "    except JWTError:", "Catch only JWTError"),
            ),
            _finding(1, Severity.NOTICE, 'message with "quotes", commas: and\nnewlines %'),
        ],
        skipped=[Skipped("big.bin", "binary file")],
        files_checked=2,
    )
    return Rendering(report, (SampleRule,), root=tmp_path)


def test_count_phrase() -> None:
    assert count_phrase([]) == "No risks found"
    findings = [
        _finding(1, Severity.ERROR, "a"),
        _finding(2, Severity.WARNING, "b"),
        _finding(3, Severity.WARNING, "c"),
    ]
    assert count_phrase(findings) == "3 risks found (1 error, 2 warnings)"


def test_text(rendering: Rendering) -> None:
    out = text_output.render(rendering)
    assert "pkg/mod.py:3:5: FL900 [sample-rule] turns a database outage into a 401" in out
    assert "    except (JWTError, Exception):" in out  # the source line under it
    assert "+     except JWTError:" in out
    assert "big.bin: skipped (binary file)" in out
    assert out.rstrip().endswith("2 risks found (1 error, 1 notice) in 2 files checked.")
    assert "\033[" not in out


def test_text_keeps_each_finding_on_its_line_whatever_the_file_is_named(tmp_path: Path) -> None:
    # git allows any byte but NUL in a name: a newline must not split the line, and a
    # terminal escape in a name or in the code must not reach the terminal.
    name = "pkg/new\nline\x1b]0;title\x07.py"
    (tmp_path / "pkg").mkdir()
    (tmp_path / name).write_text('x = "\x1b[2J"\n')
    found = replace(_finding(1, Severity.WARNING, "risky"), path=name)
    report = Report(findings=[found], skipped=[Skipped("a\tb\u2028.bin", "binary file")], files_checked=1)
    lines = text_output.render(Rendering(report, (SampleRule,), root=tmp_path)).splitlines()
    assert lines[:3] == [
        "pkg/new\\nline\\x1b]0;title\\x07.py:1:5: FL900 [sample-rule] risky",
        '    x = "\\x1b[2J"',
        "a\\tb\\u2028.bin: skipped (binary file)",
    ]


def test_text_colour_only_when_asked(rendering: Rendering) -> None:
    rendering.color = True
    assert "\033[31m" in text_output.render(rendering)


def test_json_schema_is_stable(rendering: Rendering) -> None:
    document = json.loads(json_output.render(rendering))
    assert document["version"] == 1
    assert document["summary"] == {
        "files_checked": 2,
        "findings": 2,
        "error": 1,
        "warning": 0,
        "notice": 1,
        "failing": 1,
    }
    first = document["findings"][0]
    assert set(first) == {
        "code",
        "slug",
        "severity",
        "path",
        "line",
        "end_line",
        "column",
        "message",
        "fingerprint",
        "suggestion",
        "docs",
    }
    assert first["suggestion"] == {
        "start_line": 3,
        "end_line": 3,
        "replacement": "    except JWTError:",
        "safe": False,
    }
    assert document["skipped"] == [{"path": "big.bin", "reason": "binary file"}]


def test_sarif_validates_against_the_official_schema(rendering: Rendering) -> None:
    document = json.loads(sarif_output.render(rendering))
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft4Validator(schema).validate(document)
    run = document["runs"][0]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == ["FL900", "FL000"]
    result = run["results"][0]
    assert result["level"] == "error"
    assert result["partialFingerprints"] == {"faultline/v1": "fp3"}
    replacement = result["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert replacement["insertedContent"]["text"] == "    except JWTError:\n"
    assert run["results"][1]["level"] == "note"


def test_sarif_of_an_empty_report_validates() -> None:
    document = json.loads(sarif_output.render(Rendering(Report(), (SampleRule,))))
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(document)
    assert document["runs"][0]["results"] == []


def test_github_workflow_commands(rendering: Rendering) -> None:
    lines = github_output.render(rendering).splitlines()
    page = rendering.links.url("FL900", "sample-rule")
    assert lines[0] == (
        "::error file=pkg/mod.py,line=3,endLine=3,col=5,title=FL900 sample-rule::"
        f"turns a database outage into a 401%0A%0A{page}"
    )
    assert lines[1].startswith("::notice file=pkg/mod.py,line=1,")
    assert lines[1].endswith(f'::message with "quotes", commas: and%0Anewlines %25%0A%0A{page}')
