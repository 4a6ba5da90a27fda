"""A queued delivery, start to finish: which pull request and head it is about, whether it
may run, and one run at a time per pull request.

The webhook receiver turns a delivery into an AnalysisRequest, enqueues it durably and
answers 202; a worker then calls ``run_job`` with it:

1. find the pull request (by number, or by head SHA for check events from forks);
   a closed one is left alone; for ``/recheck`` the commenter must have write
   access or be the author, and the comment gets reactions;
2. one run per pull request at a time (a lease in the queue's store); once it holds the
   lease the job reads the head again, and a job for a SHA that is no longer the head
   publishes nothing: its check run is completed as superseded (so is one the queue knows
   a newer delivery for, without waiting for the lease);
3. create the ``Faultline`` check run (in progress; or take back the one an
   interrupted attempt of the same delivery left, cancelling other stale ones)
   and hand it to a ``Run`` (``app/review/run.py``).

An error time cures leaves the check run in progress and is raised for the queue to retry
(``TransientGitHubError`` carries how long to wait); any other error completes it as
failed. When the queue gives a run up it calls ``give_up``, which completes the check run:
a head never ends without one, none is left in progress.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
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
from faultline.app.work.crash import crash_point
from faultline.app.work.leases import LOCAL, Leases, pull_key
from faultline.app.work.policy import is_transient
from faultline.app.work.request import AnalysisRequest, RunOutcome

log = logging.getLogger(__name__)

Reaction = Literal["eyes", "rocket", "confused"]
# Permission levels (and role names) that may ask for a /recheck.
WRITE_PERMISSIONS = frozenset({"admin", "maintain", "write"})
OPEN_PULLS_PER_PAGE = 100


def run_job(
    settings: Settings,
    request: AnalysisRequest,
    leases: Leases | None = None,
    *,
    rules: Sequence[type[Rule]] | None = None,
) -> RunOutcome:
    """Run one analysis to the end (blocking: called from a worker thread).

    ``leases`` keeps one run per pull request at a time (the queue's, in its store; by
    default locks of this process). ``rules`` replaces the discovered rules (tests).
    """
    return asyncio.run(Job(settings, request, rules, leases or LOCAL).run())


def give_up(settings: Settings, request: AnalysisRequest, err: BaseException) -> None:
    """The queue gave this run up: complete its check run as failed, or make one, so that
    the head does not wait for a check that never comes."""
    asyncio.run(Job(settings, request, None, LOCAL).give_up(err))


class Job:
    def __init__(
        self,
        settings: Settings,
        request: AnalysisRequest,
        rules: Sequence[type[Rule]] | None,
        leases: Leases,
    ) -> None:
        self.settings = settings
        self.request = request
        self.rules = tuple(rules) if rules is not None else None
        self.leases = leases
        self.owner = request.owner
        self.repo = request.repo

    @asynccontextmanager
    async def connected(self) -> AsyncIterator[None]:
        request = self.request
        async with InstallationClient(self.settings, request.installation_id) as client:
            self.client = client
            identity = await app_identity(self.settings, client)
            self.checks = CheckRuns(client, self.owner, self.repo, identity.app_id)
            self.reviews = Reviews(client, self.owner, self.repo, identity, self.settings.rule_links)
            self.threads = ReviewThreads(client, self.owner, self.repo, identity)
            yield

    async def run(self) -> RunOutcome:
        request = self.request
        async with self.connected():
            newer = request.superseded_by
            if newer is not None and request.head_sha is not None:
                # The ledger holds a delivery for a newer head: no need to wait for the lease.
                output = check_run.superseded(request.head_sha, newer)
                await self.checks.close(request.head_sha, request.delivery_id, output)
                return RunOutcome("superseded", output.title, request.head_sha)
            pull = await self.find_pull()
            if pull is None or pull.state != "open":
                log.info("delivery %s: no open pull request to check", request.delivery_id)
                await self.react("confused")
                return RunOutcome("skipped", "no open pull request")
            if request.comment_id is not None and not await self.may_recheck(pull):
                log.info("delivery %s: %s may not /recheck", request.delivery_id, request.comment_author)
                await self.react("confused")
                return RunOutcome("skipped", "not allowed to /recheck")
            await self.react("eyes")
            try:
                outcome = await self.locked(pull)
            except Exception:
                await self.react("confused")
                raise
            await self.react("rocket")
            return outcome

    async def locked(self, pull: PullRequest) -> RunOutcome:
        key = pull_key(self.request.installation_id, self.owner, self.repo, pull.number)
        holder = await asyncio.to_thread(self.leases.acquire, key)
        try:
            # The head may have moved while this run waited: check the newest one.
            return await self.check(await self.get_pull(pull.number))
        finally:
            await asyncio.to_thread(self.leases.release, key, holder)

    async def give_up(self, err: BaseException) -> None:
        async with self.connected():
            sha = self.request.head_sha
            if sha is None:
                pull = await self.find_pull()
                if pull is None:
                    return
                sha = pull.head.sha
            await self.checks.close(sha, self.request.delivery_id, check_run.failed(sha, describe(err)))

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

    async def check(self, pull: PullRequest) -> RunOutcome:
        sha = pull.head.sha
        asked = self.request.head_sha
        if asked is not None and asked != sha:
            log.info("delivery %s: %s is no longer the head (%s)", self.request.delivery_id, asked, sha)
            output = check_run.superseded(asked, sha)
            await self.checks.close(asked, self.request.delivery_id, output)
            return RunOutcome("superseded", output.title, asked)
        check = await self.checks.open_check(sha, self.request.delivery_id)
        crash_point("check_created")
        run = Run(self, pull, check)
        try:
            await run.analyse_and_publish()
        except Exception as err:
            if is_transient(err):
                # Left in progress: the queue tries again (the next attempt takes this check
                # run back by its external id) or, past the outage deadline, completes it.
                raise
            log.exception("delivery %s: the run failed", self.request.delivery_id)
            await run.give_up(check_run.failed(sha, describe(err)))
            raise
        return RunOutcome(run.conclusion or "success", run.title, sha)
