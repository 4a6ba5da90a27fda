"""Publishing a run on a pull request: the check run, one review, and the
lifecycle of the review threads Faultline opened on earlier pushes.

Each inline comment carries a hidden marker with its finding's fingerprint.
A later run reads the pull request's comments and threads: a finding that
already has a comment gets no new one (even when its line moved), and the
thread of a finding that is gone is resolved. Comments are never deleted, so a
human reply under a fixed finding stays readable.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from githubkit.exception import RequestError
from githubkit_schemas.latest.models import PullRequestReviewComment
from githubkit_schemas.latest.types import ReposOwnerRepoCheckRunsCheckRunIdPatchBodyPropOutputType
from pydantic import BaseModel, Field

from analyzers.changes import ChangeSet
from analyzers.findings import Finding
from analyzers.rule import Rule
from app.github.client import InstallationClient, status_of
from app.output import check_run
from app.output.check_run import CHECK_NAME, Annotation, CheckOutput
from app.output.review import (
    Placement,
    ReviewComment,
    comment_payload,
    continued_body,
    fingerprint_in,
    review_body,
    still_placed,
)

log = logging.getLogger(__name__)

COMMENTS_PER_PAGE = 100
THREADS_PER_PAGE = 100
# After a 422 the review is retried in halves; this caps the requests spent on that.
MAX_REVIEW_ATTEMPTS = 16

# Reads the pull request's diff as GitHub has it now.
DiffReader = Callable[[], Awaitable[ChangeSet]]

THREADS_QUERY = """
query($owner: String!, $name: String!, $number: Int!, $first: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: $first, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes {
          id
          isResolved
          path
          comments(first: 1) { nodes { databaseId body author { __typename login } } }
        }
      }
    }
  }
}
"""
RESOLVE_MUTATION = """
mutation($thread: ID!) {
  resolveReviewThread(input: {threadId: $thread}) { thread { id isResolved } }
}
"""


# -- what GitHub holds already -----------------------------------------------------------------

# The answer to THREADS_QUERY; field names are GraphQL's.


class _Author(BaseModel):
    typename: str = Field(default="", alias="__typename")
    login: str = ""


class _Comment(BaseModel):
    databaseId: int | None = None
    body: str = ""
    author: _Author | None = None


class _Comments(BaseModel):
    nodes: list[_Comment | None] = []


class _Thread(BaseModel):
    id: str
    isResolved: bool
    path: str = ""
    comments: _Comments = _Comments()


class _PageInfo(BaseModel):
    hasNextPage: bool = False
    endCursor: str | None = None


class _Threads(BaseModel):
    pageInfo: _PageInfo = _PageInfo()
    nodes: list[_Thread | None] = []


@dataclass(frozen=True)
class BotThread:
    """A review thread opened by Faultline's comment on ``fingerprint``."""

    id: str
    fingerprint: str
    path: str
    resolved: bool


class Identity:
    """Which comments are Faultline's: the App's bot wrote them and they carry the marker."""

    def __init__(self, slug: str | None) -> None:
        self.slug = slug

    def ours(self, login: str | None, kind: str | None) -> bool:
        if kind not in ("Bot", None):
            return False
        if self.slug is None:
            return kind == "Bot"
        # REST says "slug[bot]", GraphQL says "slug".
        return (login or "").removesuffix("[bot]") == self.slug


def threads_to_resolve(
    threads: Sequence[BotThread], findings: Sequence[Finding], unchecked: frozenset[str]
) -> list[BotThread]:
    """Open threads whose finding is gone. A file that could not be checked this
    time (skipped, unparsable) proves nothing: its threads stay as they are."""
    current = {finding.fingerprint for finding in findings}
    return [t for t in threads if not t.resolved and t.fingerprint not in current and t.path not in unchecked]


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

    async def commented_fingerprints(self, number: int) -> frozenset[str]:
        """Fingerprints of every Faultline comment on the pull request, resolved or not."""
        comments: list[PullRequestReviewComment] = await self.client.collect(
            lambda gh: gh.rest.paginate(
                gh.rest.pulls.async_list_review_comments,
                owner=self.owner,
                repo=self.repo,
                pull_number=number,
                per_page=COMMENTS_PER_PAGE,
            )
        )
        found = set()
        for comment in comments:
            user = comment.user
            if user is not None and not self.identity.ours(user.login, user.type):
                continue
            fingerprint = fingerprint_in(comment.body)
            if fingerprint:
                found.add(fingerprint)
        return frozenset(found)

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
            page = _threads_page(data)
            threads.extend(self._bot_thread(node) for node in page.nodes if node is not None)
            if not page.pageInfo.hasNextPage or not page.pageInfo.endCursor:
                break
            after = page.pageInfo.endCursor
        return [thread for thread in threads if thread.fingerprint]

    def _bot_thread(self, node: _Thread) -> BotThread:
        first = node.comments.nodes[0] if node.comments.nodes else None
        fingerprint = ""
        if first is not None:
            author = first.author
            if author is None or self.identity.ours(author.login, author.typename):
                fingerprint = fingerprint_in(first.body) or ""
        return BotThread(node.id, fingerprint, node.path, node.isResolved)

    async def resolve(self, thread: BotThread) -> None:
        await self.client.graphql(RESOLVE_MUTATION, {"thread": thread.id})

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
        comments no longer fit: drop those and retry. If GitHub still refuses,
        retry each half separately until the refused comments are alone. Every
        other comment is posted exactly once; the reviewer may see a few reviews.
        """
        result = ReviewResult()
        pending: list[list[Placement]] = [list(placements)] if placements else []
        attempts = 0
        while pending:
            batch = pending.pop(0)
            if attempts >= MAX_REVIEW_ATTEMPTS:
                result.refused.extend(batch)
                continue
            attempts += 1
            text = body(len(batch)) if not result.posted else continued_body(sha)
            comments = [comment_payload(p, rules) for p in batch]
            if await self._review(number, sha, text, comments):
                result.posted.extend(batch)
                result.reviews += 1
            elif attempts == 1 and diff_now is not None:
                kept, gone = still_placed(batch, await diff_now())
                result.refused.extend(gone)
                pending[:0] = ([kept] if kept else []) if gone else _halves(batch, result)
            else:
                pending[:0] = _halves(batch, result)
        return result

    async def _review(self, number: int, sha: str, body: str, comments: list[ReviewComment]) -> bool:
        """True when the review was created, False when GitHub refused it (422)."""
        try:
            await self.client.call(
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
                return False
            raise
        return True


def _halves(batch: list[Placement], result: ReviewResult) -> list[list[Placement]]:
    """The two halves of a refused batch to try apart; a single comment is the culprit."""
    if len(batch) == 1:
        log.warning("GitHub refused the comment on %s line %d", batch[0].finding.path, batch[0].line)
        result.refused.extend(batch)
        return []
    middle = len(batch) // 2
    return [batch[:middle], batch[middle:]]


def _threads_page(data: Mapping[str, object]) -> _Threads:
    repository = data.get("repository")
    pull = repository.get("pullRequest") if isinstance(repository, dict) else None
    threads = pull.get("reviewThreads") if isinstance(pull, dict) else None
    return _Threads.model_validate(threads or {})


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def first_review_body(findings: Sequence[Finding], new: int, sha: str, check: CheckRunRef) -> str:
    return review_body(list(findings), new, sha, check.html_url)
