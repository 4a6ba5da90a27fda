"""GitHub's everyday faults around one call, against the simulator on loopback: rate limits
(secondary, primary, on token minting too), 502s and lost answers on creating calls, the
write window and the hourly budget. Pauses are checked on the simulator's own request
timestamps, never on how long a test took."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from faultline.app.github.checks import CheckRuns
from faultline.app.github.client import InstallationClient, TransientGitHubError
from faultline.app.observe.metrics import GITHUB_CALLS, RATE_LIMIT_REMAINING
from faultline.app.review.job import run_job
from tests.app.sim_fixtures import FULL_NAME, OWNER, REPO, World, sim_world
from tests.app.test_jobs_e2e import EVERY_FINDING_INLINE, RISK_LINES, RISKY, comment_spots, the_run
from tests.github_sim import RequestRecord

MINT = "/app/installations/*/access_tokens"
CHECK_RUNS = f"/repos/{FULL_NAME}/check-runs"
REVIEWS = f"/repos/{FULL_NAME}/pulls/1/reviews"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with sim_world(tmp_path) as made:
        made.main_sha = made.sim.commit(FULL_NAME, EVERY_FINDING_INLINE, parent=made.main_sha, branch="main")
        yield made


def with_settings(world: World, **changes: object) -> None:
    world.settings = world.settings.model_copy(update=changes)


def of_installation(world: World) -> list[RequestRecord]:
    return [r for r in world.sim.requests if r.installation == world.installation.id]


def next_after(records: list[RequestRecord], refused: RequestRecord) -> RequestRecord:
    return next(r for r in records if r.at > refused.at)


def completed(world: World, sha: str) -> None:
    run = the_run(world, sha)
    assert (run.status, run.conclusion) == ("completed", "failure")


# -- token minting ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [403, 429])
def test_a_secondary_rate_limit_while_minting_the_token_is_waited_out(world: World, status: int) -> None:
    pull = world.open_pull(RISKY)
    world.sim.rate_limit("POST", MINT, retry_after=1, status=status)
    world.run(pull)
    completed(world, pull.head_sha)
    assert comment_spots(world, pull) == RISK_LINES
    mints = world.sim.requests_matching("POST", MINT)
    assert [r.status for r in mints] == [status, 201]
    # Nothing of the installation was asked before Retry-After had passed.
    assert next_after(of_installation(world), mints[0]).at - mints[0].at >= 1


def test_a_primary_rate_limit_while_minting_the_token_waits_for_the_reset(world: World) -> None:
    pull = world.open_pull(RISKY)
    world.sim.primary_rate_limit("POST", MINT, reset_in=1)
    world.run(pull)
    completed(world, pull.head_sha)
    assert [r.status for r in world.sim.requests_matching("POST", MINT)] == [403, 201]


def test_a_long_rate_limit_while_minting_goes_back_to_the_queue(world: World) -> None:
    pull = world.open_pull(RISKY)
    world.sim.rate_limit("POST", MINT, retry_after=600)
    with pytest.raises(TransientGitHubError) as raised:
        world.run(pull)
    assert raised.value.retry_after == 600 and raised.value.rate_limit
    assert len(world.sim.requests) == 1  # GitHub said wait: nothing else was asked


def test_502s_while_minting_are_retried(world: World) -> None:
    pull = world.open_pull(RISKY)
    world.sim.fail("POST", MINT, 502, times=2)
    world.run(pull)
    completed(world, pull.head_sha)


# -- creating calls: once, whatever is lost ---------------------------------------------------


def test_three_502s_on_creating_the_check_run_leave_one_check_run(world: World) -> None:
    pull = world.open_pull(RISKY)
    world.sim.fail("POST", CHECK_RUNS, 502, times=3)
    world.run(pull)
    completed(world, pull.head_sha)  # one check run: not none, not two
    assert [r.status for r in world.sim.requests_matching("POST", CHECK_RUNS)] == [502, 502, 502, 201]


def test_three_502s_after_github_made_the_check_run_leave_one_check_run(world: World) -> None:
    pull = world.open_pull(RISKY)
    world.sim.fail_after("POST", CHECK_RUNS, 502, times=3)
    world.run(pull)
    completed(world, pull.head_sha)
    assert len(world.sim.requests_matching("POST", CHECK_RUNS)) == 1  # found again, not made again


def test_annotations_github_added_before_a_502_are_not_added_twice(world: World) -> None:
    # GitHub appends the annotations of every update: the one whose answer was a 502 is not
    # sent again once the run's count shows GitHub made it.
    pull = world.open_pull(RISKY)
    world.sim.fail_after("PATCH", f"{CHECK_RUNS}/*", 502)
    world.run(pull)
    run = the_run(world, pull.head_sha)
    assert (run.status, run.conclusion) == ("completed", "failure")
    assert sorted((a["path"], a["start_line"]) for a in run.annotations) == sorted(RISK_LINES)
    assert len(world.sim.requests_matching("PATCH", f"{CHECK_RUNS}/*")) == 1


def test_annotations_github_refused_with_a_502_are_sent_again(world: World) -> None:
    pull = world.open_pull(RISKY)
    world.sim.fail("PATCH", f"{CHECK_RUNS}/*", 502)
    world.run(pull)
    run = the_run(world, pull.head_sha)
    assert sorted((a["path"], a["start_line"]) for a in run.annotations) == sorted(RISK_LINES)
    assert [r.status for r in world.sim.requests_matching("PATCH", f"{CHECK_RUNS}/*")] == [502, 200]


def test_an_attempt_after_one_that_completed_the_check_run_adds_no_annotation(world: World) -> None:
    # A worker killed after completing the check run, before the ledger knew: the next
    # attempt of the delivery completes the same check run again, without its annotations twice.
    pull = world.open_pull(RISKY)
    request = world.request(pull)
    run_job(world.settings, request)
    run_job(world.settings, request)
    run = the_run(world, pull.head_sha)
    assert (run.status, run.conclusion) == ("completed", "failure")
    assert sorted((a["path"], a["start_line"]) for a in run.annotations) == sorted(RISK_LINES)


def test_a_check_run_made_but_never_answered_is_not_made_twice(world: World) -> None:
    with_settings(world, github_timeout_seconds=1.0)
    pull = world.open_pull(RISKY)
    world.sim.hang("POST", CHECK_RUNS, seconds=3, applied=True)
    world.run(pull)
    completed(world, pull.head_sha)
    assert len(world.sim.requests_matching("POST", CHECK_RUNS)) == 1


def test_a_review_made_but_never_answered_is_not_posted_twice(world: World) -> None:
    with_settings(world, github_timeout_seconds=1.0)
    pull = world.open_pull(RISKY)
    world.sim.hang("POST", REVIEWS, seconds=3, applied=True)
    world.run(pull)
    assert len(world.sim.reviews(pull)) == 1 and comment_spots(world, pull) == RISK_LINES
    assert len(world.sim.requests_matching("POST", REVIEWS)) == 1


def test_a_read_never_answered_is_asked_again(world: World) -> None:
    with_settings(world, github_timeout_seconds=1.0)
    pull = world.open_pull(RISKY)
    world.sim.hang("GET", f"/repos/{FULL_NAME}/pulls/1/files", seconds=3)
    world.run(pull)
    completed(world, pull.head_sha)
    assert comment_spots(world, pull) == RISK_LINES


def test_creating_calls_github_keeps_failing_go_back_to_the_queue(world: World) -> None:
    pull = world.open_pull(RISKY)
    world.sim.fail("POST", CHECK_RUNS, 502, times=-1)
    with pytest.raises(TransientGitHubError) as raised:
        world.run(pull)
    assert not raised.value.rate_limit
    assert world.sim.check_runs(FULL_NAME) == []


# -- pauses, the write window, the hourly budget ----------------------------------------------


def test_a_secondary_rate_limit_pauses_the_installation(world: World) -> None:
    pull = world.open_pull(RISKY)
    world.sim.rate_limit("GET", f"/repos/{FULL_NAME}/pulls/1/files", retry_after=2)
    world.run(pull)
    completed(world, pull.head_sha)
    refused = next(r for r in world.sim.requests if r.status == 403)
    assert next_after(of_installation(world), refused).at - refused.at >= 2


def test_the_pause_holds_every_job_of_the_installation(world: World) -> None:
    first = world.open_pull(RISKY)
    second = world.open_pull({"app/other.py": RISKY["app/auth.py"]})
    world.sim.rate_limit("GET", f"/repos/{FULL_NAME}/pulls/{first.number}/files", retry_after=3)

    async def both() -> None:
        await asyncio.gather(asyncio.to_thread(world.run, first), asyncio.to_thread(world.run, second))

    asyncio.run(both())
    refused = next(r for r in world.sim.requests if r.status == 403)
    # Requests already on their way when the 403 left may land just after it; then none for the pause.
    during = [r for r in of_installation(world) if refused.at + 0.5 < r.at < refused.at + 3]
    assert during == []
    assert len(world.sim.check_runs(FULL_NAME)) == 2


def test_creating_calls_keep_to_the_write_window(world: World) -> None:
    with_settings(world, github_write_limit=3, github_write_window_seconds=1.0)
    sha = world.open_pull(RISKY).head_sha

    async def create() -> None:
        async with InstallationClient(world.settings, world.installation.id) as client:
            checks = CheckRuns(client, OWNER, REPO, world.sim.app.id)
            await asyncio.gather(*(checks.start_check(sha, f"delivery-{n}") for n in range(7)))

    asyncio.run(create())
    posts = world.sim.requests_matching("POST", CHECK_RUNS)
    assert len(posts) == 7 and all(r.status == 201 for r in posts)
    times = sorted(r.at for r in posts)
    # Any four in a row span the window, less what the way over loopback adds to one and not
    # another on a busy machine; unthrottled, all seven arrive within a few milliseconds.
    assert all(times[n + 3] - times[n] >= 0.8 for n in range(len(times) - 3))


def test_a_nearly_spent_budget_waits_for_the_reset_instead_of_failing(world: World) -> None:
    pull = world.open_pull(RISKY)
    world.sim.budgets.use(world.installation.id, 4_960)  # 40 left, under the 50 kept back
    with pytest.raises(TransientGitHubError) as raised:
        world.run(pull)
    assert raised.value.rate_limit and 3000 < raised.value.retry_after <= 3600
    rest = [r.path for r in of_installation(world) if not r.path.startswith("/app/")]
    assert rest == [f"/repos/{FULL_NAME}/pulls/1"]  # its answer said 39 left: nothing more was asked


def test_a_spent_budget_is_not_asked_again_before_the_reset(world: World) -> None:
    with_settings(world, github_rate_limit_reserve=0)
    pull = world.open_pull(RISKY)
    world.sim.budgets.per_hour = 5
    with pytest.raises(TransientGitHubError) as raised:
        world.run(pull)
    assert raised.value.rate_limit and raised.value.retry_after > 3000
    rest = [r for r in of_installation(world) if not r.path.startswith(("/app/", "/graphql"))]
    assert len(rest) == 5 and all(r.status != 403 for r in rest)  # GraphQL has a budget of its own


def test_a_budget_spent_elsewhere_is_a_primary_rate_limit_and_pauses(world: World) -> None:
    # Another process of the App spent the budget: the first answer is GitHub's 403.
    pull = world.open_pull(RISKY)
    world.sim.budgets.use(world.installation.id, 5_000)
    with pytest.raises(TransientGitHubError) as raised:
        world.run(pull)
    assert raised.value.rate_limit and raised.value.retry_after > 3000
    rest = [r for r in of_installation(world) if not r.path.startswith("/app/")]
    assert [r.status for r in rest] == [403]


def test_calls_are_counted_by_route_template_and_the_budget_is_tracked(world: World) -> None:
    pull = world.open_pull(RISKY)
    world.run(pull)
    labels = {
        sample.labels["endpoint"]
        for metric in GITHUB_CALLS.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    }
    assert "GET /repos/{owner}/{repo}/pulls/{pull_number}/files" in labels
    assert "POST /app/installations/{installation_id}/access_tokens" in labels
    assert "POST /graphql" in labels
    assert not any(FULL_NAME in label or "/1/" in label for label in labels)
    left = RATE_LIMIT_REMAINING.labels(installation=str(world.installation.id), resource="core")._value.get()
    assert left == 5000 - world.sim.budgets.used(world.installation.id)


def test_a_spent_graphql_budget_pauses_and_is_not_replaced_by_rest_reads(world: World) -> None:
    pull = world.open_pull(RISKY)
    world.sim.budgets.use(world.installation.id, 5_000, "graphql")
    with pytest.raises(TransientGitHubError) as raised:
        world.run(pull)
    assert raised.value.rate_limit and raised.value.retry_after > 3000
    assert [r.path for r in world.sim.requests_matching("POST", "/graphql")] == ["/graphql"]
    assert world.sim.requests_matching("GET", f"/repos/{FULL_NAME}/contents/app/*") == []
