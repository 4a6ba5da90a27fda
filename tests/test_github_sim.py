"""The GitHub simulator, driven through githubkit's async client the way the App drives GitHub."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import jwt
import pytest
from githubkit import AppAuthStrategy, GitHub
from githubkit.exception import (
    GraphQLFailed,
    PrimaryRateLimitExceeded,
    RequestFailed,
    SecondaryRateLimitExceeded,
)
from githubkit.webhooks import parse_obj, verify

from tests.github_sim import GitHubSim, RunningSim, add_thread, installation_client, running_sim
from tests.github_sim.fixtures import SimSlot, github_sim, github_sim_server, serving
from tests.github_sim.gitdata import file_change
from tests.github_sim.records import Installation, PullRequest
from tests.github_sim.webhooks import (
    WEBHOOKS_DIR,
    check_run_payload,
    check_suite_payload,
    delivery,
    fill_missing,
    installation_payload,
    issue_comment_payload,
    load_payload,
    pull_request_payload,
)

pytestmark = pytest.mark.anyio

REPO = "acme/widgets"
OWNER, NAME = REPO.split("/")
SERVICE = "".join(f"line {n}\n" for n in range(1, 41))
# The head changes lines 10 and 30: two hunks, new-file lines 7-13 and 27-33.
SERVICE_HEAD = SERVICE.replace("line 10\n", "line ten\n").replace("line 30\n", "line thirty\n")

THREADS_QUERY = """
query($owner: String!, $name: String!, $number: Int!, $cursor: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: 2, after: $cursor) {
        nodes { id isResolved comments(first: 100) { nodes { id databaseId body author { login } } } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}
"""
UNBOUNDED_QUERY = """
query {
  repository(owner: "acme", name: "widgets") { pullRequest(number: 1) { reviewThreads { totalCount } } }
}
"""
RESOLVE = "mutation($id: ID!) { resolveReviewThread(input: {threadId: $id}) { thread { id isResolved } } }"


@dataclass
class World:
    sim: GitHubSim
    running: RunningSim
    base: str
    head: str
    pr: PullRequest
    installation: Installation

    def client(self, auto_retry: bool = False) -> GitHub[Any]:
        return installation_client(self.running, self.installation, auto_retry=auto_retry)

    def app_client(self) -> GitHub[Any]:
        return GitHub(
            AppAuthStrategy(self.sim.app.id, self.sim.app.private_pem), base_url=self.running.base_url
        )

    def url(self, path: str) -> str:
        return self.running.base_url + path.lstrip("/")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[SimSlot, str]]:
    slot = SimSlot()
    with serving(lambda: slot.sim) as base_url:
        yield slot, base_url


@pytest.fixture
def world(server: tuple[SimSlot, str]) -> World:
    running = server[0].fresh(server[1])
    sim = running.sim
    sim.add_repo(REPO)
    base = sim.commit(REPO, {"app/service.py": SERVICE, "README.md": "hello\n"}, branch="main")
    head = sim.commit(REPO, {"app/service.py": SERVICE_HEAD}, parent=base, branch="feature")
    pr = sim.open_pull(REPO, head, user="alice")
    installation = sim.add_installation(OWNER, [REPO])
    return World(sim, running, base, head, pr, installation)


# Imported for test_github_sim_fixture_gives_a_fresh_sim_each_time (requested by name there).
FIXTURES = (github_sim, github_sim_server)


def test_github_sim_fixture_gives_a_fresh_sim_each_time(request: pytest.FixtureRequest) -> None:
    sim, base_url = request.getfixturevalue("github_sim")
    assert sim.repos == {} and sim.api_url == base_url.rstrip("/")
    answer = httpx.get(base_url + "app")
    assert answer.status_code == 401
    assert [r.status for r in sim.requests] == [401]


def test_running_sim_serves_and_stops() -> None:
    with running_sim() as (sim, base_url):
        answer = httpx.get(base_url + "rate_limit")
        assert (answer.status_code, answer.json()["message"]) == (404, "Not Found")
        assert [(r.method, r.path, r.status) for r in sim.requests] == [("GET", "/rate_limit", 404)]
    with pytest.raises(httpx.ConnectError):
        httpx.get(base_url + "rate_limit")


def app_jwt(world: World, lifetime: int = 540, key: str | None = None) -> str:
    issued = int(time.time()) - 60
    claims = {"iss": str(world.sim.app.id), "iat": issued, "exp": issued + 60 + lifetime}
    return jwt.encode(claims, key or world.sim.app.private_pem, algorithm="RS256")


def raw_token(world: World) -> str:
    """An installation token minted over plain HTTP, for requests githubkit would refuse to send."""
    path = f"app/installations/{world.installation.id}/access_tokens"
    answer = httpx.post(world.url(path), headers={"Authorization": f"Bearer {app_jwt(world)}"})
    assert answer.status_code == 201
    return str(answer.json()["token"])


def items(response: Any) -> list[Any]:
    """A list response's parsed items (githubkit's list annotations confuse mypy)."""
    return list(response.parsed_data)


def review_comment(line: int, **extra: Any) -> dict[str, Any]:
    return {"path": "app/service.py", "line": line, "side": "RIGHT", "body": f"Comment on {line}"} | extra


# -- authentication ------------------------------------------------------------------------------


async def test_token_is_minted_then_rejected_once_expired(world: World) -> None:
    gh = world.client()
    repo = await gh.rest.repos.async_get(OWNER, NAME)
    assert repo.parsed_data.full_name == REPO
    mint = world.sim.requests_matching("POST", "/app/installations/*/access_tokens")
    assert [(r.status, r.auth) for r in mint] == [(201, "jwt")]
    world.sim.expire_tokens()
    with pytest.raises(RequestFailed) as failure:
        await gh.rest.repos.async_get(OWNER, NAME)
    assert failure.value.response.status_code == 401
    assert failure.value.response.json()["message"] == "Bad credentials"
    # A client with its own cache mints a new token and gets through.
    fresh = world.client()
    again = await fresh.rest.repos.async_get(OWNER, NAME)
    assert again.status_code == 200
    assert len(world.sim.requests_matching("POST", "/app/installations/*/access_tokens")) == 2


async def test_app_jwt_must_be_signed_by_the_app_and_short_lived(world: World) -> None:
    app_gh = world.app_client()
    app = await app_gh.rest.apps.async_get_authenticated()
    assert app.parsed_data is not None and app.parsed_data.id == world.sim.app.id
    from tests.github_sim.auth import generate_key_pair

    other_key = generate_key_pair().private_pem
    for token in (app_jwt(world, lifetime=900), app_jwt(world, key=other_key), "not.a.jwt"):
        answer = httpx.get(world.url("app"), headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401
    answer = httpx.get(world.url("app"), headers={"Authorization": f"Bearer {raw_token(world)}"})
    assert answer.status_code == 401


async def test_repo_installation_and_manifest_conversion(world: World) -> None:
    app_gh = world.app_client()
    found = await app_gh.rest.apps.async_get_repo_installation(OWNER, NAME)
    assert found.parsed_data.id == world.installation.id
    created = world.sim.register_manifest_code("code123")
    anonymous = GitHub(base_url=world.running.base_url)
    conversion = (await anonymous.rest.apps.async_create_from_manifest("code123")).parsed_data
    assert (conversion.id, conversion.pem, conversion.webhook_secret) == (
        created.id,
        created.private_pem,
        created.webhook_secret,
    )
    with pytest.raises(RequestFailed) as failure:
        await anonymous.rest.apps.async_create_from_manifest("code123")
    assert failure.value.response.status_code == 404


async def test_token_reaches_only_installed_private_repositories(world: World) -> None:
    world.sim.add_repo("acme/secret", private=True)
    world.sim.add_repo("other/public")
    world.sim.commit("other/public", {"a.txt": "a\n"}, branch="main")
    gh = world.client()
    with pytest.raises(RequestFailed) as failure:
        await gh.rest.repos.async_get("acme", "secret")
    assert failure.value.response.status_code == 404
    assert (await gh.rest.repos.async_get("other", "public")).status_code == 200


async def test_missing_installation_permission_is_403(world: World) -> None:
    world.installation.permissions.pop("checks")
    gh = world.client()
    with pytest.raises(RequestFailed) as failure:
        await gh.rest.checks.async_create(OWNER, NAME, name="Faultline", head_sha=world.head)
    assert failure.value.response.status_code == 403
    assert failure.value.response.json()["message"] == "Resource not accessible by integration"


async def test_unknown_route_is_404_and_bad_token_is_401(world: World) -> None:
    token = raw_token(world)
    answer = httpx.get(
        world.url("repos/acme/widgets/nothing-here"), headers={"Authorization": f"token {token}"}
    )
    assert answer.status_code == 404
    assert answer.json()["message"] == "Not Found"
    answer = httpx.get(world.url("repos/acme/widgets"), headers={"Authorization": "token ghs_unknown"})
    assert (answer.status_code, answer.json()["message"]) == (401, "Bad credentials")


# -- pull requests, files and contents -----------------------------------------------------------


async def test_pull_request_files_paginate_with_link_headers(world: World) -> None:
    sim = world.sim
    head = sim.commit(REPO, {f"pkg/m{n:03}.py": f"x = {n}\n" for n in range(250)}, parent=world.base)
    sim.push(world.pr, head)
    gh = world.client()
    first = await gh.rest.pulls.async_list_files(OWNER, NAME, world.pr.number, per_page=100)
    link = first.headers["link"]
    repo_id = sim.repo(REPO).id
    assert f'/repositories/{repo_id}/pulls/{world.pr.number}/files?per_page=100&page=2>; rel="next"' in link
    assert 'page=3>; rel="last"' in link
    paginator: Any = gh.rest.paginate(
        gh.rest.pulls.async_list_files, owner=OWNER, repo=NAME, pull_number=world.pr.number, per_page=100
    )
    files = [f async for f in paginator]
    assert [f.filename for f in files] == [f"pkg/m{n:03}.py" for n in range(250)]
    pages = sim.requests_matching("GET", f"/repos/{REPO}/pulls/{world.pr.number}/files")
    assert [r.query.get("page") for r in pages] == [None, None, "2", "3"]


async def test_pull_request_file_list_stops_at_3000(world: World) -> None:
    head = world.sim.commit(REPO, {f"f{n:04}.txt": "x\n" for n in range(3005)}, parent=world.base)
    world.sim.push(world.pr, head)
    gh = world.client()
    answer = await gh.rest.pulls.async_list_files(OWNER, NAME, world.pr.number, per_page=100, page=30)
    assert len(answer.parsed_data) == 100
    assert "next" not in answer.headers.get("link", "")


async def test_file_statuses_renames_binary_and_omitted_patch(world: World) -> None:
    sim = world.sim
    files = {
        "README.md": None,
        "docs/README.md": "hello\n",
        "logo.png": b"\x89PNG\0\0",
        "app/service.py": SERVICE_HEAD,
    }
    sim.push(world.pr, sim.commit(REPO, files, parent=world.base))
    world.pr.omit_patch.add("app/service.py")
    gh = world.client()
    listed = items(await gh.rest.pulls.async_list_files(OWNER, NAME, world.pr.number))
    by_name = {f.filename: f for f in listed}
    assert by_name["docs/README.md"].status == "renamed"
    assert by_name["docs/README.md"].previous_filename == "README.md"
    assert by_name["logo.png"].status == "added" and not by_name["logo.png"].patch
    assert by_name["app/service.py"].status == "modified" and not by_name["app/service.py"].patch
    assert (by_name["app/service.py"].additions, by_name["app/service.py"].deletions) == (2, 2)


async def test_pull_request_reports_heads_and_fork(world: World) -> None:
    sim = world.sim
    sim.add_repo("alice/widgets", fork_of=REPO)
    fork_head = sim.commit("alice/widgets", {"app/new.py": "print(1)\n"}, parent=world.base)
    pr = sim.open_pull(REPO, fork_head, head_repo="alice/widgets", head_ref="patch-1", user="alice")
    gh = world.client()
    data = (await gh.rest.pulls.async_get(OWNER, NAME, pr.number)).parsed_data
    assert data.head.repo is not None and data.head.repo.full_name == "alice/widgets"
    assert (data.head.sha, data.base.sha, data.head.label) == (fork_head, world.base, "alice:patch-1")
    # The fork's commit is readable through the base repository, as GitHub serves refs/pull/N/head.
    raw = await gh.rest.repos.async_get_content(
        OWNER, NAME, "app/new.py", ref=fork_head, headers={"Accept": "application/vnd.github.raw"}
    )
    assert raw.content == b"print(1)\n"


async def test_contents_raw_large_directory_and_missing(world: World) -> None:
    big = b"#" * (1024 * 1024 + 10)
    head = world.sim.commit(REPO, {"data/big.txt": big}, parent=world.head)
    gh = world.client()
    small = (await gh.rest.repos.async_get_content(OWNER, NAME, "README.md", ref=head)).parsed_data
    assert getattr(small, "encoding", None) == "base64" and getattr(small, "content", None) == "aGVsbG8K\n"
    large = (await gh.rest.repos.async_get_content(OWNER, NAME, "data/big.txt", ref=head)).parsed_data
    assert (getattr(large, "encoding", None), getattr(large, "content", None)) == ("none", "")
    for accept in ("application/vnd.github.raw", "application/vnd.github.raw+json"):
        raw = await gh.rest.repos.async_get_content(
            OWNER, NAME, "data/big.txt", ref=head, headers={"Accept": accept}
        )
        assert raw.content == big
    listing = (await gh.rest.repos.async_get_content(OWNER, NAME, "", ref=head)).parsed_data
    assert isinstance(listing, list)
    assert sorted((item.name, item.type) for item in listing) == [
        ("README.md", "file"),
        ("app", "dir"),
        ("data", "dir"),
    ]
    for path, ref in (("nope.py", head), ("README.md", "no-such-branch")):
        with pytest.raises(RequestFailed) as failure:
            await gh.rest.repos.async_get_content(OWNER, NAME, path, ref=ref)
        assert failure.value.response.status_code == 404


async def test_git_tree_lists_recursively_with_git_shas(world: World) -> None:
    gh = world.client()
    tree = (await gh.rest.git.async_get_tree(OWNER, NAME, world.head, recursive="1")).parsed_data
    assert [(item.path, item.type) for item in tree.tree] == [
        ("README.md", "blob"),
        ("app", "tree"),
        ("app/service.py", "blob"),
    ]
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    blob = subprocess.run([git, "hash-object", "--stdin"], input=b"hello\n", capture_output=True, check=True)
    assert tree.tree[0].sha == blob.stdout.decode().strip()


# -- reviews and review comments -----------------------------------------------------------------


async def test_review_inside_hunks_is_created_with_threads(world: World) -> None:
    gh = world.client()
    comments = [
        review_comment(10),
        review_comment(29, start_line=27, start_side="RIGHT"),
        review_comment(9, side="LEFT"),
    ]
    review = await gh.rest.pulls.async_create_review(
        OWNER,
        NAME,
        world.pr.number,
        commit_id=world.head,
        event="COMMENT",
        body="Two risks",
        comments=comments,
    )
    assert review.parsed_data.state == "COMMENTED"
    assert review.parsed_data.user is not None and review.parsed_data.user.login == "faultline[bot]"
    stored = world.sim.review_comments(world.pr)
    assert [(c.line, c.side, c.start_line) for c in stored] == [
        (10, "RIGHT", None),
        (29, "RIGHT", 27),
        (9, "LEFT", None),
    ]
    assert len(world.sim.threads(world.pr)) == 3
    listed = items(await gh.rest.pulls.async_list_review_comments(OWNER, NAME, world.pr.number))
    assert [c.line for c in listed] == [10, 29, 9]
    assert listed[0].diff_hunk.splitlines()[-1] == "+line ten"
    assert listed[0].position == 5  # below the header: 3 context lines, -line 10, +line ten


async def test_review_with_one_line_outside_hunks_creates_nothing(world: World) -> None:
    comments = [review_comment(10), review_comment(20)]
    gh = world.client()
    with pytest.raises(RequestFailed) as failure:
        await gh.rest.pulls.async_create_review(
            OWNER, NAME, world.pr.number, commit_id=world.head, event="COMMENT", body="x", comments=comments
        )
    assert failure.value.response.status_code == 422
    assert failure.value.response.json()["errors"] == ["Line could not be resolved"]
    assert world.sim.reviews(world.pr) == []
    assert world.sim.review_comments(world.pr) == []
    assert world.sim.threads(world.pr) == []


@pytest.mark.parametrize(
    ("comment", "error"),
    [
        (
            review_comment(12, start_line=12),
            "Pull request review thread start line must precede the end line.",
        ),
        (
            review_comment(12, start_line=13),
            "Pull request review thread start line must precede the end line.",
        ),
        (
            review_comment(28, start_line=12),
            "Pull request review thread start line must be part of the same hunk as the line.",
        ),
        (review_comment(12, start_line=3), "Line could not be resolved"),
        ({"path": "nope.py", "line": 1, "body": "x"}, "Path could not be resolved"),
    ],
)
async def test_review_comment_placement_errors(world: World, comment: dict[str, Any], error: str) -> None:
    gh = world.client()
    with pytest.raises(RequestFailed) as failure:
        await gh.rest.pulls.async_create_review(
            OWNER, NAME, world.pr.number, commit_id=world.head, event="COMMENT", body="x", comments=[comment]
        )
    assert (failure.value.response.status_code, failure.value.response.json()["errors"]) == (422, [error])
    assert world.sim.reviews(world.pr) == []


async def test_refused_lines_reject_a_review_inside_hunks(world: World) -> None:
    world.sim.refuse_lines(REPO, "app/service.py", {10})
    gh = world.client()
    with pytest.raises(RequestFailed) as failure:
        await gh.rest.pulls.async_create_review(
            OWNER, NAME, world.pr.number, event="COMMENT", body="x", comments=[review_comment(10)]
        )
    assert failure.value.response.json()["errors"] == ["Line could not be resolved"]
    created = await gh.rest.pulls.async_create_review(
        OWNER, NAME, world.pr.number, event="COMMENT", body="x", comments=[review_comment(11)]
    )
    assert created.status_code == 200


async def test_single_comment_reply_update_and_delete(world: World) -> None:
    gh = world.client()
    with pytest.raises(RequestFailed) as failure:
        await gh.rest.pulls.async_create_review_comment(
            OWNER, NAME, world.pr.number, body="x", commit_id=world.head, path="app/service.py", line=20
        )
    assert (
        failure.value.response.json()["errors"][0]["message"]
        == "pull_request_review_thread.line must be part of the diff"
    )
    first = await gh.rest.pulls.async_create_review_comment(
        OWNER, NAME, world.pr.number, body="Risky", commit_id=world.head, path="app/service.py", line=30
    )
    reply = await gh.rest.pulls.async_create_review_comment(
        OWNER,
        NAME,
        world.pr.number,
        body="Fixed?",
        commit_id=world.head,
        path="app/service.py",
        in_reply_to=first.parsed_data.id,
    )
    assert reply.parsed_data.in_reply_to_id == first.parsed_data.id
    (thread,) = world.sim.threads(world.pr)
    assert thread.comment_ids == [first.parsed_data.id, reply.parsed_data.id]
    await gh.rest.pulls.async_update_review_comment(OWNER, NAME, reply.parsed_data.id, body="Edited")
    assert world.sim.comment_records[reply.parsed_data.id].body == "Edited"
    await gh.rest.pulls.async_delete_review_comment(OWNER, NAME, reply.parsed_data.id)
    assert thread.comment_ids == [first.parsed_data.id]


# -- check runs ----------------------------------------------------------------------------------


def annotation(line: int) -> dict[str, Any]:
    return {
        "path": "app/service.py",
        "start_line": line,
        "end_line": line,
        "annotation_level": "warning",
        "message": "m",
    }


async def test_check_run_lifecycle_and_annotations(world: World) -> None:
    gh = world.client()
    created = await gh.rest.checks.async_create(
        OWNER, NAME, name="Faultline", head_sha=world.head, status="in_progress"
    )
    run_id = created.parsed_data.id
    for batch in (range(1, 51), range(51, 61)):
        output: dict[str, Any] = {
            "title": "2 risks",
            "summary": "s",
            "annotations": [annotation(n) for n in batch],
        }
        await gh.rest.checks.async_update(OWNER, NAME, run_id, output=cast(Any, output))
    done = await gh.rest.checks.async_update(
        OWNER, NAME, run_id, conclusion="neutral", output={"summary": "done"}
    )
    assert (done.parsed_data.status, done.parsed_data.conclusion) == ("completed", "neutral")
    assert done.parsed_data.output.annotations_count == 60
    annotations = [
        a
        async for a in gh.rest.paginate(
            gh.rest.checks.async_list_annotations, owner=OWNER, repo=NAME, check_run_id=run_id
        )
    ]
    assert [a.start_line for a in annotations] == list(range(1, 61))
    listed = (await gh.rest.checks.async_list_for_ref(OWNER, NAME, "feature")).parsed_data
    assert [(r.id, r.name) for r in listed.check_runs] == [(run_id, "Faultline")]
    (pull,) = listed.check_runs[0].pull_requests
    assert pull.number == world.pr.number
    (run,) = world.sim.check_runs(REPO, world.head)
    assert (run.summary, run.title, len(run.annotations)) == ("done", "2 risks", 60)


@pytest.mark.parametrize(
    ("output", "status", "message"),
    [
        (
            {"title": "t", "summary": "s", "annotations": [annotation(1)] * 51},
            None,
            "No more than 50 items are allowed; 51 were supplied.",
        ),
        (
            {"title": "t", "summary": "x" * 65536},
            None,
            "Only 65535 characters are allowed; 65536 were supplied.",
        ),
        (
            {"title": "t", "summary": "s", "text": "x" * 65536},
            None,
            "Only 65535 characters are allowed; 65536 were supplied.",
        ),
        (
            {"title": "t", "summary": "s", "annotations": [{"path": "a.py"}]},
            None,
            '"start_line", "end_line", "annotation_level", "message" weren\'t supplied.',
        ),
        ({"title": "t", "summary": "s"}, "completed", '"conclusion" wasn\'t supplied.'),
    ],
)
async def test_check_run_limits_reject_without_creating(
    world: World, output: dict[str, Any], status: str | None, message: str
) -> None:
    body: dict[str, Any] = {"name": "Faultline", "head_sha": world.head, "output": output}
    if status:
        body["status"] = status
    headers = {"Authorization": f"token {raw_token(world)}"}
    answer = httpx.post(world.url(f"repos/{REPO}/check-runs"), json=body, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["message"] == f"Invalid request.\n\n{message}"
    assert world.sim.check_runs() == []


async def test_check_run_summary_limit_counts_bytes_too(world: World) -> None:
    body = {"name": "Faultline", "head_sha": world.head, "output": {"title": "t", "summary": "🔥" * 20000}}
    answer = httpx.post(
        world.url(f"repos/{REPO}/check-runs"),
        json=body,
        headers={"Authorization": f"token {raw_token(world)}"},
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["message"] == "summary exceeds a maximum bytesize of 65535"


async def test_check_run_for_unknown_commit_is_422(world: World) -> None:
    gh = world.client()
    with pytest.raises(RequestFailed) as failure:
        await gh.rest.checks.async_create(OWNER, NAME, name="Faultline", head_sha="f" * 40)
    assert failure.value.response.status_code == 422


# -- GraphQL review threads ----------------------------------------------------------------------


async def test_graphql_lists_threads_by_page_and_resolves_one(world: World) -> None:
    for line in (10, 11, 30):
        add_thread(world.sim, world.pr, "bob", "app/service.py", line)
    gh = world.client()
    variables = {"owner": OWNER, "name": NAME, "number": world.pr.number}
    pages = [page async for page in gh.graphql.paginate(THREADS_QUERY, variables)]
    threads = [n for page in pages for n in page["repository"]["pullRequest"]["reviewThreads"]["nodes"]]
    assert len(pages) == 2 and len(threads) == 3
    first = threads[0]["comments"]["nodes"][0]
    assert (first["author"]["login"], first["body"]) == ("bob", "Looks risky")
    resolved = await gh.graphql.arequest(RESOLVE, {"id": threads[1]["id"]})
    assert resolved["resolveReviewThread"]["thread"] == {"id": threads[1]["id"], "isResolved": True}
    assert [t.is_resolved for t in world.sim.threads(world.pr)] == [False, True, False]


async def test_graphql_bot_login_has_no_bot_suffix(world: World) -> None:
    gh = world.client()
    await gh.rest.pulls.async_create_review(
        OWNER, NAME, world.pr.number, event="COMMENT", body="b", comments=[review_comment(10)]
    )
    data = await gh.graphql.arequest(THREADS_QUERY, {"owner": OWNER, "name": NAME, "number": world.pr.number})
    (thread,) = data["repository"]["pullRequest"]["reviewThreads"]["nodes"]
    assert thread["comments"]["nodes"][0]["author"]["login"] == "faultline"


async def test_graphql_errors_are_reported(world: World) -> None:
    gh = world.client()
    with pytest.raises(GraphQLFailed, match="Could not resolve to a node"):
        await gh.graphql.arequest(RESOLVE, {"id": "PRRT_missing"})
    with pytest.raises(GraphQLFailed, match="must provide a `first` or `last`"):
        await gh.graphql.arequest(UNBOUNDED_QUERY)
    with pytest.raises(GraphQLFailed, match="Could not resolve to a Repository"):
        await gh.graphql.arequest(THREADS_QUERY, {"owner": "acme", "name": "nope", "number": 1})


# -- permissions, issue comments, reactions ------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "private", "permission"),
    [
        ("admin", False, "admin"),
        ("maintain", False, "write"),
        ("write", False, "write"),
        ("triage", False, "read"),
        ("read", False, "read"),
        (None, False, "read"),
        (None, True, "none"),
    ],
)
async def test_collaborator_permission(
    world: World, role: str | None, private: bool, permission: str
) -> None:
    world.sim.repo(REPO).private = private
    world.sim.add_user("carol")
    if role:
        world.sim.add_collaborator(REPO, "carol", role)
    gh = world.client()
    answer = (await gh.rest.repos.async_get_collaborator_permission_level(OWNER, NAME, "carol")).parsed_data
    assert (answer.permission, answer.role_name) == (permission, role or permission)
    assert answer.user is not None and answer.user.login == "carol"


async def test_permission_of_unknown_user_is_404(world: World) -> None:
    gh = world.client()
    with pytest.raises(RequestFailed) as failure:
        await gh.rest.repos.async_get_collaborator_permission_level(OWNER, NAME, "ghost")
    assert failure.value.response.status_code == 404


async def test_issue_comments_and_reactions(world: World) -> None:
    gh = world.client()
    command = world.sim.add_issue_comment(REPO, world.pr.number, "/faultline recheck", "bob")
    first = await gh.rest.reactions.async_create_for_issue_comment(OWNER, NAME, command.id, content="eyes")
    again = await gh.rest.reactions.async_create_for_issue_comment(OWNER, NAME, command.id, content="eyes")
    assert (first.status_code, again.status_code, again.parsed_data.id) == (201, 200, first.parsed_data.id)
    listed = (await gh.rest.reactions.async_list_for_issue_comment(OWNER, NAME, command.id)).parsed_data
    assert [(r.content, r.user and r.user.login) for r in listed] == [("eyes", "faultline[bot]")]
    answer = httpx.post(
        world.url(f"repos/{REPO}/issues/comments/{command.id}/reactions"),
        json={"content": "party"},
        headers={"Authorization": f"token {raw_token(world)}"},
    )
    assert answer.status_code == 422
    posted = await gh.rest.issues.async_create_comment(OWNER, NAME, world.pr.number, body="Summary")
    assert posted.parsed_data.performed_via_github_app is not None
    await gh.rest.issues.async_update_comment(OWNER, NAME, posted.parsed_data.id, body="Summary v2")
    assert [c.body for c in world.sim.issue_comments(REPO, world.pr.number)] == [
        "/faultline recheck",
        "Summary v2",
    ]


# -- failure switches and hooks ------------------------------------------------------------------


async def test_failure_switches(world: World) -> None:
    gh = world.client()
    pattern = f"/repos/{REPO}/pulls/*"
    world.sim.fail("GET", pattern)
    with pytest.raises(RequestFailed) as failure:
        await gh.rest.pulls.async_get(OWNER, NAME, world.pr.number)
    assert failure.value.response.status_code == 502
    world.sim.rate_limit("GET", pattern)
    with pytest.raises(SecondaryRateLimitExceeded) as limited:
        await gh.rest.pulls.async_get(OWNER, NAME, world.pr.number)
    assert limited.value.retry_after.total_seconds() == 1
    world.sim.primary_rate_limit("GET", pattern)
    with pytest.raises(PrimaryRateLimitExceeded):
        await gh.rest.pulls.async_get(OWNER, NAME, world.pr.number)
    world.sim.reject("POST", f"/repos/{REPO}/check-runs")
    with pytest.raises(RequestFailed) as rejected:
        await gh.rest.checks.async_create(OWNER, NAME, name="Faultline", head_sha=world.head)
    assert rejected.value.response.status_code == 422
    assert (await gh.rest.pulls.async_get(OWNER, NAME, world.pr.number)).status_code == 200
    statuses = [r.status for r in world.sim.requests_matching("GET", pattern)]
    assert statuses == [502, 403, 403, 200]


def test_random_faults_are_repeatable_for_a_seed(world: World) -> None:
    pattern = f"/repos/{REPO}/pulls/*"
    statuses = []
    headers = {"Authorization": f"token {raw_token(world)}"}
    for _round in range(2):
        world.sim.clear_rules()
        rule = world.sim.random_faults(0.5, seed=7, method="GET", pattern=pattern)
        with httpx.Client(headers=headers) as client:
            answers = [client.get(world.url(f"/repos/{REPO}/pulls/{world.pr.number}")) for _ in range(40)]
        statuses.append([answer.status_code for answer in answers])
        assert sum(rule.injected.values()) == sum(1 for answer in answers if answer.status_code != 200)
        limited = [answer for answer in answers if answer.status_code in (403, 429)]
        assert all(answer.headers["retry-after"] == "1" for answer in limited)
    assert statuses[0] == statuses[1]
    assert {502, 403, 429, 200} == set(statuses[0])


async def test_githubkit_retries_a_single_502(world: World) -> None:
    world.sim.fail("GET", f"/repos/{REPO}", times=1)
    gh = world.client(auto_retry=True)
    answer = await gh.rest.repos.async_get(OWNER, NAME)
    assert answer.status_code == 200
    assert [r.status for r in world.sim.requests_matching("GET", f"/repos/{REPO}")] == [502, 200]


async def test_hook_moves_the_head_between_requests(world: World) -> None:
    newer = world.sim.commit(REPO, {"late.py": "x = 1\n"}, parent=world.head)

    def move_head(sim: GitHubSim) -> None:
        sim.push(world.pr, newer)

    world.sim.on_request("GET", f"/repos/{REPO}/pulls/*/files", move_head)
    gh = world.client()
    before = (await gh.rest.pulls.async_get(OWNER, NAME, world.pr.number)).parsed_data.head.sha
    files = items(await gh.rest.pulls.async_list_files(OWNER, NAME, world.pr.number))
    after = (await gh.rest.pulls.async_get(OWNER, NAME, world.pr.number)).parsed_data.head.sha
    assert (before, after) == (world.head, newer)
    assert "late.py" in {f.filename for f in files}


# -- webhooks and diffs --------------------------------------------------------------------------


def test_the_webhook_examples_are_in_the_repository() -> None:
    root = Path(__file__).resolve().parent.parent
    assert WEBHOOKS_DIR.is_relative_to(root)
    assert len(list(WEBHOOKS_DIR.glob("*.json"))) == 17


def test_every_example_payload_parses_once_completed() -> None:
    names = sorted(path.stem for path in WEBHOOKS_DIR.glob("*.json"))
    assert "pull_request.opened" in names
    for name in names:
        parse_obj(name.split(".")[0], fill_missing(load_payload(name), installation_id=7))


def test_sim_payloads_parse_and_verify() -> None:
    sim = GitHubSim()
    sim.add_repo(REPO)
    base = sim.commit(REPO, {"a.py": "x = 1\n"}, branch="main")
    head = sim.commit(REPO, {"a.py": "x = 2\n"}, parent=base)
    pr = sim.open_pull(REPO, head)
    installation = sim.add_installation(OWNER, [REPO])
    comment = sim.add_issue_comment(REPO, pr.number, "/faultline recheck", "bob")
    from tests.github_sim.records import CheckRun, now

    run = CheckRun(
        1,
        sim.repo(REPO),
        sim.app,
        "Faultline",
        head,
        "CR_1",
        "completed",
        "success",
        now(),
        now(),
        None,
        None,
    )
    sim.check_run_records[run.id] = run
    payloads = [
        ("pull_request", pull_request_payload(sim, pr, "synchronize", installation, before=base)),
        ("issue_comment", issue_comment_payload(sim, comment, "created", installation)),
        ("check_run", check_run_payload(sim, run, "rerequested", installation)),
        ("check_suite", check_suite_payload(sim, sim.repo(REPO), head, "requested", installation)),
        ("installation", installation_payload(sim, installation)),
    ]
    for event, payload in payloads:
        parsed = parse_obj(event, payload)
        assert cast(Any, parsed).installation.id == installation.id
        headers, body = delivery(event, payload, sim.app.webhook_secret, sim.app)
        assert verify(sim.app.webhook_secret, body, headers["X-Hub-Signature-256"])
    assert payloads[0][1]["after"] == head and payloads[0][1]["pull_request"]["head"]["sha"] == head
    assert payloads[1][1]["issue"]["pull_request"]["url"].endswith(f"/pulls/{pr.number}")


def test_patch_matches_git_diff(tmp_path: Path) -> None:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    old = "".join(f"def f{n}():\n" if n % 7 == 0 else f"    line {n}\n" for n in range(60))
    new = old.replace("    line 10\n", "").replace("    line 40\n", "    changed\n") + "tail"
    (tmp_path / "old").write_text(old)
    (tmp_path / "new").write_text(new)
    result = subprocess.run(
        [git, "diff", "--no-index", "old", "new"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    expected = result.stdout.split("\n", 4)[4].rstrip("\n")
    assert file_change("x", old.encode(), new.encode()).patch == expected
