"""Inline review comments: where each goes in the diff and what it says.

A comment body reads: severity, rule code and slug (linked to the rule's page),
the specific message, why it matters in one or two sentences, a ```suggestion
block when the rule has a fix that fits the diff, a line inviting a 👎 when the finding
is wrong (``NOT_USEFUL``), and a hidden marker with the finding's identity on the pull
request (``app/github/identities.py``), which is how the next run recognises its own
comments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

from faultline.analyzers.core.changes import ChangeSet, FileChange
from faultline.analyzers.core.findings import Finding, Suggestion
from faultline.analyzers.core.parse_error import PARSE_ERROR_CODE
from faultline.analyzers.core.rule import Rule
from faultline.analyzers.languages import fence_for
from faultline.app.links import REPOSITORY_LINKS, RuleLinks
from faultline.app.render import count_phrase, rule_url

MARKER = "<!-- faultline:fp=v2:{fingerprint} -->"
# Version 1 wrote the engine's fingerprint bare; its comments are still read.
MARKER_V1 = "<!-- faultline:fp={fingerprint} -->"
_MARKER = re.compile(r"<!-- faultline:fp=(?:v2:)?([0-9A-Za-z.]+) -->")
_RULE = re.compile(r"\[(FL[0-9]+) [a-z0-9-]+\]\(")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`\"(*_])")
WHY_HEADING = "Why is this risky?"

REVIEW_BODY = "**Faultline** found {phrase} in `{sha}` and comments on {new} of them below.{rest}"
REVIEW_REST = " Every finding is in the [Faultline check]({url})."
# Why a finding is not commented inline (the check run's summary says it).
NOT_IN_DIFF = "its lines are not in the diff"
OVER_LIMIT = "over the limit of {limit} inline comments"
REJECTED = "GitHub refused the comment"
PARSE_ERROR = "parse errors are reported here only"
# The last visible line of every comment: a 👎 is how a reviewer says a finding is wrong, and
# the App counts those (only the counts, never text) to find the rules that are noise.
NOT_USEFUL = "<sub>Wrong or not useful? React with 👎: Faultline counts these to find noisy rules.</sub>"
SUGGESTION_OUTSIDE_DIFF = "Suggested replacement for lines {first}-{last} (not all of them are in the diff):"


@dataclass(frozen=True)
class Placement:
    """Where a finding's comment goes: new-side lines ``start_line``..``line``,
    and whether its ```suggestion block fits there."""

    finding: Finding
    line: int
    start_line: int
    with_suggestion: bool


def fingerprint_in(body: str | None) -> str | None:
    """The identity in a comment's hidden marker (either version), or None when it has none."""
    match = _MARKER.search(body or "")
    return match.group(1) if match else None


def rule_in(body: str | None) -> str:
    """The code of the rule a comment's link names, or ""."""
    match = _RULE.search(body or "")
    return match.group(1) if match else ""


def place(finding: Finding, change: FileChange | None) -> Placement | None:
    """Where GitHub will accept a comment on ``finding``, None when nowhere.

    A suggestion replaces whole lines, so the comment must span exactly its
    lines; GitHub takes a comment only on lines inside a diff hunk, every line
    of a multi-line one included. Parse errors are not commented inline: the
    check run reports them.
    """
    if change is None or finding.code == PARSE_ERROR_CODE:
        return None
    suggestion = finding.suggestion
    if suggestion is not None and _in_hunks(change, suggestion.start_line, suggestion.end_line):
        return Placement(finding, suggestion.end_line, suggestion.start_line, with_suggestion=True)
    if _in_hunks(change, finding.line, finding.end_line):
        return Placement(finding, finding.end_line, finding.line, with_suggestion=False)
    if change.in_hunk(finding.line):
        return Placement(finding, finding.line, finding.line, with_suggestion=False)
    return None


def _in_hunks(change: FileChange, first: int, last: int) -> bool:
    return first <= last and all(change.in_hunk(line) for line in range(first, last + 1))


def why(rule: type[Rule] | None) -> str:
    """Why the rule matters, in at most two sentences from its documentation."""
    if rule is None:
        return ""
    section = rule.section(WHY_HEADING)
    paragraph = " ".join(section.split("\n\n", 1)[0].split())
    sentences = _SENTENCE_END.split(paragraph)
    return " ".join(sentences[:2])


def comment_body(placement: Placement, rule: type[Rule] | None, links: RuleLinks = REPOSITORY_LINKS) -> str:
    finding = placement.finding
    parts = [f"**{str(finding.severity).capitalize()}** {rule_link(finding, links)}: {finding.message}"]
    reason = why(rule)
    if reason:
        parts.append(reason)
    if finding.suggestion is not None:
        parts.append(_suggestion(finding.suggestion, placement.with_suggestion, finding.path))
    parts.append(NOT_USEFUL)
    parts.append(MARKER.format(fingerprint=finding.fingerprint))
    return "\n\n".join(parts)


def rule_link(finding: Finding, links: RuleLinks = REPOSITORY_LINKS) -> str:
    return f"[{finding.code} {finding.slug}]({rule_url(finding, links)})"


def _suggestion(suggestion: Suggestion, inline: bool, path: str) -> str:
    text = suggestion.replacement.removesuffix("\n")
    fence = _fence(text)
    title = f"{suggestion.title}:\n" if suggestion.title else ""
    if inline:
        return f"{title}{fence}suggestion\n{text}\n{fence}"
    note = SUGGESTION_OUTSIDE_DIFF.format(first=suggestion.start_line, last=suggestion.end_line)
    return f"{title}{note}\n{fence}{fence_for(path)}\n{text}\n{fence}"


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks inside ``text``."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


if TYPE_CHECKING:
    from githubkit_schemas.latest.types import (
        ReposOwnerRepoPullsPullNumberReviewsPostBodyPropCommentsItemsType,
    )

    ReviewComment: TypeAlias = ReposOwnerRepoPullsPullNumberReviewsPostBodyPropCommentsItemsType
else:
    ReviewComment = dict  # a type only: the CLI's summary imports this module without the App's extra


def comment_payload(
    placement: Placement, rules: Mapping[str, type[Rule]], links: RuleLinks = REPOSITORY_LINKS
) -> ReviewComment:
    """One entry of a review's ``comments``: ``start_line`` only for several lines."""
    payload: ReviewComment = {
        "path": placement.finding.path,
        "line": placement.line,
        "side": "RIGHT",
        "body": comment_body(placement, rules.get(placement.finding.code), links),
    }
    if placement.start_line != placement.line:
        payload["start_line"] = placement.start_line
        payload["start_side"] = "RIGHT"
    return payload


def review_body(findings: list[Finding], new: int, sha: str, check_url: str | None) -> str:
    """The review's own text: how many findings, how many commented below, where the rest are."""
    rest = REVIEW_REST.format(url=check_url) if check_url else ""
    phrase = count_phrase(findings).replace(" found (", " (")
    return REVIEW_BODY.format(new=new, phrase=phrase, sha=sha[:7], rest=rest)


@dataclass
class CommentPlan:
    """New comments to post, and why the other findings are not inline."""

    placements: list[Placement] = field(default_factory=list)
    not_inline: dict[str, str] = field(default_factory=dict)


def by_priority(findings: Sequence[Finding]) -> list[Finding]:
    """Highest severity first, then in file order: who gets the limited inline slots."""
    return sorted(findings, key=lambda f: (-f.severity, f.sort_key))


def plan_comments(
    findings: Sequence[Finding],
    changes: ChangeSet,
    commented: frozenset[str],
    limit: int,
    held: Mapping[str, str] | None = None,
) -> CommentPlan:
    """Place every finding not commented yet, at most ``limit`` inline comments in
    all (those from earlier runs count: a push must not add another 25). ``held``:
    the findings the comment policy keeps out of the review, with the reason."""
    plan = CommentPlan()
    budget = limit - sum(1 for f in findings if f.fingerprint in commented)
    for finding in by_priority(findings):
        if finding.fingerprint in commented:
            continue
        if held and finding.fingerprint in held and finding.code != PARSE_ERROR_CODE:
            plan.not_inline[finding.fingerprint] = held[finding.fingerprint]
            continue
        placement = place(finding, changes.get(finding.path))
        if placement is None:
            reason = PARSE_ERROR if finding.code == PARSE_ERROR_CODE else NOT_IN_DIFF
            plan.not_inline[finding.fingerprint] = reason
        elif budget <= 0:
            plan.not_inline[finding.fingerprint] = OVER_LIMIT.format(limit=limit)
        else:
            plan.placements.append(placement)
            budget -= 1
    return plan


def still_placed(
    placements: Sequence[Placement], changes: ChangeSet
) -> tuple[list[Placement], list[Placement]]:
    """Split comments into those the current diff still places the same way and
    those it does not. A file listed without a patch proves nothing: kept."""
    kept: list[Placement] = []
    gone: list[Placement] = []
    for placement in placements:
        change = changes.get(placement.finding.path)
        unknown = change is not None and not change.hunks
        fits = change is not None and place(placement.finding, change) == placement
        (kept if unknown or fits else gone).append(placement)
    return kept, gone
