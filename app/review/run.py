"""One run: the analysis of one pull request head, with its check run.

Read the config from the default branch, read the pull request (what the engine's plan
asks for), run the engine; then make sure the head has not moved, post one review with
the new comments, complete the check run, resolve the threads of findings that are gone
and reopen those Faultline resolved whose finding is back. Which findings get an inline
comment is the repository's comment policy (``app/review/policy.py``); what reviewers
did with the comments (👎, dismissed, fixed) is read from the threads and counted
(``app/review/feedback.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from githubkit.exception import GitHubException
from githubkit_schemas.latest.models import PullRequest

from faultline.analyzers.core.changes import ChangeSet
from faultline.analyzers.core.config import (
    CONFIG_PATHS,
    MISPLACED_PATHS,
    Config,
    ConfigError,
    choose_config,
    parse_config,
)
from faultline.analyzers.core.engine import Engine, Report
from faultline.analyzers.core.findings import Finding
from faultline.analyzers.core.parse_error import PARSE_ERROR_CODE
from faultline.analyzers.core.registry import all_rules
from faultline.analyzers.core.rule import Rule
from faultline.app.github.blobs import Blob, Folder, Found, TextBudget, look_up
from faultline.app.github.checks import CheckRunRef
from faultline.app.github.client import (
    DEFAULT_READ_LIMIT,
    TooLargeError,
    TransientGitHubError,
)
from faultline.app.github.identities import assign_identities, file_context
from faultline.app.github.reader import PullContents, PullReader, PullRef
from faultline.app.github.reviews import ReviewResult, first_review_body
from faultline.app.github.threads import BotThread, threads_to_reopen, threads_to_resolve
from faultline.app.observe.feedback import FeedbackStore
from faultline.app.render import check_run
from faultline.app.render.check_run import CheckOutput, Outcome
from faultline.app.render.comment import REJECTED, plan_comments
from faultline.app.review import feedback
from faultline.app.review.policy import CommentPolicy
from faultline.app.work.crash import crash_point

if TYPE_CHECKING:
    from faultline.app.review.job import Job

log = logging.getLogger(__name__)
CONFIG_LIMIT = DEFAULT_READ_LIMIT


class Run:
    """One analysis of one head commit, with its check run."""

    def __init__(self, job: Job, pull: PullRequest, check: CheckRunRef) -> None:
        self.job = job
        self.client = job.client
        self.checks, self.reviews, self.threads = job.checks, job.reviews, job.threads
        self.pull = pull
        self.sha = pull.head.sha
        self.check = check
        self.completed = False
        self.config_notes: tuple[str, ...] = ()  # config files found and not read
        self.conclusion: str | None = None
        self.title: str | None = None

    async def finish(self, output: CheckOutput) -> None:
        await self.checks.finish_check(self.check, output)
        self.completed = True
        self.conclusion, self.title = output.conclusion, output.title

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
        """The config on the default branch: a pull request cannot switch its own check off.
        ``.github/faultline.yml``, else ``.github/faultline.yaml``; the root files people put
        there by mistake are named, to say they are not read. Every spelling is asked in one
        GraphQL query; only a file GraphQL could not send whole is read over REST."""
        candidates = (*CONFIG_PATHS, *MISPLACED_PATHS)
        budget = TextBudget(per_file=CONFIG_LIMIT, left=CONFIG_LIMIT * len(candidates))
        specs = [(branch, path) for path in candidates]
        looked = await look_up(self.client, self.job.owner, self.job.repo, specs, budget)
        found: dict[str, bytes] = {}
        for (_ref, path), entry in looked.items():
            data = await self.config_bytes(branch, path, entry)
            if data is not None:
                found[path] = data
        choice = choose_config(found)
        self.config_notes = choice.notes
        return Config() if choice.path is None else parse_config(found[choice.path], source=choice.path)

    async def config_bytes(self, branch: str, path: str, entry: Found) -> bytes | None:
        if entry is None or isinstance(entry, Folder):
            return None
        if isinstance(entry, Blob) and entry.data is not None:
            return entry.data
        if isinstance(entry, Blob) and entry.size > CONFIG_LIMIT:
            raise ConfigError(f"{path} is larger than {CONFIG_LIMIT // 1024} KiB")
        try:
            return await self.client.read_file(self.job.owner, self.job.repo, path, branch, CONFIG_LIMIT)
        except TooLargeError as err:
            raise ConfigError(f"{path} is larger than {err.limit // 1024} KiB") from err

    async def diff_now(self) -> ChangeSet:
        return await PullReader(self.client, self.pull_ref()).changes()

    def pull_ref(self) -> PullRef:
        pull = self.pull
        return PullRef(
            self.job.owner, self.job.repo, pull.number, self.sha, pull.base.sha, pull.changed_files
        )

    async def publish(self, config: Config, contents: PullContents, report: Report) -> None:
        number = self.pull.number
        existing = await self.reviews.bot_comments(number)
        # From here on a finding's fingerprint is its identity on the pull request:
        # the one its earlier comment carries, or a fresh one.
        findings = assign_identities(report.findings, existing, file_context(contents.view))
        report = replace(report, findings=findings)
        commented = frozenset(comment.identity for comment in existing)
        held = CommentPolicy(config).held(report.findings)
        plan = plan_comments(report.findings, contents.changes, commented, config.max_comments, held)
        result = ReviewResult()
        if plan.placements:
            findings, sha, check = report.findings, self.sha, self.check
            result = await self.reviews.post_review(
                number,
                sha,
                plan.placements,
                self.rule_index(),
                lambda count: first_review_body(findings, count, sha, check),
                self.diff_now,
            )
        if result.posted:
            crash_point("review_posted")
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
            config_notes=self.config_notes,
            links=self.job.settings.rule_links,
        )
        await self.finish(check_run.render(outcome))
        # No comment, no thread to update or read feedback from.
        if commented or result.posted:
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
            threads = await self.threads.bot_threads(self.pull.number)
            self.record_feedback(threads, findings, unchecked, truncated)
            gone = [] if truncated else threads_to_resolve(threads, findings, unchecked)
            for thread in gone:
                crash_point("resolving_threads")
                await self.threads.resolve(thread)
            for thread in threads_to_reopen(threads, findings):
                await self.threads.reopen(thread)
        except (GitHubException, TransientGitHubError) as err:
            log.warning(
                "delivery %s: could not resolve review threads: %r", self.job.request.delivery_id, err
            )

    def record_feedback(
        self,
        threads: Sequence[BotThread],
        findings: Sequence[Finding],
        unchecked: frozenset[str],
        truncated: bool,
    ) -> None:
        states = feedback.comment_states(threads, findings, unchecked, truncated)
        store = FeedbackStore.in_dir(self.job.settings.data_dir)
        request = self.job.request
        feedback.record(
            store, request.installation_id, f"{self.job.owner}/{self.job.repo}", self.pull.number, states
        )

    def rule_index(self) -> dict[str, type[Rule]]:
        return {rule.code: rule for rule in (self.job.rules or all_rules())}


def unchecked_paths(report: Report, contents: PullContents) -> frozenset[str]:
    """Changed files this run could not judge: skipped, unparsable, or a rule crashed on them."""
    paths = {skipped.path for skipped in report.skipped}
    paths |= {finding.path for finding in report.findings if finding.code == PARSE_ERROR_CODE}
    paths |= {error.path for error in report.rule_errors}
    return frozenset(paths)
