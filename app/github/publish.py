"""Publishing a run on a pull request: the check run, one review, and the
lifecycle of the review threads Faultline opened on earlier pushes.

Each inline comment carries a hidden marker with its finding's identity on the
pull request (``app/github/identities.py``). A later run reads the pull
request's comments and threads: a finding that already has a comment gets no
new one (even when its line moved), and the thread of a finding that is gone is
resolved. Comments are never deleted, so a human reply under a fixed finding
stays readable.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from githubkit.exception import RequestError
from githubkit_schemas.latest.models import CheckRun, PullRequestReview
from githubkit_schemas.latest.types import ReposOwnerRepoCheckRunsCheckRunIdPatchBodyPropOutputType

from faultline.analyzers.core.changes import ChangeSet
from faultline.analyzers.core.findings import Finding
from faultline.analyzers.core.rule import Rule
from faultline.app.github.client import InstallationClient, status_of
from faultline.app.github.comments import read_bot_comments
from faultline.app.github.identities import BotComment
from faultline.app.github.threads import (
    RESOLVE_MUTATION,
    THREADS_PER_PAGE,
    THREADS_QUERY,
    UNRESOLVE_MUTATION,
    BotThread,
    Identity,
    Thread,
    threads_page,
)
from faultline.app.render import check_run
from faultline.app.render.check_run import CHECK_NAME, Annotation, CheckOutput
from faultline.app.render.comment import (
    Placement,
    ReviewComment,
    comment_payload,
    fingerprint_in,
    review_body,
    still_placed,
)

log = logging.getLogger(__name__)

COMMENTS_PER_PAGE = 100
CHECKS_PER_PAGE = 100
# After a 422 the comments are tried in halves (pending reviews); this caps the requests spent
# on that. Halving n comments down to each one alone takes 2n - 2 tries: 48 for the default 25.
MAX_REVIEW_ATTEMPTS = 48

# Reads the pull request's diff as GitHub has it now.
DiffReader = Callable[[], Awaitable[ChangeSet]]

# -- talking to GitHub ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckRunRef:
    id: int
    html_url: str | None


@dataclass
class ReviewResult:
    posted: list[Placement] = field(default_factory=list)
    refused: list[Placement] = field(default_factory=list)
    reviews: int = 0


class Publisher:
    """Writes one run's results to one repository (and pull request)."""

    def __init__(self, client: InstallationClient, owner: str, repo: str, identity: Identity) -> None:
        self.client = client
        self.owner = owner
        self.repo = repo
        self.identity = identity

    # check runs

    async def open_check(self, sha: str, external_id: str) -> CheckRunRef:
        """The check run for this delivery: the one an interrupted attempt of it left
        in progress, or a new one. Those other runs left in progress are cancelled."""
        reused: CheckRunRef | None = None
        for run in await self._checks_in_progress(sha):
            ref = CheckRunRef(run.id, run.html_url)
            if reused is None and run.external_id == external_id:
                reused = ref
            else:
                await self.finish_check(ref, check_run.interrupted())
        return reused or await self.start_check(sha, external_id)

    async def _checks_in_progress(self, sha: str) -> list[CheckRun]:
        app_id = self.identity.app_id
        if app_id is None:
            return []
        response = await self.client.call(
            lambda gh: gh.rest.checks.async_list_for_ref(
                self.owner,
                self.repo,
                sha,
                check_name=CHECK_NAME,
                status="in_progress",
                filter_="all",
                app_id=app_id,
                per_page=CHECKS_PER_PAGE,
            )
        )
        return response.parsed_data.check_runs

    async def start_check(self, sha: str, external_id: str) -> CheckRunRef:
        title, summary = check_run.in_progress(sha)
        response = await self.client.call(
            lambda gh: gh.rest.checks.async_create(
                self.owner,
                self.repo,
                name=CHECK_NAME,
                head_sha=sha,
                status="in_progress",
                started_at=_now(),
                external_id=external_id,
                output={"title": title, "summary": summary},
            )
        )
        run = response.parsed_data
        return CheckRunRef(run.id, run.html_url)

    async def finish_check(self, check: CheckRunRef, output: CheckOutput) -> None:
        """Complete the run; annotations go 50 a request, and GitHub appends those
        of later updates to the ones already there."""
        batches = list(output.batches()) or [[]]
        first: ReposOwnerRepoCheckRunsCheckRunIdPatchBodyPropOutputType = {
            "title": output.title,
            "summary": output.summary,
        }
        if batches[0]:
            first["annotations"] = batches[0]
        await self.client.call(
            lambda gh: gh.rest.checks.async_update(
                self.owner,
                self.repo,
                check.id,
                status="completed",
                conclusion=output.conclusion,
                completed_at=_now(),
                output=first,
            )
        )
        for batch in batches[1:]:
            await self._add_annotations(check, output, batch)

    async def _add_annotations(
        self, check: CheckRunRef, output: CheckOutput, batch: list[Annotation]
    ) -> None:
        more: ReposOwnerRepoCheckRunsCheckRunIdPatchBodyPropOutputType = {
            "title": output.title,
            "summary": output.summary,
            "annotations": batch,
        }
        await self.client.call(
            lambda gh: gh.rest.checks.async_update(self.owner, self.repo, check.id, output=more)
        )

    async def completed_check(self, sha: str, external_id: str, output: CheckOutput) -> CheckRunRef:
        """A check run created already completed (nothing was analysed)."""
        moment = _now()
        response = await self.client.call(
            lambda gh: gh.rest.checks.async_create(
                self.owner,
                self.repo,
                name=CHECK_NAME,
                head_sha=sha,
                status="completed",
                conclusion=output.conclusion,
                started_at=moment,
                completed_at=moment,
                external_id=external_id,
                output={"title": output.title, "summary": output.summary},
            )
        )
        run = response.parsed_data
        return CheckRunRef(run.id, run.html_url)

    # what is there already

    async def bot_comments(self, number: int) -> list[BotComment]:
        """Every Faultline comment on the pull request, resolved or not."""
        return await read_bot_comments(self.client, self.owner, self.repo, number, self.identity)

    async def commented_fingerprints(self, number: int) -> frozenset[str]:
        """The identities in the markers of those comments."""
        return frozenset(comment.identity for comment in await self.bot_comments(number))

    async def bot_threads(self, number: int) -> list[BotThread]:
        threads: list[BotThread] = []
        after: str | None = None
        while True:
            variables: dict[str, object] = {
                "owner": self.owner,
                "name": self.repo,
                "number": number,
                "first": THREADS_PER_PAGE,
                "after": after,
            }
            data = await self.client.graphql(THREADS_QUERY, variables)
            page = threads_page(data)
            threads.extend(self._bot_thread(node) for node in page.nodes if node is not None)
            if not page.pageInfo.hasNextPage or not page.pageInfo.endCursor:
                break
            after = page.pageInfo.endCursor
        return [thread for thread in threads if thread.fingerprint]

    def _bot_thread(self, node: Thread) -> BotThread:
        first = node.comments.nodes[0] if node.comments.nodes else None
        fingerprint = ""
        if first is not None:
            author = first.author
            if author is None or self.identity.ours(author.login, author.typename):
                fingerprint = fingerprint_in(first.body) or ""
        return BotThread(node.id, fingerprint, node.path, node.isResolved, self._resolved_by_us(node))

    def _resolved_by_us(self, node: Thread) -> bool:
        # resolvedBy is a User: GitHub gives null when an App resolved the thread.
        if not node.isResolved:
            return False
        return node.resolvedBy is None or self.identity.ours(node.resolvedBy.login, None)

    async def resolve(self, thread: BotThread) -> None:
        await self.client.graphql(RESOLVE_MUTATION, {"thread": thread.id})

    async def reopen(self, thread: BotThread) -> None:
        await self.client.graphql(UNRESOLVE_MUTATION, {"thread": thread.id})

    # the review

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
        comments = [comment_payload(p, rules) for p in batch]
        if await self._review(number, sha, comments, body(len(batch))) is None:
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
            if await self._probe(number, sha, [comment_payload(p, rules) for p in part]):
                accepted.extend(part)
            else:
                todo[:0] = _halves(part, result)
        return accepted

    async def _probe(self, number: int, sha: str, comments: list[ReviewComment]) -> bool:
        """True when GitHub accepts ``comments`` in a (pending, then deleted) review."""
        review_id = await self._review(number, sha, comments)
        if review_id is None:
            return False
        await self._delete_review(number, review_id)
        return True

    async def _delete_pending(self, number: int) -> None:
        """Delete a pending review a run cut short left behind (only its author sees it)."""
        reviews: list[PullRequestReview] = await self.client.collect(
            lambda gh: gh.rest.paginate(
                gh.rest.pulls.async_list_reviews,
                owner=self.owner,
                repo=self.repo,
                pull_number=number,
                per_page=COMMENTS_PER_PAGE,
            )
        )
        for review in reviews:
            user = review.user
            if review.state == "PENDING" and user is not None and self.identity.ours(user.login, user.type):
                await self._delete_review(number, review.id)

    async def _delete_review(self, number: int, review_id: int) -> None:
        await self.client.call(
            lambda gh: gh.rest.pulls.async_delete_pending_review(self.owner, self.repo, number, review_id)
        )

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


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def first_review_body(findings: Sequence[Finding], new: int, sha: str, check: CheckRunRef) -> str:
    return review_body(list(findings), new, sha, check.html_url)
