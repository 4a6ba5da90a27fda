"""Which of Faultline's earlier comments on a pull request belongs to which finding
of this run.

The engine's fingerprint tells identical findings of a file (same rule, same
statement) apart by their order, and that order shifts when another like them
is added above. So on a pull request each finding gets an identity kept in its
comment's marker, ``<content key>.<n>``, and a run hands the identities of the
existing comments to its findings, within each group sharing a content key:

1. by position: GitHub keeps each comment on its line of the latest commit
   while that line is unchanged (inserted lines above, a renamed function), so a
   comment whose line falls on a finding of its group is that finding's;
2. by context, then order: comments GitHub marks outdated (their lines changed:
   the statement re-indented, or removed and put back) go to the findings left,
   the best pairs first by how many words of the lines above them they share
   (above the comment as its diff hunk shows them), otherwise in order;
3. the findings still left are new: each gets the first number that no comment
   of its group has used, so a new comment never takes an old thread's identity.

A comment whose line is known but falls on no finding of its group has lost its
finding (fixed, or no longer part of the change): its thread is resolved.

Comments left by version 1 carry the engine's fingerprint of the time
(``Finding.fingerprint_v1``); the finding that still has it tells their group,
or, when none has (version 1 put the function's name in FL001's fingerprint),
the finding of the same rule on the comment's line.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from faultline.analyzers.core.findings import Finding
from faultline.analyzers.core.repo import RepoView
from faultline.analyzers.core.source import split_lines

# How many lines above a comment (or a finding) tell it from another like it.
CONTEXT_LINES = 8
# Pairs compared at most in one group (about 0.4 s); beyond, as with hundreds of
# like findings, outdated comments simply go in order.
MAX_COMPARED_PAIRS = 20_000
_WORD = re.compile(r"\w+")

# The words of the lines above a finding in the new file.
Context = Callable[[Finding], tuple[str, ...]]


@dataclass(frozen=True)
class BotComment:
    """One of Faultline's review comments as GitHub lists it now."""

    id: int
    identity: str  # from its marker
    path: str
    line: int | None  # on the latest commit; None when GitHub marks the comment outdated
    start_line: int | None = None
    code: str = ""  # the rule its text names
    context: tuple[str, ...] = ()  # the words of the lines above it when it was made

    @property
    def span(self) -> tuple[int, int] | None:
        if self.line is None:
            return None
        return (self.start_line or self.line, self.line)


def identity(group: str, number: int) -> str:
    return f"{group}.{number}"


def parse_identity(text: str) -> tuple[str, int] | None:
    """(content key, number) of a version 2 identity; None for a version 1 fingerprint."""
    group, dot, number = text.rpartition(".")
    return (group, int(number)) if dot and group and number.isdigit() else None


@dataclass
class _Slot:
    """An identity and its comments (more than one only where version 1 posted twice)."""

    identity: str
    comments: list[BotComment]

    @property
    def spans(self) -> list[tuple[int, int]]:
        return [span for comment in self.comments if (span := comment.span) is not None]

    def falls_on(self, finding: Finding) -> bool:
        return any(_overlaps(span, lines) for span in self.spans for lines in _lines(finding))


def file_context(view: RepoView) -> Context:
    """The lines above each finding in the new side of ``view``, each file read once."""
    files: dict[str, list[str]] = {}

    def above(finding: Finding) -> tuple[str, ...]:
        if finding.path not in files:
            data = view.read_new(finding.path) or b""
            # Numbered as the engine numbers them: str.splitlines would also break at a form feed.
            files[finding.path] = split_lines(data.decode("utf-8", "replace"))
        lines = files[finding.path][max(0, finding.line - 1 - CONTEXT_LINES) : max(0, finding.line - 1)]
        return words(lines)

    return above


def hunk_context(diff_hunk: str, lines: int) -> tuple[str, ...]:
    """The words of the new-side lines above a comment of ``lines`` lines, from its diff
    hunk (which GitHub ends at the comment's last line)."""
    # A diff's lines end at "\n" alone, as git writes them.
    new_side = [text[1:] for text in diff_hunk.split("\n")[1:] if text[:1] in (" ", "+")]
    above = new_side[: max(0, len(new_side) - lines)]
    return words(above[-CONTEXT_LINES:])


def words(lines: Iterable[str]) -> tuple[str, ...]:
    """Names, keywords and numbers: what re-indenting or re-wrapping a line keeps."""
    return tuple(word for line in lines for word in _WORD.findall(line))


def assign_identities(
    findings: Sequence[Finding], comments: Iterable[BotComment], context: Context | None = None
) -> list[Finding]:
    """The findings with their identities on the pull request as ``fingerprint``.

    A finding without a content key (not made by the engine) keeps its fingerprint."""
    slots = _slots(comments)
    groups: dict[str, list[int]] = {}
    for index, finding in enumerate(findings):
        if finding.content_key:
            groups.setdefault(finding.content_key, []).append(index)
    slots_of: dict[str, list[_Slot]] = {}
    for slot in slots:
        group = _group(slot, findings)
        if group is not None:
            slots_of.setdefault(group, []).append(slot)
    chosen: dict[int, str] = {}
    for group, indexes in groups.items():
        members = sorted(indexes, key=lambda i: findings[i].sort_key)
        chosen.update(_match(group, members, findings, slots_of.get(group, []), context))
    return [replace(f, fingerprint=chosen[i]) if i in chosen else f for i, f in enumerate(findings)]


def _slots(comments: Iterable[BotComment]) -> list[_Slot]:
    """One slot per identity, oldest comment first."""
    slots: dict[str, _Slot] = {}
    for comment in sorted(comments, key=lambda c: c.id):
        slots.setdefault(comment.identity, _Slot(comment.identity, [])).comments.append(comment)
    return list(slots.values())


def _group(slot: _Slot, findings: Sequence[Finding]) -> str | None:
    parsed = parse_identity(slot.identity)
    if parsed is not None:
        return parsed[0]
    for finding in findings:
        if finding.content_key and finding.fingerprint_v1 == slot.identity:
            return finding.content_key
    codes = {comment.code for comment in slot.comments}
    paths = {comment.path for comment in slot.comments}
    for finding in findings:
        if finding.content_key and finding.code in codes and finding.path in paths and slot.falls_on(finding):
            return finding.content_key
    return None


def _match(
    group: str, members: list[int], findings: Sequence[Finding], slots: list[_Slot], context: Context | None
) -> dict[int, str]:
    chosen: dict[int, str] = {}
    free = list(members)
    left: list[_Slot] = []
    for slot in slots:
        taken = next((i for i in free if slot.falls_on(findings[i])), None)
        if taken is None:
            left.append(slot)
            continue
        chosen[taken] = slot.identity
        free.remove(taken)
    outdated = [slot for slot in left if not slot.spans]
    for slot, index in _pairs(outdated, list(free), findings, context):
        chosen[index] = slot.identity
        free.remove(index)
    used = {parsed[1] for slot in slots if (parsed := parse_identity(slot.identity))}
    number = 0
    for index in free:
        while number in used:
            number += 1
        chosen[index] = identity(group, number)
        number += 1
    return chosen


def _pairs(
    slots: list[_Slot], free: list[int], findings: Sequence[Finding], context: Context | None
) -> list[tuple[_Slot, int]]:
    """Outdated comments and findings paired, most alike first; equals in order."""
    if not slots or not free:
        return []
    if context is None or len(slots) * len(free) > MAX_COMPARED_PAIRS:
        return list(zip(slots, free, strict=False))
    above = [Counter(context(findings[i])) for i in free]
    before = [Counter(slot.comments[0].context) for slot in slots]
    ranked = sorted(
        (-(before[n] & above[m]).total(), n, m) for n in range(len(slots)) for m in range(len(free))
    )
    pairs: list[tuple[_Slot, int]] = []
    used_slots: set[int] = set()
    used_findings: set[int] = set()
    for _, n, m in ranked:
        if n not in used_slots and m not in used_findings:
            used_slots.add(n)
            used_findings.add(m)
            pairs.append((slots[n], free[m]))
    return pairs


def _lines(finding: Finding) -> list[tuple[int, int]]:
    """The line ranges a comment on ``finding`` may span: its own, and its suggestion's."""
    ranges = [(finding.line, max(finding.line, finding.end_line))]
    if finding.suggestion is not None:
        ranges.append((finding.suggestion.start_line, finding.suggestion.end_line))
    return ranges


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]
