"""Where the simulator shows a review comment after later pushes: on its line of the
latest commit while that line is unchanged, outdated (``line: null``) once a push
changes it, as GitHub does. Read through REST and GraphQL with githubkit."""

from __future__ import annotations

from typing import Any

import pytest

from tests.github_sim import RunningSim, installation_client
from tests.github_sim.fixtures import github_sim, github_sim_server
from tests.github_sim.records import PullRequest

pytestmark = pytest.mark.anyio

# The fixtures this module uses, imported by name.
FIXTURES = (github_sim, github_sim_server)

REPO = "acme/widgets"
OWNER, NAME = REPO.split("/")
PATH = "app/service.py"
BASE = "".join(f"line {n}\n" for n in range(1, 41))
# The pull request changes lines 10 and 11: one hunk, new-file lines 7-14.
HEAD = BASE.replace("line 10\n", "line ten\n").replace("line 11\n", "line eleven\n")
ABOVE = "import os\nimport sys\n\n"

LINES_QUERY = """
query($owner: String!, $name: String!, $number: Int!) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: 10) {
        nodes { isOutdated line startLine originalLine comments(first: 1) { nodes { line outdated } } }
      }
    }
  }
}
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Pull:
    """A pull request changing lines 10-11 of PATH, and a client of the installed App."""

    def __init__(self, running: RunningSim) -> None:
        self.running = running
        sim = self.sim = running.sim
        sim.add_repo(REPO)
        base = sim.commit(REPO, {PATH: BASE}, branch="main")
        self.pr: PullRequest = sim.open_pull(REPO, sim.commit(REPO, {PATH: HEAD}, parent=base))
        self.gh = installation_client(running, sim.add_installation(OWNER, [REPO]))

    async def comment(self, line: int, start_line: int | None = None, commit_id: str | None = None) -> int:
        spec: dict[str, Any] = {"path": PATH, "line": line, "side": "RIGHT", "body": "Risky"}
        if start_line is not None:
            spec |= {"start_line": start_line, "start_side": "RIGHT"}
        sha = commit_id or self.pr.head_sha
        review = await self.gh.rest.pulls.async_create_review(
            OWNER, NAME, self.pr.number, commit_id=sha, event="COMMENT", comments=[spec]
        )
        return review.parsed_data.id

    def push(self, text: str) -> str:
        sha = self.sim.commit(REPO, {PATH: text}, parent=self.pr.head_sha)
        self.sim.push(self.pr, sha)
        return sha

    async def rest_lines(self) -> list[tuple[int | None, int | None, int | None, int | None]]:
        """(start_line, line, original_line, position) of each comment."""
        listed = await self.gh.rest.pulls.async_list_review_comments(OWNER, NAME, self.pr.number)
        return [(c.start_line, c.line, c.original_line, c.position) for c in listed.parsed_data]

    async def graphql_lines(self) -> list[tuple[bool, int | None, int | None]]:
        """(isOutdated, line, originalLine) of each thread, checked against its first comment."""
        variables = {"owner": OWNER, "name": NAME, "number": self.pr.number}
        data = await self.gh.graphql.arequest(LINES_QUERY, variables)
        found = []
        for thread in data["repository"]["pullRequest"]["reviewThreads"]["nodes"]:
            first = thread["comments"]["nodes"][0]
            assert (first["line"], first["outdated"]) == (thread["line"], thread["isOutdated"])
            found.append((thread["isOutdated"], thread["line"], thread["originalLine"]))
        return found


@pytest.fixture
def pull(github_sim: RunningSim) -> Pull:
    return Pull(github_sim)


async def test_a_new_comment_is_on_its_line(pull: Pull) -> None:
    await pull.comment(10)
    assert await pull.rest_lines() == [(None, 10, 10, 6)]  # 3 context lines, -10, -11, +10
    assert await pull.graphql_lines() == [(False, 10, 10)]


async def test_a_comment_follows_its_line_when_lines_are_added_above_and_below(pull: Pull) -> None:
    await pull.comment(11, start_line=10)
    pull.push(ABOVE + HEAD + "line 41\n")
    # Position 14: the new hunk on top takes 6, the next header 1, then 7 lines down.
    assert await pull.rest_lines() == [(13, 14, 11, 14)]
    assert await pull.graphql_lines() == [(False, 14, 11)]


async def test_a_push_that_changes_the_line_makes_the_comment_outdated_for_good(pull: Pull) -> None:
    await pull.comment(10)
    pull.push(HEAD.replace("line ten\n", "    line ten\n"))
    assert await pull.rest_lines() == [(None, None, 10, None)]
    assert await pull.graphql_lines() == [(True, None, 10)]
    pull.push(HEAD)  # the line is back as it was: the comment stays outdated
    assert await pull.rest_lines() == [(None, None, 10, None)]


async def test_a_multi_line_comment_is_outdated_when_any_of_its_lines_changes(pull: Pull) -> None:
    await pull.comment(11, start_line=10)
    pull.push(HEAD.replace("line eleven\n", "line 11 again\n"))
    assert await pull.rest_lines() == [(None, None, 11, None)]


async def test_a_comment_whose_lines_leave_the_diff_is_outdated(pull: Pull) -> None:
    await pull.comment(9)  # a context line of the hunk
    pull.push(BASE)  # the pull request no longer changes anything near line 9
    assert await pull.rest_lines() == [(None, None, 9, None)]


async def test_a_comment_made_on_an_older_commit_is_shown_on_the_head(pull: Pull) -> None:
    old = pull.pr.head_sha
    pull.push(ABOVE + HEAD)
    await pull.comment(10, commit_id=old)
    assert await pull.rest_lines() == [(None, 13, 10, 13)]
