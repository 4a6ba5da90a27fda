"""How GitHub keeps a review comment on its line as the pull request's head moves.

A push that leaves every line a comment spans unchanged moves the comment with
its lines (lines added or removed above renumber it); a push that changes or
removes one of them makes the comment outdated (REST and GraphQL give ``line:
null``). The simulator keeps it outdated when a later push puts the line back,
as a comment's position is carried from push to push; the App must not depend
on either answer there, and its tests cover a fix reverted both ways. Comments on
the old side (LEFT) and on whole files are left where they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .gitdata import unchanged_lines
from .records import ReviewComment


def follow_push(
    comments: Iterable[ReviewComment], before: Mapping[str, bytes], after: Mapping[str, bytes]
) -> None:
    """Move every comment of a pull request from the old head's files to the new head's."""
    for comment in comments:
        follow(comment, before.get(comment.path), after.get(comment.path))


def follow(comment: ReviewComment, old: bytes | None, new: bytes | None) -> None:
    """Move ``comment`` from the file as it was (``old``) to the file at the new head."""
    if comment.outdated or comment.side != "RIGHT" or comment.head_line is None or old == new:
        return
    if old is None or new is None:
        comment.outdated = True
        return
    moved = unchanged_lines(old, new)
    first = comment.head_start_line or comment.head_line
    if any(line not in moved for line in range(first, comment.head_line + 1)):
        comment.outdated = True
        return
    comment.head_line = moved[comment.head_line]
    if comment.head_start_line is not None:
        comment.head_start_line = moved[comment.head_start_line]
