"""Reads are bounded: sizes are asked before any download, a file above the engine's cap is
never downloaded, a read stops at the cap whatever GitHub said, the run's total is capped,
and every file left out is named in the check run (against the simulator)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from githubkit.exception import GraphQLFailed
from githubkit.graphql import GraphQLResponse

from faultline.analyzers.core.changes import ChangeSet
from faultline.analyzers.core.config import Config
from faultline.analyzers.core.engine import Engine
from faultline.analyzers.core.plan import ReadPlan
from faultline.app.github.blobs import UNKNOWN, Blob, look_up
from faultline.app.github.client import InstallationClient, TooLargeError, _capped
from faultline.app.github.reader import PullContents, PullReader, PullRef
from tests.app.sim_fixtures import FULL_NAME, OWNER, REPO, World, sim_world
from tests.app.test_jobs_e2e import AUTH, MONOREPO_WORKFLOW, the_run
from tests.github_sim import GitHubSim, PullRequest

BIG = "x = 1\n" * 500_000  # 3 MB: over the engine's 2 MiB cap
CONTENTS = f"/repos/{FULL_NAME}/contents/"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with sim_world(tmp_path) as made:
        # The REST reads, one per file, as with contents GraphQL cannot send (test_batch_reads.py).
        made.settings = made.settings.model_copy(update={"github_read_batch": 0})
        yield made


class SmallBudget(Engine):
    """The engine's plan with a run budget of ``budget`` bytes."""

    budget = 1000

    def plan(self, changes: ChangeSet) -> ReadPlan:
        return replace(super().plan(changes), max_total_bytes=self.budget)


def load(world: World, pull: PullRequest, engine: Engine) -> PullContents:
    ref = PullRef(OWNER, REPO, pull.number, pull.head_sha, pull.base_sha)

    async def go() -> PullContents:
        async with InstallationClient(world.settings, world.installation.id) as client:
            return await PullReader(client, ref).load(engine)

    return asyncio.run(go())


def contents_reads(world: World, path: str) -> list[int]:
    return [r.status for r in world.sim.requests_matching("GET", CONTENTS + path)]


def test_a_file_over_the_cap_is_never_downloaded_and_is_named(world: World) -> None:
    pull = world.open_pull({"app/big.py": BIG, "app/auth.py": AUTH})
    world.run(pull)
    assert contents_reads(world, "app/big.py") == []
    run = the_run(world, pull.head_sha)
    assert run.summary is not None
    assert "- `app/big.py`: larger than 2048 KiB (3,000,000 bytes)" in run.summary
    assert {c.path for c in world.sim.review_comments(pull)} == {"app/auth.py"}


def test_a_read_stops_at_its_limit(world: World) -> None:
    sha = world.commit({"app/x.py": "x" * 5000})

    async def go() -> None:
        async with InstallationClient(world.settings, world.installation.id) as client:
            with pytest.raises(TooLargeError):
                await client.read_file(OWNER, REPO, "app/x.py", sha, limit=4999)
            assert await client.read_file(OWNER, REPO, "app/x.py", sha, limit=5000) == b"x" * 5000

    asyncio.run(go())


def test_a_streamed_answer_is_not_read_past_the_limit() -> None:
    pulled: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for n in range(100):  # 100 MB, if all of it were read
            pulled.append(n)
            yield b"x" * 1_000_000

    async def go() -> None:
        response = httpx.Response(200, content=chunks())
        with pytest.raises(TooLargeError):
            await _capped(response, "big.bin", 2_500_000)

    asyncio.run(go())
    assert len(pulled) == 3


def test_a_file_bigger_than_its_size_said_is_cut_at_the_cap(world: World) -> None:
    pull = world.open_pull({"app/auth.py": AUTH, "app/grows.py": "x = 1\n"})

    def grow(sim: GitHubSim) -> None:  # after the size was asked: GitHub's answer is now wrong
        sim.commits[pull.head_sha].files["app/grows.py"] = BIG.encode()

    world.sim.on_request("GET", CONTENTS + "app/grows.py", grow)
    world.run(pull)
    run = the_run(world, pull.head_sha)
    assert run.summary is not None
    assert "- `app/grows.py`: larger than 2048 KiB" in run.summary
    assert {c.path for c in world.sim.review_comments(pull)} == {"app/auth.py"}


def test_a_modified_file_costs_both_sides(world: World) -> None:
    world.main_sha = world.commit({"app/a.py": AUTH, "app/b.py": AUTH})
    world.sim.set_branch(FULL_NAME, "main", world.main_sha)
    pull = world.open_pull({"app/a.py": AUTH + "x = 1\n", "app/b.py": AUTH + "x = 1\n"})
    SmallBudget.budget = 2 * (len(AUTH) + 6) + 10  # one file, its new side and the base its patch rebuilds
    contents = load(world, pull, SmallBudget(Config()))
    assert sorted(contents.view.new) == ["app/a.py"] and sorted(contents.view.base) == ["app/a.py"]
    assert [s.path for s in contents.unread] == ["app/b.py"]


def test_the_run_budget_skips_what_does_not_fit_and_says_so(world: World) -> None:
    pull = world.open_pull({"app/a.py": AUTH, "app/b.py": AUTH, "app/c.py": AUTH})
    SmallBudget.budget = len(AUTH) + 10  # room for one added file
    contents = load(world, pull, SmallBudget(Config()))
    assert sorted(contents.view.new) == ["app/a.py"]
    reason = f"not read: the files read for this run would hold more than {len(AUTH) + 10} bytes, its limit"
    assert [(s.path, s.reason) for s in contents.unread] == [("app/b.py", reason), ("app/c.py", reason)]
    assert contents_reads(world, "app/b.py") == contents_reads(world, "app/c.py") == []


def test_context_over_the_cap_is_named_not_read(world: World) -> None:
    base = world.commit({"backend/pyproject.toml": "[tool.x]\n" + "# pad\n" * 400_000})
    head = world.commit({".github/workflows/ci.yml": MONOREPO_WORKFLOW}, parent=base)
    pull = world.sim.open_pull(FULL_NAME, head, base_sha=base)
    contents = load(world, pull, Engine(Config()))
    assert contents_reads(world, "backend/pyproject.toml") == []
    assert [s.path for s in contents.skipped] == ["backend/pyproject.toml"]
    assert contents.skipped[0].reason.startswith("larger than 2048 KiB")


def test_a_file_github_will_not_serve_is_skipped_and_the_run_goes_on(world: World) -> None:
    pull = world.open_pull({"app/auth.py": AUTH, "app/refused.py": AUTH})
    world.sim.fail("GET", CONTENTS + "app/refused.py", 403, message="Repository access blocked")
    world.run(pull)
    run = the_run(world, pull.head_sha)
    assert run.summary is not None and run.conclusion == "failure"
    assert "- `app/refused.py`: GitHub did not serve it (403)" in run.summary
    assert {c.path for c in world.sim.review_comments(pull)} == {"app/auth.py"}


def test_sizes_come_in_batches_of_one_query_each(world: World) -> None:
    pull = world.open_pull({f"app/m{n:03d}.py": "x = 1\n" for n in range(120)})
    contents = load(world, pull, Engine(Config()))
    assert len(contents.view.new) == 120
    size_queries = [
        r for r in world.sim.requests_matching("POST", "/graphql") if "object(" in r.body["query"]
    ]
    assert len(size_queries) == 3  # 50 aliases a query


class AnsweringGraphQL:
    """A client whose GraphQL answers ``data`` with ``errors`` (GitHub's partial answers)."""

    def __init__(self, data: object, errors: list[dict[str, object]]) -> None:
        self.response = GraphQLResponse.model_validate({"data": data, "errors": errors})

    async def graphql(self, query: str, variables: dict[str, object]) -> dict[str, object]:
        raise GraphQLFailed(self.response)


def test_a_path_github_could_not_size_is_unknown_and_the_others_are_kept() -> None:
    blob = {"__typename": "Blob", "byteSize": 3, "isBinary": False}
    partial = AnsweringGraphQL(
        {"repository": {"f0": blob, "f1": None, "f2": None}},
        [{"message": "Something went wrong", "path": ["repository", "f1"]}],
    )
    specs = [("sha", "a.py"), ("sha", "b.py"), ("sha", "gone.py")]
    found = asyncio.run(look_up(partial, OWNER, REPO, specs))  # type: ignore[arg-type]
    assert found == {specs[0]: Blob(3), specs[1]: UNKNOWN, specs[2]: None}
    nothing = AnsweringGraphQL(
        None, [{"message": "Resource limits exceeded", "type": "RESOURCE_LIMITS_EXCEEDED"}]
    )
    assert set(asyncio.run(look_up(nothing, OWNER, REPO, specs)).values()) == {UNKNOWN}  # type: ignore[arg-type]
