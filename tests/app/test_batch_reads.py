"""File contents come in GraphQL batches (``object(expression:)`` with ``text``), one query for
up to ``github_read_batch`` files, and give exactly the bytes the REST reads give: odd names,
files that are not UTF-8, binaries and files too large for GraphQL's text (against the simulator)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from faultline.analyzers.core.config import Config
from faultline.analyzers.core.context import Context
from faultline.analyzers.core.engine import Engine
from faultline.analyzers.core.findings import Hit, Severity
from faultline.analyzers.core.rule import Rule
from faultline.analyzers.core.source import SourceFile
from faultline.app.github.client import InstallationClient
from faultline.app.github.reader import PullContents, PullReader, PullRef
from tests.app.sim_fixtures import FULL_NAME, OWNER, REPO, World, sim_world
from tests.app.test_jobs_e2e import AUTH
from tests.github_sim import PullRequest

CONTENTS = f"/repos/{FULL_NAME}/contents/"
ODD_NAMES = [
    "a b.txt",
    "é中.txt",
    'say "hi".txt',
    "back\\slash.txt",
    "co:lon.txt",
    "a#b?c.txt",
    "HEAD:x.txt",
    "line\nbreak.txt",
    "dir with space/x:y.txt",
]


class EveryFile(Rule):
    """## What it does
    Reads every changed file and two context files."""

    code = "FL952"
    slug = "every-file"
    severity = Severity.WARNING
    summary = "Every file"
    patterns = ("*",)
    context_paths = ("conf/", "odd: name.toml")

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        yield from ()


ENGINE = Engine(Config(), [EveryFile])


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with sim_world(tmp_path) as made:
        made.sim.graphql_text_limit = 4096  # so a "huge" file is a few KiB here
        yield made


def load(world: World, pull: PullRequest, batch: int) -> PullContents:
    settings = world.settings.model_copy(update={"github_read_batch": batch})
    ref = PullRef(OWNER, REPO, pull.number, pull.head_sha, pull.base_sha)

    async def go() -> PullContents:
        async with InstallationClient(settings, world.installation.id) as client:
            return await PullReader(client, ref).load(ENGINE)

    return asyncio.run(go())


def rest_reads(world: World) -> list[str]:
    return sorted(r.path.removeprefix(CONTENTS) for r in world.sim.requests_matching("GET", CONTENTS + "*"))


def test_batched_reads_give_the_bytes_rest_gives(world: World) -> None:
    files: dict[str, str | bytes] = {name: f"text of {name!r}\n" for name in ODD_NAMES}
    files["latin1.txt"] = "caf\xe9\n".encode("latin-1")  # not UTF-8: GraphQL's text is not the bytes
    files["huge.txt"] = "y" * 10_000  # over GraphQL's text limit: text null, read over REST
    files["image.png"] = b"\x89PNG\r\n\x1a\n\x00\x00binary"
    files["crlf.txt"] = "a\r\nb\r\n"
    world.main_sha = world.commit(
        {"conf/a.ini": "a = 1\n", "conf/b.ini": "b\x00", "odd: name.toml": "x = 1\n"}
    )
    world.sim.set_branch(FULL_NAME, "main", world.main_sha)
    pull = world.open_pull(files)
    batched = load(world, pull, 50)
    by_graphql = rest_reads(world)
    world.sim.requests.clear()
    one_by_one = load(world, pull, 0)
    assert batched.view.new == one_by_one.view.new
    assert batched.view.new["latin1.txt"] == "caf\xe9\n".encode("latin-1")
    assert "é中.txt" in batched.view.new and "line\nbreak.txt" in batched.view.new
    # Only what GraphQL could not send exactly went over REST: the huge file, the non-UTF-8 one
    # and the binary context file (binary changed files listed without a patch are not read).
    assert by_graphql == ["conf/b.ini", "huge.txt", "latin1.txt"]
    assert len(rest_reads(world)) > len(ODD_NAMES)


def test_the_paths_travel_as_variables_never_in_the_query(world: World) -> None:
    pull = world.open_pull({name: "x\n" for name in ODD_NAMES})
    load(world, pull, 50)
    queries = [r.body for r in world.sim.requests_matching("POST", "/graphql")]
    assert queries and all(name not in q["query"] for q in queries for name in ODD_NAMES)
    asked = {
        value.split(":", 1)[1] for q in queries for key, value in q["variables"].items() if key[1:].isdigit()
    }
    assert set(ODD_NAMES) <= asked


@pytest.mark.parametrize("count", [1, 20, 200, 1000])
def test_a_run_costs_a_handful_of_calls_plus_one_per_batch(world: World, count: int) -> None:
    files = {f"app/m{n}.py": f"value_{n} = {n}\n" for n in range(count)}
    files["app/auth.py"] = AUTH
    pull = world.open_pull(files)
    world.sim.requests.clear()
    world.run(pull)
    calls = [r for r in world.sim.requests if not r.path.startswith("/app/")]
    pages = math.ceil((count + 1) / 100)
    batches = math.ceil((count + 1) / 50)
    # The pull request, the config, the check run, the listing's pages, the batches, the review...
    assert len(calls) <= 12 + pages + batches, sorted({r.path for r in calls})
    assert rest_reads(world) == []  # the config's spellings come in one query too
    assert len(world.sim.reviews(pull)) == 1
