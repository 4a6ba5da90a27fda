"""The simulator's Git objects over GraphQL, and file names as git allows them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from githubkit import GitHub

from tests.github_sim import GitHubSim, RunningSim, installation_client, running_sim

REPO = "acme/widgets"
OBJECT_QUERY = """
query($e: String!) {
  repository(owner: "acme", name: "widgets") {
    object(expression: $e) {
      __typename
      oid
      ... on Blob { byteSize isBinary isTruncated text }
      ... on Tree { entries { name path type mode size object { __typename ... on Blob { byteSize } } } }
    }
  }
}
"""
ODD = "odd\n#?%\t\x7fé.py"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def served() -> Iterator[tuple[RunningSim, GitHub[Any], str]]:
    with running_sim() as running:
        sim = running.sim
        sim.add_repo(REPO, private=True)
        files = {
            "app/a.py": "x = 1\n",
            "app/logo.png": b"\x89PNG\0\0",
            "app/sub/b.py": "",
            f"app/{ODD}": "y\n",
        }
        sha = sim.commit(REPO, files, branch="main")
        installation = sim.add_installation("acme", [REPO])
        yield running, installation_client(running, installation), sha


async def obj(gh: GitHub[Any], expression: str) -> Any:
    data = await gh.graphql.arequest(OBJECT_QUERY, {"e": expression})
    return data["repository"]["object"]


@pytest.mark.anyio
async def test_a_blob_has_its_size_and_binary_flag(served: tuple[RunningSim, GitHub[Any], str]) -> None:
    _, gh, sha = served
    blob = await obj(gh, f"{sha}:app/a.py")
    assert (blob["__typename"], blob["byteSize"], blob["isBinary"], blob["text"]) == (
        "Blob",
        6,
        False,
        "x = 1\n",
    )
    png = await obj(gh, "main:app/logo.png")
    assert (png["byteSize"], png["isBinary"], png["text"]) == (6, True, None)
    assert (await obj(gh, f"{sha}:app/{ODD}"))["byteSize"] == 2


@pytest.mark.anyio
async def test_a_tree_lists_its_entries_and_a_missing_path_is_null(
    served: tuple[RunningSim, GitHub[Any], str],
) -> None:
    _, gh, sha = served
    tree = await obj(gh, f"{sha}:app")
    entries = {entry["name"]: entry for entry in tree["entries"]}
    assert sorted(entries) == sorted(["a.py", "logo.png", "sub", ODD])
    assert (entries["a.py"]["type"], entries["a.py"]["size"], entries["a.py"]["path"]) == (
        "blob",
        6,
        "app/a.py",
    )
    assert (entries["sub"]["type"], entries["sub"]["object"]["__typename"]) == ("tree", "Tree")
    assert (await obj(gh, f"{sha}:"))["__typename"] == "Tree"
    assert (await obj(gh, sha))["__typename"] == "Commit"
    assert await obj(gh, f"{sha}:app/nope.py") is None
    assert await obj(gh, "nobranch:app/a.py") is None


@pytest.mark.anyio
async def test_contents_serve_any_name_git_allows(served: tuple[RunningSim, GitHub[Any], str]) -> None:
    running, gh, sha = served
    encoded = "odd%0A%23%3F%25%09%7F%C3%A9.py"
    await obj(gh, sha)  # mints a token
    # Over plain HTTP: githubkit's own auth flow cannot send such a path (see client.py).
    token = next(iter(running.sim.tokens))
    response = httpx.get(
        f"{running.base_url}repos/{REPO}/contents/app/{encoded}",
        params={"ref": sha},
        headers={"Accept": "application/vnd.github.raw+json", "Authorization": f"token {token}"},
    )
    assert response.content == b"y\n"
    (record,) = running.sim.requests_matching("GET", f"/repos/{REPO}/contents/*")
    assert record.path == f"/repos/{REPO}/contents/app/{ODD}"
    assert record.raw_path == f"/repos/{REPO}/contents/app/{encoded}"


def test_names_git_cannot_store_are_refused() -> None:
    sim = GitHubSim()
    sim.add_repo(REPO)
    for bad in ("a\0b", "a//b", "/a", "a/"):
        with pytest.raises(ValueError, match="cannot store"):
            sim.commit(REPO, {bad: "x"})
    with pytest.raises(ValueError, match="refuses"):
        sim.commit(REPO, {"a/../b": "x"})
    sim.commit(REPO, {"a/../b": "x"}, unchecked_names=True)  # a hostile server's listing
