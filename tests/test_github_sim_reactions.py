"""Reactions on review comments in the simulator's GraphQL, as GitHub shapes them, and the
helpers that let a test act as a person (react 👎, resolve a thread)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from githubkit.exception import GraphQLFailed

from tests.github_sim import GitHubSim, PullRequest, RunningSim, installation_client, running_sim
from tests.github_sim.graphql_reactions import react, resolve_as
from tests.github_sim.records import Installation

pytestmark = pytest.mark.anyio

REPO = "acme/widgets"
OWNER, NAME = REPO.split("/")
QUERY = """
query($owner: String!, $name: String!, $number: Int!) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: 10) {
        nodes {
          isResolved
          resolvedBy { login }
          comments(first: 1) {
            nodes {
              databaseId
              reactionGroups { content viewerHasReacted reactors { totalCount } }
              reactions(first: 10, content: THUMBS_DOWN) { totalCount nodes { content user { login } } }
            }
          }
        }
      }
    }
  }
}
"""
UNBOUNDED = """
query($owner: String!, $name: String!, $number: Int!) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: 10) {
        nodes { comments(first: 1) { nodes { reactions { nodes { content } } } } }
      }
    }
  }
}
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sim() -> Iterator[tuple[RunningSim, PullRequest, Installation]]:
    with running_sim() as running:
        sim = running.sim
        sim.add_repo(REPO)
        base = sim.commit(REPO, {"app.py": "x = 1\n"}, branch="main")
        head = sim.commit(REPO, {"app.py": "x = 2\n"}, parent=base)
        pull = sim.open_pull(REPO, head, user="alice")
        yield running, pull, sim.add_installation(OWNER, [REPO])


async def the_thread(running: RunningSim, installation: Installation, pull: PullRequest) -> dict[str, Any]:
    gh = installation_client(running, installation)
    await gh.rest.pulls.async_create_review(
        OWNER,
        NAME,
        pull.number,
        event="COMMENT",
        body="b",
        comments=[{"path": "app.py", "line": 1, "side": "RIGHT", "body": "risky"}],
    )
    return await read(running, installation, pull)


async def read(running: RunningSim, installation: Installation, pull: PullRequest) -> dict[str, Any]:
    gh = installation_client(running, installation)
    data = await gh.graphql.arequest(QUERY, {"owner": OWNER, "name": NAME, "number": pull.number})
    (thread,) = data["repository"]["pullRequest"]["reviewThreads"]["nodes"]
    return dict(thread)


def only_comment(sim: GitHubSim, pull: PullRequest) -> Any:
    (comment,) = sim.review_comments(pull)
    return comment


async def test_reaction_groups_list_every_content_with_its_reactors(
    sim: tuple[RunningSim, PullRequest, Installation],
) -> None:
    running, pull, installation = sim
    thread = await the_thread(running, installation, pull)
    groups = thread["comments"]["nodes"][0]["reactionGroups"]
    assert [g["content"] for g in groups] == [
        "THUMBS_UP",
        "THUMBS_DOWN",
        "LAUGH",
        "HOORAY",
        "CONFUSED",
        "HEART",
        "ROCKET",
        "EYES",
    ]
    assert all(g["reactors"]["totalCount"] == 0 for g in groups)
    comment = only_comment(running.sim, pull)
    react(running.sim, comment, "bob")
    react(running.sim, comment, "bob")  # the same person again: still one
    react(running.sim, comment, "carol")
    react(running.sim, comment, "carol", "+1")
    first = (await read(running, installation, pull))["comments"]["nodes"][0]
    counts = {g["content"]: g["reactors"]["totalCount"] for g in first["reactionGroups"]}
    assert (counts["THUMBS_DOWN"], counts["THUMBS_UP"], counts["EYES"]) == (2, 1, 0)
    assert not any(g["viewerHasReacted"] for g in first["reactionGroups"])
    reactions = first["reactions"]
    assert reactions["totalCount"] == 2
    assert [(n["content"], n["user"]["login"]) for n in reactions["nodes"]] == [
        ("THUMBS_DOWN", "bob"),
        ("THUMBS_DOWN", "carol"),
    ]


async def test_rest_reactions_show_in_graphql_and_a_person_resolves(
    sim: tuple[RunningSim, PullRequest, Installation],
) -> None:
    running, pull, installation = sim
    await the_thread(running, installation, pull)
    comment = only_comment(running.sim, pull)
    gh = installation_client(running, installation)
    await gh.rest.reactions.async_create_for_pull_request_review_comment(
        OWNER, NAME, comment.id, content="-1"
    )
    resolve_as(running.sim, running.sim.thread_records[comment.thread_id], "bob")
    thread = await read(running, installation, pull)
    assert (thread["isResolved"], thread["resolvedBy"]) == (True, {"login": "bob"})
    groups = thread["comments"]["nodes"][0]["reactionGroups"]
    down = next(g for g in groups if g["content"] == "THUMBS_DOWN")
    assert (down["reactors"]["totalCount"], down["viewerHasReacted"]) == (1, True)


async def test_reaction_nodes_need_first_or_last(sim: tuple[RunningSim, PullRequest, Installation]) -> None:
    running, pull, installation = sim
    await the_thread(running, installation, pull)
    gh = installation_client(running, installation)
    with pytest.raises(GraphQLFailed, match="must provide a `first` or `last` value to properly paginate"):
        await gh.graphql.arequest(UNBOUNDED, {"owner": OWNER, "name": NAME, "number": pull.number})
