"""The ``Faultline`` check run of one head commit: found again, created, completed.

A check run is created once per delivery, whatever GitHub loses: when the answer to the
POST is lost (a 502 GitHub sent after making it, a timeout), the check runs of the head are
listed and the one with the delivery's ``external_id`` is taken before another is made.
Its annotations are added once too: GitHub appends those of every update, so an update
whose answer was lost is not sent again before the run's count says GitHub did not make
it, and a later attempt of the delivery sends only the annotations the run lacks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from githubkit.utils import UNSET
from githubkit_schemas.latest.models import CheckAnnotation, CheckRun
from githubkit_schemas.latest.types import ReposOwnerRepoCheckRunsCheckRunIdPatchBodyPropOutputType

from faultline.app.github.client import InstallationClient
from faultline.app.github.transport import ONCE_HEADER
from faultline.app.render import check_run
from faultline.app.render.check_run import ANNOTATIONS_PER_REQUEST, CHECK_NAME, Annotation, CheckOutput

CHECKS_PER_PAGE = 100


@dataclass(frozen=True)
class CheckRunRef:
    id: int
    html_url: str | None
    annotations: int = 0  # on it already: an earlier attempt of the delivery added them


def _annotation_key(item: Mapping[str, object]) -> tuple[str, ...]:
    return tuple(str(item.get(name)) for name in ("path", "start_line", "end_line", "title", "message"))


class CheckRuns:
    """The check runs Faultline makes on one repository."""

    def __init__(self, client: InstallationClient, owner: str, repo: str, app_id: int | None) -> None:
        self.client = client
        self.owner = owner
        self.repo = repo
        self.app_id = app_id

    async def open_check(self, sha: str, external_id: str) -> CheckRunRef:
        """The check run for this delivery: the one an interrupted attempt of it left (in
        progress, or completed by an attempt killed after completing it, which this one
        completes again), or a new one. Other runs left in progress are cancelled."""
        reused: CheckRunRef | None = None
        for run in await self._checks(sha):
            ref = CheckRunRef(run.id, run.html_url)
            if reused is None and run.external_id == external_id:
                reused = CheckRunRef(run.id, run.html_url, run.output.annotations_count)
            elif run.status != "completed":
                await self.finish_check(ref, check_run.interrupted())
        return reused or await self.start_check(sha, external_id)

    async def close(self, sha: str, external_id: str, output: CheckOutput) -> None:
        """Complete this delivery's check run on ``sha`` with ``output``: the one in progress,
        or a new one when it has none. One it completed already is left as it is, so a job
        that died after completing it does not make a second."""
        mine = [run for run in await self._checks(sha) if run.external_id == external_id]
        if not mine:
            await self.completed_check(sha, external_id, output)
        for run in mine:
            if run.status != "completed":
                await self.finish_check(CheckRunRef(run.id, run.html_url), output)

    async def _checks(self, sha: str, status: Literal["in_progress"] | None = None) -> list[CheckRun]:
        app_id = self.app_id
        if app_id is None:
            return []
        response = await self.client.call(
            lambda gh: gh.rest.checks.async_list_for_ref(
                self.owner,
                self.repo,
                sha,
                check_name=CHECK_NAME,
                status=UNSET if status is None else status,
                filter_="all",
                app_id=app_id,
                per_page=CHECKS_PER_PAGE,
            )
        )
        return response.parsed_data.check_runs

    async def find_check(self, sha: str, external_id: str) -> CheckRunRef | None:
        """The check run this delivery made on ``sha``, whatever its status."""
        app_id = self.app_id
        if app_id is None:
            return None
        runs: list[CheckRun] = await self.client.collect(
            lambda gh: gh.rest.paginate(
                gh.rest.checks.async_list_for_ref,
                map_func=lambda response: response.parsed_data.check_runs,
                owner=self.owner,
                repo=self.repo,
                ref=sha,
                check_name=CHECK_NAME,
                filter_="all",
                app_id=app_id,
                per_page=CHECKS_PER_PAGE,
            )
        )
        found = next((run for run in runs if run.external_id == external_id), None)
        return None if found is None else CheckRunRef(found.id, found.html_url)

    async def start_check(self, sha: str, external_id: str) -> CheckRunRef:
        return await self.client.create_once(
            lambda: self._create_started(sha, external_id), lambda: self.find_check(sha, external_id)
        )

    async def _create_started(self, sha: str, external_id: str) -> CheckRunRef:
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
        of later updates to the ones already there (an earlier attempt's are not sent again)."""
        todo = list(output.annotations)
        count = check.annotations
        if count:
            there = await self._annotations(check.id)
            have = {_annotation_key(item) for item in there}
            todo = [item for item in todo if _annotation_key(item) not in have]
            count = len(there)
        size = ANNOTATIONS_PER_REQUEST
        batches = [todo[start : start + size] for start in range(0, len(todo), size)]
        for index, batch in enumerate(batches or [[]]):
            count += len(batch)
            await self._update(check, output, batch, complete=index == 0, expected=count)

    async def _update(
        self,
        check: CheckRunRef,
        output: CheckOutput,
        batch: list[Annotation],
        *,
        complete: bool,
        expected: int,
    ) -> None:
        """One update: the first completes the run. One that adds annotations is sent once,
        unless the run's count shows GitHub did not make it (``expected`` once it did)."""
        body: ReposOwnerRepoCheckRunsCheckRunIdPatchBodyPropOutputType = {
            "title": output.title,
            "summary": output.summary,
        }
        if batch:
            body["annotations"] = batch
        headers = {ONCE_HEADER: "1"} if batch else None

        async def send() -> bool:
            if complete:
                await self.client.call(
                    lambda gh: gh.rest.checks.async_update(
                        self.owner,
                        self.repo,
                        check.id,
                        headers=headers,
                        status="completed",
                        conclusion=output.conclusion,
                        completed_at=_now(),
                        output=body,
                    )
                )
            else:
                await self.client.call(
                    lambda gh: gh.rest.checks.async_update(
                        self.owner, self.repo, check.id, headers=headers, output=body
                    )
                )
            return True

        if not batch:
            await send()  # nothing appended: safe to send again, the transport does
            return
        await self.client.create_once(send, lambda: self._has_annotations(check.id, expected))

    async def _has_annotations(self, check_id: int, expected: int) -> bool | None:
        response = await self.client.call(
            lambda gh: gh.rest.checks.async_get(self.owner, self.repo, check_id)
        )
        return True if response.parsed_data.output.annotations_count >= expected else None

    async def _annotations(self, check_id: int) -> list[Mapping[str, object]]:
        items: list[CheckAnnotation] = await self.client.collect(
            lambda gh: gh.rest.paginate(
                gh.rest.checks.async_list_annotations,
                owner=self.owner,
                repo=self.repo,
                check_run_id=check_id,
                per_page=CHECKS_PER_PAGE,
            )
        )
        return [item.model_dump() for item in items]

    async def completed_check(self, sha: str, external_id: str, output: CheckOutput) -> CheckRunRef:
        """A check run created already completed (nothing was analysed)."""
        return await self.client.create_once(
            lambda: self._create_completed(sha, external_id, output),
            lambda: self.find_check(sha, external_id),
        )

    async def _create_completed(self, sha: str, external_id: str, output: CheckOutput) -> CheckRunRef:
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


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
