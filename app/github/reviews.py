"""The review of one run: Faultline's comments already on the pull request, and one new
review with the comments that fit, found by halving when GitHub refuses some (422).

Each inline comment carries a hidden marker with its finding's identity on the pull request
(``app/github/identities.py``): a later run reads them, so a finding that already has a
comment gets no new one, even when its line moved. Comments are never deleted. The same
markers make posting safe to try again: when GitHub's answer to the review is lost, the
review counts as posted if its comments are on the pull request.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from githubkit.exception import RequestError
from githubkit_schemas.latest.models import PullRequestReview

from faultline.analyzers.core.changes import ChangeSet
from faultline.analyzers.core.findings import Finding
from faultline.analyzers.core.rule import Rule
from faultline.app.github.checks import CheckRunRef
from faultline.app.github.client import InstallationClient, status_of
from faultline.app.github.comments import read_bot_comments
from faultline.app.github.identities import BotComment
from faultline.app.github.threads import Identity
from faultline.app.links import REPOSITORY_LINKS, RuleLinks
from faultline.app.render.comment import Placement, ReviewComment, comment_payload, review_body, still_placed

log = logging.getLogger(__name__)

COMMENTS_PER_PAGE = 100
# After a 422 the comments are tried in halves (pending reviews); this caps the requests spent
# on that. Halving n comments down to each one alone takes 2n - 2 tries: 48 for the default 25.
MAX_REVIEW_ATTEMPTS = 48

# Reads the pull request's diff as GitHub has it now.
DiffReader = Callable[[], Awaitable[ChangeSet]]


@dataclass
class ReviewResult:
    posted: list[Placement] = field(default_factory=list)
    refused: list[Placement] = field(default_factory=list)
    reviews: int = 0


class Reviews:
    """Faultline's reviews on one repository's pull requests."""

    def __init__(
        self,
        client: InstallationClient,
        owner: str,
        repo: str,
        identity: Identity,
        links: RuleLinks = REPOSITORY_LINKS,
    ) -> None:
        self.client = client
        self.owner = owner
        self.repo = repo
        self.identity = identity
        self.links = links  # where the comments link each rule to

    async def bot_comments(self, number: int) -> list[BotComment]:
        """Every Faultline comment on the pull request, resolved or not."""
        return await read_bot_comments(self.client, self.owner, self.repo, number, self.identity)

    async def commented_fingerprints(self, number: int) -> frozenset[str]:
        """The identities in the markers of those comments."""
        return frozenset(comment.identity for comment in await self.bot_comments(number))

    async def post_review(
        self,
        number: int,
        sha: str,
        placements: Sequence[Placement],
        rules: Mapping[str, type[Rule]],
        body: Callable[[int], str],
        diff_now: DiffReader | None = None,
    ) -> ReviewResult:
        """Post the comments in one review; ``body(n)`` is its text for n comments.

        A review is all or nothing: GitHub refuses it whole (422) when one comment
        does not fit its diff. When the diff changed under the run (a pull request
        retargeted onto another base), reading it again (``diff_now``) shows which
        comments no longer fit: drop those and retry. If GitHub still refuses, find
        the refused comments with pending reviews (which GitHub validates and
        nobody else sees, deleted at once), then post the others in one review.
        """
        result = ReviewResult()
        batch = list(placements)
        if not batch or await self._post(number, sha, batch, rules, body, result):
            return result
        if diff_now is not None:
            batch, gone = still_placed(batch, await diff_now())
            result.refused.extend(gone)
            if not batch or (gone and await self._post(number, sha, batch, rules, body, result)):
                return result
        accepted = await self._sift(number, sha, batch, rules, result)
        if accepted and not await self._post(number, sha, accepted, rules, body, result):
            log.warning("GitHub refused a review of %d comments it had accepted", len(accepted))
            result.refused.extend(accepted)
        return result

    async def _post(
        self,
        number: int,
        sha: str,
        batch: list[Placement],
        rules: Mapping[str, type[Rule]],
        body: Callable[[int], str],
        result: ReviewResult,
    ) -> bool:
        comments = [comment_payload(p, rules, self.links) for p in batch]
        text = body(len(batch))
        posted = await self.client.create_once(
            lambda: self._posted(number, sha, comments, text), lambda: self._landed(number, batch)
        )
        if not posted:
            return False
        result.posted.extend(batch)
        result.reviews += 1
        return True

    async def _sift(
        self,
        number: int,
        sha: str,
        batch: list[Placement],
        rules: Mapping[str, type[Rule]],
        result: ReviewResult,
    ) -> list[Placement]:
        """The comments GitHub accepts, found by halving the refused batch; the
        refused ones go to ``result``. Costs at most MAX_REVIEW_ATTEMPTS requests
        (then the comments not tried yet count as refused)."""
        await self._delete_pending(number)  # GitHub allows one pending review per pull request
        accepted: list[Placement] = []
        todo = _halves(batch, result)
        attempts = 0
        while todo:
            part = todo.pop(0)
            if attempts >= MAX_REVIEW_ATTEMPTS:
                result.refused.extend(part)
                continue
            attempts += 1
            if await self._probe(number, sha, [comment_payload(p, rules, self.links) for p in part]):
                accepted.extend(part)
            else:
                todo[:0] = _halves(part, result)
        return accepted

    async def _posted(self, number: int, sha: str, comments: list[ReviewComment], body: str) -> bool:
        return await self._review(number, sha, comments, body) is not None

    async def _landed(self, number: int, batch: list[Placement]) -> bool | None:
        """True when every comment of ``batch`` is on the pull request (the lost answer was a
        success), None when not: the review is posted again."""
        commented = {comment.identity for comment in await self.bot_comments(number)}
        return True if all(p.finding.fingerprint in commented for p in batch) else None

    async def _probe(self, number: int, sha: str, comments: list[ReviewComment]) -> bool:
        """True when GitHub accepts ``comments`` in a (pending, then deleted) review. When the
        answer is lost, the pending review GitHub may have made is looked for before trying
        again: it would make every later probe fail (one pending review per pull request)."""
        review_id = await self.client.create_once(
            lambda: self._review(number, sha, comments), lambda: self._pending_review(number)
        )
        if review_id is None:
            return False
        await self._delete_review(number, review_id)
        return True

    async def _pending(self, number: int) -> list[int]:
        """The ids of Faultline's pending reviews on the pull request (only its author sees them)."""
        reviews: list[PullRequestReview] = await self.client.collect(
            lambda gh: gh.rest.paginate(
                gh.rest.pulls.async_list_reviews,
                owner=self.owner,
                repo=self.repo,
                pull_number=number,
                per_page=COMMENTS_PER_PAGE,
            )
        )
        return [
            review.id
            for review in reviews
            if review.state == "PENDING"
            and review.user is not None
            and self.identity.ours(review.user.login, review.user.type)
        ]

    async def _pending_review(self, number: int) -> int | None:
        found = await self._pending(number)
        return found[0] if found else None

    async def _delete_pending(self, number: int) -> None:
        """Delete a pending review a run cut short left behind."""
        for review_id in await self._pending(number):
            await self._delete_review(number, review_id)

    async def _delete_review(self, number: int, review_id: int) -> None:
        """Delete a pending review; one already gone counts as deleted (a DELETE whose answer
        was lost is sent again by the transport, and GitHub then answers 404)."""
        try:
            await self.client.call(
                lambda gh: gh.rest.pulls.async_delete_pending_review(self.owner, self.repo, number, review_id)
            )
        except RequestError as err:
            if status_of(err) != 404:
                raise

    async def _review(
        self, number: int, sha: str, comments: list[ReviewComment], body: str | None = None
    ) -> int | None:
        """Create a review (pending without ``body``); its id, or None when GitHub refused it (422)."""
        try:
            if body is None:
                response = await self.client.call(
                    lambda gh: gh.rest.pulls.async_create_review(
                        self.owner, self.repo, number, commit_id=sha, comments=comments
                    )
                )
            else:
                response = await self.client.call(
                    lambda gh: gh.rest.pulls.async_create_review(
                        self.owner,
                        self.repo,
                        number,
                        commit_id=sha,
                        body=body,
                        event="COMMENT",
                        comments=comments,
                    )
                )
        except RequestError as err:
            if status_of(err) == 422:
                return None
            raise
        return response.parsed_data.id


def _halves(batch: list[Placement], result: ReviewResult) -> list[list[Placement]]:
    """The two halves of a refused batch to try apart; a single comment is the culprit."""
    if len(batch) == 1:
        log.warning("GitHub refused the comment on %s line %d", batch[0].finding.path, batch[0].line)
        result.refused.extend(batch)
        return []
    middle = len(batch) // 2
    return [batch[:middle], batch[middle:]]


def first_review_body(findings: Sequence[Finding], new: int, sha: str, check: CheckRunRef) -> str:
    return review_body(list(findings), new, sha, check.html_url)
