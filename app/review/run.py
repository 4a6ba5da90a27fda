"""What a queued run does, start to finish.

The webhook receiver turns a delivery into an AnalysisRequest, enqueues it
durably and answers 202; a worker then calls ``run_job`` with it:

1. find the pull request (by number, or by head SHA for check events from forks);
   a closed one is left alone; for ``/recheck`` the commenter must have write
   access or be the author, and the comment gets reactions;
2. a job for a SHA that is no longer the head publishes nothing: its check run
   is completed as cancelled;
3. create the ``Faultline`` check run (in progress; or take back the one an
   interrupted attempt of the same delivery left, cancelling other stale ones),
   read the config from the default branch, read the pull request, run the engine;
4. make sure the head has not moved, post one review with the new comments,
   complete the check run, resolve the threads of findings that are gone and
   reopen those Faultline resolved whose finding is back.

Whatever fails after step 3 began, the check run is completed, never left in
progress; the error is raised again so the queue can decide to retry
(``TransientGitHubError`` carries how long to wait).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

from githubkit.exception import GitHubException, RequestError
from githubkit_schemas.latest.models import PullRequest, PullRequestSimple

from faultline.analyzers.core.changes import ChangeSet
from faultline.analyzers.core.config import CONFIG_PATH, Config, ConfigError, parse_config
from faultline.analyzers.core.engine import PARSE_ERROR_CODE, Engine, Report
from faultline.analyzers.core.findings import Finding
from faultline.analyzers.core.registry import all_rules
from faultline.analyzers.core.rule import Rule
from faultline.app.github.client import (
    InstallationClient,
    TooLargeError,
    TransientGitHubError,
    describe,
    status_of,
)
from faultline.app.github.identities import assign_identities, file_context
from faultline.app.github.identity import app_identity
from faultline.app.github.publish import CheckRunRef, Publisher, ReviewResult, first_review_body
from faultline.app.github.reader import PullContents, PullReader, PullRef
from faultline.app.github.threads import threads_to_reopen, threads_to_resolve
from faultline.app.render import check_run
from faultline.app.render.check_run import CheckOutput, Outcome
from faultline.app.render.comment import REJECTED, plan_comments
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
            self.publisher = Publisher(client, self.owner, self.repo, identity)
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
            await self.publisher.completed_check(
                asked, self.request.delivery_id, check_run.superseded(asked, sha)
            )
            return
        check = await self.publisher.open_check(sha, self.request.delivery_id)
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


class Run:
    """One analysis of one head commit, with its check run."""

    def __init__(self, job: Job, pull: PullRequest, check: CheckRunRef) -> None:
        self.job = job
        self.client = job.client
        self.publisher = job.publisher
        self.pull = pull
        self.sha = pull.head.sha
        self.check = check
        self.completed = False

    async def finish(self, output: CheckOutput) -> None:
        await self.publisher.finish_check(self.check, output)
        self.completed = True

    async def give_up(self, output: CheckOutput) -> None:
        """Complete the check run after an error, unless it already is (best effort)."""
        if self.completed:
            return
        try:
            await self.finish(output)
        except (GitHubException, TransientGitHubError) as err:
            log.error("could not complete check run %d: %r", self.check.id, err)

    async def analyse_and_publish(self) -> None:
        branch = self.pull.base.repo.default_branch
        try:
            config = await self.read_config(branch)
            engine = Engine(config, self.job.rules)
        except ConfigError as err:
            await self.finish(check_run.config_error(str(err), branch))
            return
        if not engine.active:
            await self.finish(check_run.no_rules())
            return
        contents = await PullReader(self.client, self.pull_ref()).load(engine)
        if not contents.wanted:
            await self.finish(check_run.no_files(self.sha, contents.skipped))
            # Earlier findings in files the pull request no longer changes are gone.
            if not contents.truncated:
                await self.update_threads([], frozenset(s.path for s in contents.skipped))
            return
        report = engine.run(contents.changes, contents.view, contents.unread)
        head = (await self.job.get_pull(self.pull.number)).head.sha
        if head != self.sha:
            await self.finish(check_run.superseded(self.sha, head))
            return
        await self.publish(config, contents, report)

    async def read_config(self, branch: str) -> Config:
        """The config on the default branch: a pull request cannot switch its own check off."""
        try:
            data = await self.client.read_file(self.job.owner, self.job.repo, CONFIG_PATH, branch)
        except TooLargeError as err:
            raise ConfigError(f"{CONFIG_PATH} is larger than {err.limit // 1024} KiB") from err
        return Config() if data is None else parse_config(data)

    async def diff_now(self) -> ChangeSet:
        return await PullReader(self.client, self.pull_ref()).changes()

    def pull_ref(self) -> PullRef:
        pull = self.pull
        return PullRef(
            self.job.owner, self.job.repo, pull.number, self.sha, pull.base.sha, pull.changed_files
        )

    async def publish(self, config: Config, contents: PullContents, report: Report) -> None:
        number = self.pull.number
        existing = await self.publisher.bot_comments(number)
        # From here on a finding's fingerprint is its identity on the pull request:
        # the one its earlier comment carries, or a fresh one.
        findings = assign_identities(report.findings, existing, file_context(contents.view))
        report = replace(report, findings=findings)
        commented = frozenset(comment.identity for comment in existing)
        plan = plan_comments(report.findings, contents.changes, commented, config.max_comments)
        result = ReviewResult()
        if plan.placements:
            findings, sha, check = report.findings, self.sha, self.check
            result = await self.publisher.post_review(
                number,
                sha,
                plan.placements,
                self.rule_index(),
                lambda count: first_review_body(findings, count, sha, check),
                self.diff_now,
            )
        for placement in result.refused:
            plan.not_inline[placement.finding.fingerprint] = REJECTED
        current = {finding.fingerprint for finding in report.findings}
        posted = {placement.finding.fingerprint for placement in result.posted}
        outcome = Outcome(
            report=report,
            sha=self.sha,
            fail_level=config.fail_level(),
            rules=self.rule_index(),
            inline=frozenset((commented & current) | posted),
            not_inline=plan.not_inline,
            skipped=contents.skipped,
            blob_url=f"{self.job.settings.github_url}/{self.job.owner}/{self.job.repo}/blob/{self.sha}",
        )
        await self.finish(check_run.render(outcome))
        # No earlier comment, no thread to update.
        if commented:
            await self.update_threads(report.findings, unchecked_paths(report, contents), contents.truncated)

    async def update_threads(
        self, findings: Sequence[Finding], unchecked: frozenset[str], truncated: bool = False
    ) -> None:
        """Resolve the threads of findings that are gone, reopen those Faultline resolved
        whose finding is back. An incomplete file list proves nothing about the files
        left out of it: then nothing is resolved. The check run is complete by now: a
        failure here is logged, not raised, as retrying the whole run for it is not
        worth it; the next run does what this one could not."""
        try:
            threads = await self.publisher.bot_threads(self.pull.number)
            gone = [] if truncated else threads_to_resolve(threads, findings, unchecked)
            for thread in gone:
                await self.publisher.resolve(thread)
            for thread in threads_to_reopen(threads, findings):
                await self.publisher.reopen(thread)
        except (GitHubException, TransientGitHubError) as err:
            log.warning(
                "delivery %s: could not resolve review threads: %r", self.job.request.delivery_id, err
            )

    def rule_index(self) -> dict[str, type[Rule]]:
        return {rule.code: rule for rule in (self.job.rules or all_rules())}


def unchecked_paths(report: Report, contents: PullContents) -> frozenset[str]:
    """Changed files this run could not judge: skipped, unparsable, or a rule crashed on them."""
    paths = {skipped.path for skipped in report.skipped}
    paths |= {finding.path for finding in report.findings if finding.code == PARSE_ERROR_CODE}
    paths |= {error.path for error in report.rule_errors}
    return frozenset(paths)
