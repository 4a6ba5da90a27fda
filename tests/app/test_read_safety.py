"""Paths are data: whatever a pull request's file names or a workflow's working-directory
hold, every request stays under ``/repos/acme/shop/`` and one odd name never sinks a run.
The simulator records each path as it came over the wire, percent-encoding and all."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faultline.analyzers.core.config import Config
from faultline.analyzers.core.context import Context
from faultline.analyzers.core.engine import Engine
from faultline.analyzers.core.findings import Hit, Severity
from faultline.analyzers.core.rule import Rule
from faultline.analyzers.core.source import SourceFile
from faultline.app.github.client import InstallationClient, UnsafePathError, repo_url
from faultline.app.github.reader import PullContents, PullReader, PullRef
from tests.app.sim_fixtures import FULL_NAME, OWNER, REPO, World, sim_world
from tests.app.test_jobs_e2e import AUTH, MONOREPO_WORKFLOW, the_run
from tests.github_sim import PullRequest, RequestRecord

PREFIX = f"/repos/{FULL_NAME}/"
ENGINE = Engine(Config())
# Names git allows (any byte but NUL and "/"), each of which once failed every run.
ODD_NAMES = ["a#b", "a?b", "a\tb", "a\nb", "a b", "100%", "%41", "é中", "a\x7fb"]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with sim_world(tmp_path) as made:
        # Each file over REST, as for contents GraphQL cannot send (batched reads: test_batch_reads.py).
        made.settings = made.settings.model_copy(update={"github_read_batch": 0})
        made.sim.add_repo(f"{OWNER}/other", private=True)
        made.sim.commit(f"{OWNER}/other", {"contents/x.py": "secret\n"}, branch="main")
        yield made


@pytest.fixture(scope="module")
def shared_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with sim_world(tmp_path_factory.mktemp("sim")) as made:
        # Each file over REST, as for contents GraphQL cannot send (batched reads: test_batch_reads.py).
        made.settings = made.settings.model_copy(update={"github_read_batch": 0})
        yield made


def escapes(requests: list[RequestRecord], installation_id: int) -> list[str]:
    """Requests that left the repository's prefix, or whose path a server could normalise out of it."""
    allowed = {"/graphql", f"/app/installations/{installation_id}/access_tokens"}
    bad = []
    for record in requests:
        raw = record.raw_path
        segments = unquote(raw).split("/")
        if raw in allowed:
            continue
        if not (raw.startswith(PREFIX) or raw == PREFIX.rstrip("/")) or {".", ".."} & set(segments):
            bad.append(raw)
    return bad


def load(world: World, pull: PullRequest) -> PullContents:
    files = world.sim.diff(pull.base_sha, pull.head_sha)
    ref = PullRef(OWNER, REPO, pull.number, pull.head_sha, pull.base_sha, len(files))

    async def go() -> PullContents:
        async with InstallationClient(world.settings, world.installation.id) as client:
            return await PullReader(client, ref).load(ENGINE)

    return asyncio.run(go())


def hostile_pull(world: World, files: dict[str, str]) -> PullRequest:
    """A pull request whose file list holds names git would refuse: a broken or hostile server."""
    head = world.sim.commit(FULL_NAME, files, parent=world.main_sha, unchecked_names=True)
    return world.sim.open_pull(FULL_NAME, head)


def test_a_dot_dot_path_is_skipped_and_never_requested(world: World) -> None:
    pull = hostile_pull(world, {"app/../../../other/contents/x.py": AUTH, "app/ok.py": AUTH})
    world.run(pull)
    assert escapes(world.sim.requests, world.installation.id) == []
    run = the_run(world, pull.head_sha)
    assert run.summary is not None
    assert "its path cannot be read safely (a '.' or '..' segment)" in run.summary
    assert {c.path for c in world.sim.review_comments(pull)} == {"app/ok.py"}


def test_a_working_directory_outside_the_repository_is_not_read(world: World) -> None:
    workflow = MONOREPO_WORKFLOW.replace(
        "working-directory: backend", "working-directory: ../../other/contents"
    )
    pull = world.open_pull({".github/workflows/ci.yml": workflow})
    world.run(pull)
    assert escapes(world.sim.requests, world.installation.id) == []
    assert the_run(world, pull.head_sha).conclusion in ("success", "failure", "neutral")


@pytest.mark.parametrize("name", ODD_NAMES)
def test_a_file_with_an_odd_name_is_analysed_like_any_other(world: World, name: str) -> None:
    path = f"app/{name}.py"
    pull = world.open_pull({path: AUTH})
    world.run(pull)
    run = the_run(world, pull.head_sha)
    assert run.conclusion == "failure", run.summary
    assert {(c.path, c.line) for c in world.sim.review_comments(pull)} == {(path, 8)}
    assert escapes(world.sim.requests, world.installation.id) == []


class EveryFile(Rule):
    """## What it does
    Flags the first line of any file."""

    code = "FL970"
    slug = "every-file"
    severity = Severity.ERROR
    summary = "Any file"
    patterns = ("*",)

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        yield Hit(1, "seen")


@pytest.mark.parametrize("path", ["docs/installation", "x/applications/y/token", "login/oauth/access_token"])
def test_a_path_like_an_app_route_is_read_with_the_installation_token(world: World, path: str) -> None:
    # githubkit picks the credentials from the URL: these once got the App's JWT, basic
    # auth or none, and failed the run.
    pull = world.open_pull({path: "first line\n"})
    world.run(pull, rules=[EveryFile])
    assert the_run(world, pull.head_sha).conclusion == "failure"
    reads = world.sim.requests_matching("GET", PREFIX + "contents/" + path)
    assert [(r.status, r.auth) for r in reads] == [(200, "token")]


NAMES = st.text(st.characters(exclude_characters="\0/", codec="utf-8"), min_size=1, max_size=10).filter(
    lambda name: name not in (".", "..")
)
HOSTILE_SEGMENTS = st.one_of(NAMES, st.sampled_from(["..", ".", "%2e%2e", "%2F", "contents", "other"]))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=NAMES, hostile=st.lists(HOSTILE_SEGMENTS, min_size=1, max_size=5))
def test_no_request_leaves_the_repository_whatever_the_names(
    shared_world: World, name: str, hostile: list[str]
) -> None:
    world = shared_world
    plain, odd = f"app/{name}.py", "/".join(hostile) + ".py"
    start = len(world.sim.requests)
    pull = hostile_pull(world, {plain: AUTH, odd: AUTH})
    contents = load(world, pull)
    assert escapes(world.sim.requests[start:], world.installation.id) == []
    assert contents.view.new[plain] == AUTH.encode()  # a name git allows is read like any other
    unread = {skipped.path for skipped in contents.unread}
    assert odd in contents.view.new or odd in unread


def test_repo_urls_encode_every_segment_and_refuse_what_would_escape() -> None:
    assert (
        repo_url("acme", "shop", "contents", "a#b/c?d e%.py")
        == "/repos/acme/shop/contents/a%23b/c%3Fd%20e%25.py"
    )
    for bad in ("../x", "a/./b", "/abs", "a//b", "", "a\0b"):
        with pytest.raises(UnsafePathError):
            repo_url("acme", "shop", "contents", bad)
    with pytest.raises(UnsafePathError):
        repo_url("..", "shop", "contents", "x")
