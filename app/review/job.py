"""A queued delivery, start to finish: which pull request and head it is about, whether it
may run, and one run at a time per pull request.

The webhook receiver turns a delivery into an AnalysisRequest, enqueues it durably and
answers 202; a worker then calls ``run_job`` with it:

1. find the pull request (by number, or by head SHA for check events from forks);
   a closed one is left alone; for ``/recheck`` the commenter must have write
   access or be the author, and the comment gets reactions;
2. a job for a SHA that is no longer the head publishes nothing: its check run
   is completed as cancelled;
3. create the ``Faultline`` check run (in progress; or take back the one an
   interrupted attempt of the same delivery left, cancelling other stale ones)
   and hand it to a ``Run`` (``app/review/run.py``).

Whatever fails once the check run exists, it is completed, never left in progress; the
error is raised again so the queue can decide to retry (``TransientGitHubError``
carries how long to wait).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from typing import Literal

from githubkit.exception import GitHubException, RequestError
from githubkit_schemas.latest.models import PullRequest, PullRequestSimple

from faultline.analyzers.core.rule import Rule
from faultline.app.github.app_identity import app_identity
from faultline.app.github.checks import CheckRuns
from faultline.app.github.client import (
    InstallationClient,
    TransientGitHubError,
    describe,
    status_of,
)
from faultline.app.github.reviews import Reviews
from faultline.app.github.threads import ReviewThreads
from faultline.app.render import check_run
from faultline.app.review.run import Run
from faultline.app.settings import Settings
from faultline.app.work.request import AnalysisRequest

log = logging.getLogger(__name__)

Reaction = Literal["eyes", "rocket", "confused"]
# Permission levels (and role names) that may ask for a /recheck.
WRITE_PERMISSIONS = frozenset({"admin", "maintain", "write"})
OPEN_PULLS_PER_PAGE = 100


def run_job(
    settings: Settings, request: AnalysisRequest, *, rules: Sequence[type[Rule]] | None = None
) -> None:
    """Run one analysis to the end (blocking: called from a worker thread).

    ``rules`` replaces the discovered rules (tests use it to inject their own).
    """
    asyncio.run(Job(settings, request, rules).run())


# Runs for the same pull request in this process wait for each other: two runs
# reading the existing comments at once would both post the same new ones.
_pull_locks: dict[tuple[int, str, int], threading.Lock] = {}
_pull_locks_guard = threading.Lock()


def _pull_lock(installation_id: int, full_name: str, number: int) -> threading.Lock:
    with _pull_locks_guard:
        return _pull_locks.setdefault((installation_id, full_name.lower(), number), threading.Lock())


class Job:
    def __init__(
        self, settings: Settings, request: AnalysisRequest, rules: Sequence[type[Rule]] | None
    ) -> None:
        self.settings = settings
        self.request = request
        self.rules = tuple(rules) if rules is not None else None
        self.owner = request.owner
        self.repo = request.repo

    async def run(self) -> None:
        request = self.request
        async with InstallationClient(self.settings, request.installation_id) as client:
            self.client = client
            identity = await app_identity(self.settings, client)
            self.checks = CheckRuns(client, self.owner, self.repo, identity.app_id)
            self.reviews = Reviews(client, self.owner, self.repo, identity)
            self.threads = ReviewThreads(client, self.owner, self.repo, identity)
            pull = await self.find_pull()
            if pull is None or pull.state != "open":
                log.info("delivery %s: no open pull request to check", request.delivery_id)
                await self.react("confused")
                return
            if request.comment_id is not None and not await self.may_recheck(pull):
                log.info("delivery %s: %s may not /recheck", request.delivery_id, request.comment_author)
                await self.react("confused")
                return
            await self.react("eyes")
            try:
                await self.locked(pull)
            except Exception:
                await self.react("confused")
                raise
            await self.react("rocket")

    async def locked(self, pull: PullRequest) -> None:
        lock = _pull_lock(self.request.installation_id, f"{self.owner}/{self.repo}", pull.number)
        await asyncio.to_thread(lock.acquire)
        try:
            await self.check(pull)
        finally:
            lock.release()

    # -- finding the pull request and who asked -------------------------------------------------

    async def find_pull(self) -> PullRequest | None:
        number = self.request.pull_number or await self.pull_number_for(self.request.head_sha)
        if number is None:
            return None
        return await self.get_pull(number)

    async def get_pull(self, number: int) -> PullRequest:
        response = await self.client.call(lambda gh: gh.rest.pulls.async_get(self.owner, self.repo, number))
        return response.parsed_data

    async def pull_number_for(self, sha: str | None) -> int | None:
        """The open pull request whose head is ``sha`` (check events from forks name no pull request)."""
        if sha is None:
            return None
        pulls: list[PullRequestSimple] = await self.client.collect(
            lambda gh: gh.rest.paginate(
                gh.rest.pulls.async_list,
                owner=self.owner,
                repo=self.repo,
                state="open",
                per_page=OPEN_PULLS_PER_PAGE,
            )
        )
        return next((pull.number for pull in pulls if pull.head.sha == sha), None)

    async def may_recheck(self, pull: PullRequest) -> bool:
        """The pull request's author, or anyone with write access (asked of GitHub,
        not read from the comment's author_association)."""
        login = self.request.comment_author
        if not login:
            return False
        if login.lower() == pull.user.login.lower():
            return True
        try:
            response = await self.client.call(
                lambda gh: gh.rest.repos.async_get_collaborator_permission_level(self.owner, self.repo, login)
            )
        except RequestError as err:
            if status_of(err) == 404:
                return False
            raise
        level = response.parsed_data
        return level.permission in WRITE_PERMISSIONS or level.role_name in WRITE_PERMISSIONS

    async def react(self, content: Reaction) -> None:
        """React to the /recheck comment; a failed reaction must not fail the run."""
        comment_id = self.request.comment_id
        if comment_id is None:
            return
        try:
            await self.client.call(
                lambda gh: gh.rest.reactions.async_create_for_issue_comment(
                    self.owner, self.repo, comment_id, content=content
                )
            )
        except (GitHubException, TransientGitHubError) as err:
            log.warning("could not react %s to comment %d: %r", content, comment_id, err)

    # -- the run --------------------------------------------------------------------------------

    async def check(self, pull: PullRequest) -> None:
        sha = pull.head.sha
        asked = self.request.head_sha
        if asked is not None and asked != sha:
            log.info("delivery %s: %s is no longer the head (%s)", self.request.delivery_id, asked, sha)
            await self.checks.completed_check(
                asked, self.request.delivery_id, check_run.superseded(asked, sha)
            )
            return
        check = await self.checks.open_check(sha, self.request.delivery_id)
        run = Run(self, pull, check)
        try:
            await run.analyse_and_publish()
        except TransientGitHubError as err:
            await run.give_up(check_run.failed(sha, describe(err), self.retry_after(err)))
            raise
        except Exception as err:
            log.exception("delivery %s: the run failed", self.request.delivery_id)
            await run.give_up(check_run.failed(sha, describe(err)))
            raise

    def retry_after(self, err: TransientGitHubError) -> float | None:
        """When the queue will run this job again (it waits at least what GitHub asked), None if never."""
        retry_in = self.request.retry_in
        return None if retry_in is None else max(retry_in, err.retry_after)
