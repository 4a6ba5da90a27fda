"""Reading Faultline's review comments on a pull request, with where GitHub keeps them now."""

from __future__ import annotations

from githubkit_schemas.latest.models import PullRequestReviewComment

from faultline.app.github.client import InstallationClient
from faultline.app.github.identities import BotComment, hunk_context
from faultline.app.github.threads import Identity
from faultline.app.render.comment import fingerprint_in, rule_in

COMMENTS_PER_PAGE = 100


async def read_bot_comments(
    client: InstallationClient, owner: str, repo: str, number: int, identity: Identity
) -> list[BotComment]:
    """Every comment Faultline opened a thread with on the pull request, resolved or not."""
    comments: list[PullRequestReviewComment] = await client.collect(
        lambda gh: gh.rest.paginate(
            gh.rest.pulls.async_list_review_comments,
            owner=owner,
            repo=repo,
            pull_number=number,
            per_page=COMMENTS_PER_PAGE,
        )
    )
    found = []
    for comment in comments:
        user = comment.user
        if user is not None and not identity.ours(user.login, user.type):
            continue
        marker = fingerprint_in(comment.body)
        if marker and not isinstance(comment.in_reply_to_id, int):
            found.append(bot_comment(comment, marker))
    return found


def bot_comment(comment: PullRequestReviewComment, marker: str) -> BotComment:
    # ``line`` is on the latest commit: GitHub gives null once the comment is outdated.
    line = _number(comment.line)
    start = _number(comment.start_line)
    # ``original_*`` are on the commit it was made on, where its diff hunk ends.
    last = _number(comment.original_line)
    first = _number(comment.original_start_line) or last
    size = last - first + 1 if last is not None and first is not None else 1
    context = hunk_context(comment.diff_hunk, size)
    return BotComment(comment.id, marker, comment.path, line, start, rule_in(comment.body), context)


def _number(value: object) -> int | None:
    return value if isinstance(value, int) else None
