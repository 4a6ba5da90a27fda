"""The ``Faultline`` check run: conclusion, title, Markdown summary, annotations.

Every finding of the report becomes one annotation; the summary has a table
per rule, the findings that are not commented inline (with the reason), what
was skipped and why. The title, the table, the annotations and the inline
comments all count the same findings.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeAlias
from urllib.parse import quote

from faultline.analyzers.core.config import CONFIG_PATH
from faultline.analyzers.core.engine import Report
from faultline.analyzers.core.findings import Finding, Severity
from faultline.analyzers.core.parse_error import PARSE_ERROR_CODE
from faultline.analyzers.core.plan import Skipped
from faultline.analyzers.core.rule import Rule
from faultline.app.links import REPOSITORY_LINKS, RuleLinks
from faultline.app.render import count_phrase, plural, rule_url
from faultline.app.render.comment import by_priority, rule_link

if TYPE_CHECKING:
    from githubkit_schemas.latest.types import (
        ReposOwnerRepoCheckRunsCheckRunIdPatchBodyPropOutputPropAnnotationsItemsType,
    )

    Annotation: TypeAlias = ReposOwnerRepoCheckRunsCheckRunIdPatchBodyPropOutputPropAnnotationsItemsType
else:
    # The CLI writes the summary (`faultline check --summary`) without the App's extra installed:
    # the name is a type only.
    Annotation = dict

CHECK_NAME = "Faultline"
Conclusion = Literal["success", "failure", "neutral", "cancelled", "skipped"]
# Check annotations know notice, warning and failure: an error is a "failure".
LEVEL: Mapping[Severity, Literal["notice", "warning", "failure"]] = {
    Severity.ERROR: "failure",
    Severity.WARNING: "warning",
    Severity.NOTICE: "notice",
}
# GitHub's limits for one create/update request.
ANNOTATIONS_PER_REQUEST = 50
MAX_SUMMARY = 65_535
MAX_TITLE = 255

IN_PROGRESS_TITLE = "Checking the changes"
IN_PROGRESS_SUMMARY = "Faultline is checking the changes of `{sha}`."
CHECKED = "Faultline checked {files} in `{sha}`."
CHECKED_FILES = "Faultline checked {files}."
INLINE_ALL = " Each finding is commented inline on the pull request."
INLINE_SOME = " {inline} of {total} are commented inline on the pull request; the others are listed below."
INLINE_NONE = " None is commented inline; they are listed below."
FAIL_ON = "This check fails on a finding of severity **{level}** or above (`fail_on` in `{path}`)."
FAIL_NEVER = "This check does not fail on findings (`fail_on: never` in `{path}`)."
FAIL_ON_FROM = "This check fails on a finding of severity **{level}** or above ({source})."
FAIL_NEVER_FROM = "This check does not fail on findings ({source})."
FINDINGS_HEADING = "### Findings"
TABLE_HEAD = "| Rule | Errors | Warnings | Notices |\n| --- | ---: | ---: | ---: |"
NOT_INLINE_HEADING = "### Not commented inline"
SKIPPED_HEADING = "### Skipped"
RULE_ERRORS_HEADING = "### Rules that failed"
RULE_ERRORS_NOTE = "These rules crashed on a file and were skipped for it; the other rules ran."
CUT_NOTE = (
    "\n\n*The summary was cut to fit GitHub's limit of 65,535 characters; "
    "every finding is in the annotations.*"
)

CONFIG_NOTES_HEADING = "### Config files not read"
CONFIG_ERROR_TITLE = f"Invalid {CONFIG_PATH}"
CONFIG_ERROR_SUMMARY = (
    "Faultline could not use `{path}` from the default branch `{branch}`, so nothing was checked:\n\n"
    "```\n{message}\n```\n\nFix the file on `{branch}`, then push or comment `/recheck`."
)
NO_RULES_TITLE = "All rules are disabled"
NO_RULES_SUMMARY = f"`{CONFIG_PATH}` on the default branch disables every rule, so nothing was checked."
NO_FILES_TITLE = "No files to check"
NO_FILES_SUMMARY = "None of the files changed in `{sha}` is one that an enabled rule looks at."
SUPERSEDED_TITLE = "Superseded by a newer commit"
SUPERSEDED_SUMMARY = (
    "Superseded by `{new}`. The pull request's head moved to `{new}` while `{old}` was waiting "
    "or being checked; "
    "Faultline checks the newer commit instead and published nothing for this one."
)
INTERRUPTED_TITLE = "Interrupted"
INTERRUPTED_SUMMARY = "This run of Faultline was cut short (the server stopped); a newer run replaces it."
FAILED_TITLE = "Faultline itself failed"
FAILED_SUMMARY = (
    "Faultline failed while checking `{sha}`: `{error}`. This is not a finding in your code. "
    "Comment `/recheck` on the pull request to try again."
)
RETRY_SUMMARY = (
    "GitHub asked Faultline to wait before more requests ({error}). The check will run again "
    "in about {minutes} and replace this one."
)


@dataclass(frozen=True)
class CheckOutput:
    """What the check run shows: ``annotations`` are sent in batches of 50."""

    conclusion: Conclusion
    title: str
    summary: str
    annotations: tuple[Annotation, ...] = ()

    def batches(self) -> Iterator[list[Annotation]]:
        for start in range(0, len(self.annotations), ANNOTATIONS_PER_REQUEST):
            yield list(self.annotations[start : start + ANNOTATIONS_PER_REQUEST])


@dataclass(frozen=True)
class Outcome:
    """A finished analysis and where each finding ended up: commented inline
    (now or by an earlier run), or listed in the summary with the reason."""

    report: Report
    sha: str
    fail_level: Severity | None
    rules: Mapping[str, type[Rule]]
    inline: frozenset[str] = frozenset()
    not_inline: Mapping[str, str] = field(default_factory=dict)
    skipped: Sequence[Skipped] = ()
    blob_url: str = ""  # https://github.com/{owner}/{repo}/blob/{sha}: links to the lines
    config_notes: Sequence[str] = ()  # config files found on the default branch and not read
    # Where the fail level was set, when not by `fail_on` in the config file (the CLI's --fail-on).
    fail_source: str | None = None
    # False where nothing is commented inline (a workflow's job summary): every finding is listed.
    comments: bool = True
    links: RuleLinks = REPOSITORY_LINKS  # where the rule pages are: the App's own (run.py)


def conclusion(report: Report, fail_level: Severity | None) -> Conclusion:
    if report.failing(fail_level):
        return "failure"
    if report.files_checked == 0 and not report.findings:
        return "neutral"
    return "success"


def render(outcome: Outcome) -> CheckOutput:
    findings = outcome.report.findings
    return CheckOutput(
        conclusion=conclusion(outcome.report, outcome.fail_level),
        title=count_phrase(findings)[:MAX_TITLE],
        summary=fit(summary(outcome)),
        # A file that could not be parsed is named in the summary, not annotated: an annotation
        # shows in the diff on a line the pull request may not have touched.
        annotations=tuple(
            annotation(finding, outcome.links) for finding in findings if finding.code != PARSE_ERROR_CODE
        ),
    )


def summary(outcome: Outcome) -> str:
    report = outcome.report
    files = plural(report.files_checked, "file")
    intro = (
        CHECKED.format(files=files, sha=outcome.sha[:7]) if outcome.sha else CHECKED_FILES.format(files=files)
    )
    listed = [f for f in report.findings if f.fingerprint not in outcome.inline]
    if outcome.comments:
        intro += _inline_split(len(report.findings), len(report.findings) - len(listed))
    sections = [intro, _fail_on(outcome.fail_level, outcome.fail_source)]
    if report.findings:
        sections.append(rule_table(report.findings, outcome.links))
    if listed and outcome.comments:
        sections.append(not_inline_section(listed, outcome.not_inline, outcome.blob_url))
    elif listed:
        sections.append(findings_section(listed, outcome.blob_url))
    skipped = [*outcome.skipped, *report.skipped]
    if skipped:
        sections.append(skipped_section(skipped))
    if report.rule_errors:
        errors = (f"- {error}" for error in report.rule_errors)
        sections.append("\n".join([RULE_ERRORS_HEADING, "", RULE_ERRORS_NOTE, "", *errors]))
    if outcome.config_notes:
        sections.append(
            "\n".join([CONFIG_NOTES_HEADING, "", *(f"- {note}" for note in outcome.config_notes)])
        )
    return "\n\n".join(sections)


def _inline_split(total: int, inline: int) -> str:
    if not total:
        return ""
    if inline == total:
        return INLINE_ALL
    if inline == 0:
        return INLINE_NONE
    return INLINE_SOME.format(inline=inline, total=total)


def _fail_on(level: Severity | None, source: str | None) -> str:
    if source is not None:
        return (
            FAIL_NEVER_FROM.format(source=source)
            if level is None
            else FAIL_ON_FROM.format(level=level, source=source)
        )
    if level is None:
        return FAIL_NEVER.format(path=CONFIG_PATH)
    return FAIL_ON.format(level=level, path=CONFIG_PATH)


def rule_table(findings: Sequence[Finding], links: RuleLinks = REPOSITORY_LINKS) -> str:
    """One row per rule: how many findings of each severity, and a link to its page."""
    counts: dict[str, Counter[Severity]] = {}
    cells: dict[str, str] = {}
    for finding in findings:
        counts.setdefault(finding.code, Counter())[finding.severity] += 1
        cells[finding.code] = rule_link(finding, links)
    rows = [
        f"| {cells[code]} | {c[Severity.ERROR]} | {c[Severity.WARNING]} | {c[Severity.NOTICE]} |"
        for code, c in sorted(counts.items())
    ]
    return "\n".join([TABLE_HEAD, *rows])


def not_inline_section(listed: Sequence[Finding], reasons: Mapping[str, str], blob_url: str) -> str:
    """The findings without an inline comment, grouped by the reason, errors first.
    The rules are linked in the table above; each line links to the flagged line."""
    groups: dict[str, list[Finding]] = {}
    for finding in by_priority(listed):
        groups.setdefault(reasons.get(finding.fingerprint, ""), []).append(finding)
    parts = [NOT_INLINE_HEADING]
    for reason, findings in groups.items():
        heading = f"{reason[:1].upper()}{reason[1:]} ({len(findings)}):" if reason else f"({len(findings)}):"
        parts.append("\n".join([heading, "", *(_listed(f, blob_url) for f in findings)]))
    return "\n\n".join(parts)


def findings_section(findings: Sequence[Finding], blob_url: str) -> str:
    """Every finding, errors first, each linked to its line (the rules are linked in the table)."""
    return "\n".join([FINDINGS_HEADING, "", *(_listed(f, blob_url) for f in by_priority(findings))])


def skipped_section(skipped: Sequence[Skipped]) -> str:
    return "\n".join([SKIPPED_HEADING, "", *(f"- {code_path(s.path)}: {s.reason}" for s in skipped)])


def code_path(path: str) -> str:
    """A path as a Markdown code span on one line: control characters (a newline, a tab,
    DEL) written as escapes, and a fence longer than any run of backticks inside."""
    shown = "".join(_escaped(char) for char in path)
    fence = "`" * (max((len(run) for run in re.findall("`+", shown)), default=0) + 1)
    pad = " " if shown.startswith("`") or shown.endswith("`") else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


def _escaped(char: str) -> str:
    if char.isprintable() or char == " ":
        return char
    return char.encode("unicode_escape").decode("ascii")


def _listed(finding: Finding, blob_url: str) -> str:
    where = f"{code_path(finding.path)} line {finding.line}"
    if blob_url:
        where = f"[{where}]({blob_url}/{quote(finding.path)}#L{finding.line})"
    message = " ".join(finding.message.split())
    return f"- **{finding.severity}** {finding.code} {finding.slug}, {where}: {message}"


def fit(text: str, limit: int = MAX_SUMMARY) -> str:
    """``text`` cut at a line boundary below ``limit`` characters, with a note."""
    if len(text) <= limit:
        return text
    room = limit - len(CUT_NOTE)
    cut = text.rfind("\n", 0, room)
    return text[: cut if cut > 0 else room] + CUT_NOTE


def annotation(finding: Finding, links: RuleLinks = REPOSITORY_LINKS) -> Annotation:
    message = f"{finding.message}\n\n{rule_url(finding, links)}"
    return {
        "path": finding.path,
        "start_line": finding.line,
        "end_line": max(finding.line, finding.end_line),
        "annotation_level": LEVEL[finding.severity],
        "message": message,
        "title": f"{finding.code} {finding.slug}"[:MAX_TITLE],
    }


def in_progress(sha: str) -> tuple[str, str]:
    return IN_PROGRESS_TITLE, IN_PROGRESS_SUMMARY.format(sha=sha[:7])


def config_error(message: str, branch: str) -> CheckOutput:
    summary_text = CONFIG_ERROR_SUMMARY.format(path=CONFIG_PATH, branch=branch, message=message)
    return CheckOutput("failure", CONFIG_ERROR_TITLE, fit(summary_text))


def no_rules() -> CheckOutput:
    return CheckOutput("neutral", NO_RULES_TITLE, NO_RULES_SUMMARY)


def no_files(sha: str, skipped: Sequence[Skipped] = ()) -> CheckOutput:
    text = NO_FILES_SUMMARY.format(sha=sha[:7])
    if skipped:
        text += "\n\n" + skipped_section(skipped)
    return CheckOutput("neutral", NO_FILES_TITLE, fit(text))


def superseded(old: str, new: str) -> CheckOutput:
    return CheckOutput("cancelled", SUPERSEDED_TITLE, SUPERSEDED_SUMMARY.format(old=old[:7], new=new[:7]))


def interrupted() -> CheckOutput:
    return CheckOutput("cancelled", INTERRUPTED_TITLE, INTERRUPTED_SUMMARY)


def failed(sha: str, error: BaseException | str, retry_after: float | None = None) -> CheckOutput:
    """``error`` is an exception or what to say about it."""
    described = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    described = described[:500].replace("`", "'")
    if retry_after is not None:
        minutes = plural(max(1, round(retry_after / 60)), "minute")
        return CheckOutput("failure", FAILED_TITLE, RETRY_SUMMARY.format(error=described, minutes=minutes))
    return CheckOutput("failure", FAILED_TITLE, FAILED_SUMMARY.format(sha=sha[:7], error=described))
