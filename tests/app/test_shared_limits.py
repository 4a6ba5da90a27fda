"""An installation's limits shared through a real redis-server (scale-out): two limit objects
with clients of their own stand for two workers. A rate limit one of them meets pauses the
other, the write window holds across both, and a Redis that stops answering falls back to
each process's own limits. The in-process limits are the control: they share nothing. Last,
two real ``faultline worker`` processes of one installation share a pause.
Times are the simulator's request timestamps, never how long a test took."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from faultline.app.github.checks import CheckRuns
from faultline.app.github.client import InstallationClient
from faultline.app.github.limits import InstallationLimits, Limits, limits_for
from faultline.app.github.limits_redis import LimitsStore, SharedLimits
from tests.app.redis_server import RedisServer
from tests.app.sim_fixtures import FULL_NAME, OWNER, REPO, World, sim_world
from tests.app.test_jobs_e2e import RISKY
from tests.app.test_service import Service, completed, wait_for
from tests.github_sim import RequestRecord

CHECK_RUNS = f"/repos/{FULL_NAME}/check-runs"
PULL = f"/repos/{FULL_NAME}/pulls/1"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with sim_world(tmp_path) as made:
        yield made


def worker_limits(world: World, redis_url: str | None) -> Limits:
    """The limits a separate worker process would hold: its own client, its own fallback."""
    local = InstallationLimits(str(world.installation.id))
    if redis_url is None:
        return local
    return SharedLimits(local, LimitsStore(redis.Redis.from_url(redis_url)), world.settings.github_api_url)


def client_with(world: World, limits: Limits) -> InstallationClient:
    client = InstallationClient(world.settings, world.installation.id)
    client.transport.limits = limits
    return client


async def get_pull(client: InstallationClient) -> None:
    await client.call(lambda gh: gh.rest.pulls.async_get(OWNER, REPO, 1))


def of_installation(world: World) -> list[RequestRecord]:
    return [r for r in world.sim.requests if r.installation == world.installation.id]


async def until_paused(limits: Limits) -> None:
    # Not until the simulator has recorded its 403: the worker may not have read the answer yet.
    while limits.pause_left() <= 0:
        await asyncio.sleep(0.01)


def pause_seen_by_the_other(world: World, redis_url: str | None) -> tuple[RequestRecord, RequestRecord]:
    """Worker one meets a 2 s secondary rate limit; then worker two asks: (the 403, its request)."""
    world.open_pull(RISKY)

    async def both() -> None:
        limits_of_one = worker_limits(world, redis_url)
        async with (
            client_with(world, limits_of_one) as one,
            client_with(world, worker_limits(world, redis_url)) as two,
        ):
            await get_pull(two)  # its token minted before the rate limit
            world.sim.rate_limit("GET", PULL, retry_after=2)
            first = asyncio.create_task(get_pull(one))
            await until_paused(limits_of_one)
            await get_pull(two)
            await first

    asyncio.run(both())
    refused = next(r for r in world.sim.requests if r.status == 403)
    later = [r for r in of_installation(world) if r.at > refused.at and r.path == PULL]
    return refused, min(later, key=lambda r: r.at)


def test_a_rate_limit_met_by_one_worker_pauses_the_other(world: World, redis_server: RedisServer) -> None:
    refused, following = pause_seen_by_the_other(world, redis_server.url)
    assert following.at - refused.at >= 2


def test_without_redis_the_other_worker_does_not_know_of_the_pause(world: World) -> None:
    refused, following = pause_seen_by_the_other(world, None)
    assert following.at - refused.at < 1  # the control: each process's limits are its own


def four_in_a_row(world: World, redis_url: str | None) -> list[float]:
    """Two workers create four check runs each, 3 allowed a second: the spans of 4 in a row."""
    world.settings = world.settings.model_copy(
        update={"github_write_limit": 3, "github_write_window_seconds": 1.0}
    )
    sha = world.open_pull(RISKY).head_sha

    async def create(limits: Limits, worker: int) -> None:
        async with client_with(world, limits) as client:
            checks = CheckRuns(client, OWNER, REPO, world.sim.app.id)
            await asyncio.gather(*(checks.start_check(sha, f"delivery-{worker}-{n}") for n in range(4)))

    async def both() -> None:
        first, second = worker_limits(world, redis_url), worker_limits(world, redis_url)
        await asyncio.gather(create(first, 1), create(second, 2))

    asyncio.run(both())
    posts = world.sim.requests_matching("POST", CHECK_RUNS)
    assert len(posts) == 8 and all(r.status == 201 for r in posts)
    times = sorted(r.at for r in posts)
    return [times[n + 3] - times[n] for n in range(len(times) - 3)]


def test_the_write_window_holds_across_workers(world: World, redis_server: RedisServer) -> None:
    # Any four in a row span the window, less what loopback adds to one and not another.
    assert min(four_in_a_row(world, redis_server.url)) >= 0.8


def test_without_redis_each_worker_has_a_window_of_its_own(world: World) -> None:
    assert min(four_in_a_row(world, None)) < 0.5  # the control: 6 of 8 go out at once


def test_a_stopped_redis_falls_back_to_the_process_limits(
    world: World, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    from pydantic import SecretStr

    world.settings = world.settings.model_copy(update={"redis_url": SecretStr(redis_server.url)})
    limits = limits_for(world.settings, world.installation.id)
    assert isinstance(limits, SharedLimits)
    redis_server.stop()
    pull = world.open_pull(RISKY)
    world.sim.rate_limit("GET", f"/repos/{FULL_NAME}/pulls/1/files", retry_after=1)
    with caplog.at_level(logging.INFO, logger="faultline.app.github.limits_redis"):
        world.run(pull)
    [run] = world.sim.check_runs(FULL_NAME, pull.head_sha)
    assert (run.status, run.conclusion) == ("completed", "failure")  # RISKY has errors
    refused = next(r for r in world.sim.requests if r.status == 403)
    following = min((r for r in of_installation(world) if r.at > refused.at), key=lambda r: r.at)
    assert following.at - refused.at >= 1  # the pause held, in the process
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "Redis did not answer" in warnings[0].getMessage()


def test_limits_come_back_to_redis_when_it_answers_again(world: World, redis_server: RedisServer) -> None:
    store = LimitsStore(redis.Redis.from_url(redis_server.url, socket_timeout=1))
    limits = SharedLimits(InstallationLimits("7"), store, world.settings.github_api_url)
    other = SharedLimits(InstallationLimits("7"), LimitsStore(redis.Redis.from_url(redis_server.url)), "x")
    redis_server.stop()
    limits.pause(30)  # kept in the process only
    assert limits.pause_left() > 29
    redis_server.start()  # durable: nothing was written while it was away
    store._skip_until = 0.0  # do not wait out the few seconds before Redis is asked again
    limits.pause(60)
    assert 59 < limits.pause_left() <= 60
    assert other.pause_left() == 0  # another GitHub host: keys of its own


# -- two real `faultline worker` processes ----------------------------------------------------


def test_two_worker_processes_share_the_pause(
    world: World, tmp_path: Path, redis_server: RedisServer
) -> None:
    first = world.open_pull(RISKY)
    second = world.open_pull({"app/other.py": RISKY["app/auth.py"]})
    world.sim.rate_limit("GET", f"/repos/{FULL_NAME}/pulls/{first.number}/files", retry_after=3)
    # The other run is still going when the first is refused: its next requests would fall
    # inside the pause if its worker did not know of it.
    world.sim.hang("GET", f"/repos/{FULL_NAME}/pulls/{second.number}/files", seconds=1.5, applied=True)
    service = Service(world, tmp_path, redis_server)
    try:
        service.start(FAULTLINE_WORKERS="1")
        service.start_worker(FAULTLINE_WORKERS="1")
        wait_for(lambda: service.log_text().count("workers started") == 2, "both workers to start")
        service.deliver(first)
        service.deliver(second)
        wait_for(lambda: all(completed(world, p.head_sha) for p in (first, second)), "both check runs")
    finally:
        service.stop()
    mints = world.sim.requests_matching("POST", "/app/installations/*/access_tokens")
    assert len(mints) == 2  # one token per worker process: both ran a job
    refused = next(r for r in world.sim.requests if r.status == 403)
    # Requests already on their way when the 403 left may land just after it; then none for the pause.
    assert [r for r in of_installation(world) if refused.at + 0.5 < r.at < refused.at + 3] == []
