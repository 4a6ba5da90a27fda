"""The analysis job end to end: ``run_job`` against the GitHub simulator over HTTP,
each test asserting what the simulator holds afterwards."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from githubkit.exception import RequestFailed

from faultline.analyzers.core.context import Context
from faultline.analyzers.core.findings import Hit, Severity
from faultline.analyzers.core.registry import all_rules
from faultline.analyzers.core.rule import Rule
from faultline.analyzers.core.source import SourceFile
from faultline.app.github.checks import CheckRuns
from faultline.app.github.client import InstallationClient, TransientGitHubError
from faultline.app.render.comment import fingerprint_in
from faultline.app.review.job import give_up
from tests.app.sim_fixtures import FULL_NAME, OWNER, REPO, World, sim_world
from tests.github_sim import CheckRun, GitHubSim, PullRequest
from tests.github_sim.faults import SECONDARY_RATE_LIMIT
from tests.github_sim.reviews import reply

# These tests follow the job, not the comment policy (tests/app/test_comment_policy.py):
# every finding of RISKY, its notice too, is commented inline.
EVERY_FINDING_INLINE = {".github/faultline.yml": "comment_on: notice\n"}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with sim_world(tmp_path) as made:
        made.main_sha = made.sim.commit(FULL_NAME, EVERY_FINDING_INLINE, parent=made.main_sha, branch="main")
        yield made


AUTH = """\
from fastapi import HTTPException


def current_user(token):
    try:
        payload = decode(token)
        return session.get(User, payload["sub"])
    except (JWTError, Exception):
        raise HTTPException(status_code=401)
"""
AUTH_FIXED = AUTH.replace(
    "    except (JWTError, Exception):\n        raise HTTPException(status_code=401)\n",
    "    except JWTError as err:\n        raise HTTPException(status_code=401) from err\n",
)
DB = """\
from sqlalchemy import create_engine

url = settings.database_url
engine = create_engine(url, pool_size=20)
"""
MODELS = """\
from sqlalchemy.orm import relationship


class Project(Base):
    __tablename__ = "projects"
    id = Column(Integer, primary_key=True)
    canvases = relationship("Canvas", cascade="all, delete-orphan")
"""
CLEAN = "def add(a, b):\n    return a + b\n"
RISKY = {"app/auth.py": AUTH, "app/db.py": DB, "app/models.py": MODELS}
# Where each risk is: the line of the statement the rule reports.
RISK_LINES = {("app/auth.py", 8), ("app/db.py", 4), ("app/models.py", 7)}
PADDING = "".join(f"# note {n}\n" for n in range(10))


def the_run(world: World, sha: str) -> CheckRun:
    runs = world.sim.check_runs(FULL_NAME, sha)
    assert len(runs) == 1, [(r.status, r.conclusion) for r in runs]
    return runs[0]


def comment_spots(world: World, pull: PullRequest) -> set[tuple[str, int | None]]:
    return {(c.path, c.line) for c in world.sim.review_comments(pull)}


def bot_comments(world: World, pull: PullRequest) -> list[str]:
    return [c.body for c in world.sim.review_comments(pull) if c.user.login == "faultline[bot]"]


def annotation_spots(run: CheckRun) -> set[tuple[str, int]]:
    return {(a["path"], a["start_line"]) for a in run.annotations}


def title_from_annotations(run: CheckRun) -> str:
    """The title the check must have, counted from its annotations: the two must agree."""
    levels = Counter(a["annotation_level"] for a in run.annotations)
    words = [("failure", "error"), ("warning", "warning"), ("notice", "notice")]
    parts = [
        f"{levels[level]} {word}{'s' if levels[level] > 1 else ''}" for level, word in words if levels[level]
    ]
    total = len(run.annotations)
    return f"{total} risk{'s' if total > 1 else ''} found ({', '.join(parts)})"


def padded(files: dict[str, str]) -> dict[str, str]:
    """Every file with ten lines inserted on top: the same findings, ten lines lower."""
    return {path: PADDING + text for path, text in files.items()}


@pytest.fixture
def risky(world: World) -> Iterator[PullRequest]:
    """A pull request with three risks, analysed once."""
    pull = world.open_pull(RISKY)
    world.run(pull)
    yield pull


# -- opened, clean, synchronize ------------------------------------------------------------------


def test_opened_pull_gets_one_review_with_three_comments_and_a_failing_check(
    world: World, risky: PullRequest
) -> None:
    reviews = world.sim.reviews(risky)
    assert len(reviews) == 1
    assert reviews[0].state == "COMMENTED" and reviews[0].commit_id == risky.head_sha
    comments = world.sim.review_comments(risky)
    assert comment_spots(world, risky) == RISK_LINES
    assert all(c.side == "RIGHT" and c.start_line is None for c in comments)
    assert all(fingerprint_in(c.body) for c in comments)
    auth = next(c for c in comments if c.path == "app/auth.py")
    assert "FL001 broad-except" in auth.body and "```suggestion\n    except JWTError:\n```" in auth.body
    run = the_run(world, risky.head_sha)
    assert (run.name, run.status, run.conclusion) == ("Faultline", "completed", "failure")
    assert annotation_spots(run) == RISK_LINES
    assert run.title == title_from_annotations(run)
    assert run.title.startswith("3 risks found (1 error, ")
    assert run.summary is not None and "Each finding is commented inline" in run.summary


def test_clean_pull_succeeds_without_a_review(world: World) -> None:
    pull = world.open_pull({"app/math.py": CLEAN})
    world.run(pull)
    run = the_run(world, pull.head_sha)
    assert (run.status, run.conclusion, run.title) == ("completed", "success", "No risks found")
    assert run.annotations == []
    assert world.sim.reviews(pull) == []


def test_moved_findings_get_no_new_comments(world: World, risky: PullRequest) -> None:
    head = world.push(risky, padded(RISKY))
    world.run(risky, "pull_request.synchronize")
    assert len(world.sim.reviews(risky)) == 1
    assert len(world.sim.review_comments(risky)) == 3
    run = the_run(world, head)
    assert run.conclusion == "failure" and len(run.annotations) == 3
    assert annotation_spots(run) == {(path, line + 10) for path, line in RISK_LINES}
    assert run.summary is not None and "Each finding is commented inline" in run.summary
    assert not any(t.is_resolved for t in world.sim.threads(risky))


def test_fixed_finding_has_its_thread_resolved_and_kept(world: World, risky: PullRequest) -> None:
    auth = next(c for c in world.sim.review_comments(risky) if c.path == "app/auth.py")
    reply(world.sim, auth, world.sim.add_user("bob"), "Good catch, fixing.")
    head = world.push(risky, {"app/auth.py": AUTH_FIXED})
    world.run(risky, "pull_request.synchronize")
    threads = {world.sim.comment_records[t.comment_ids[0]].path: t for t in world.sim.threads(risky)}
    assert threads["app/auth.py"].is_resolved
    assert not threads["app/db.py"].is_resolved and not threads["app/models.py"].is_resolved
    assert len(threads["app/auth.py"].comment_ids) == 2  # the human reply is still there
    assert len(world.sim.review_comments(risky)) == 4 and len(world.sim.reviews(risky)) == 2  # 1 + the reply
    run = the_run(world, head)
    assert run.conclusion == "success"  # the error is gone; the others are below fail_on
    assert len(run.annotations) == 2 and run.title == title_from_annotations(run)


def test_finding_gone_with_no_file_left_to_check_has_its_thread_resolved(world: World) -> None:
    pull = world.open_pull({"app/auth.py": AUTH, "README.md": "# shop\nmore\n"})
    world.run(pull)
    assert comment_spots(world, pull) == {("app/auth.py", 8)}
    head = world.push(pull, {"app/auth.py": None})  # the pull request now changes README.md only
    world.run(pull, "pull_request.synchronize")
    assert the_run(world, head).title == "No files to check"
    assert [t.is_resolved for t in world.sim.threads(pull)] == [True]


def test_finding_back_after_a_fix_has_its_thread_reopened(world: World, risky: PullRequest) -> None:
    world.push(risky, {"app/auth.py": AUTH_FIXED})
    world.run(risky, "pull_request.synchronize")
    head = world.push(risky, {"app/auth.py": AUTH})  # the risk is back
    world.run(risky, "pull_request.synchronize")
    assert not any(t.is_resolved for t in world.sim.threads(risky))
    assert len(world.sim.review_comments(risky)) == 3  # the old thread reopened, no new comment
    run = the_run(world, head)
    assert run.summary is not None and "Each finding is commented inline" in run.summary


def test_finding_a_human_resolved_stays_resolved(world: World, risky: PullRequest) -> None:
    auth = next(
        t
        for t in world.sim.threads(risky)
        if world.sim.comment_records[t.comment_ids[0]].path == "app/auth.py"
    )
    auth.is_resolved, auth.resolved_by = True, world.sim.add_user("bob")
    world.push(risky, padded(RISKY))
    world.run(risky, "pull_request.synchronize")
    assert auth.is_resolved and len(world.sim.review_comments(risky)) == 3


def start_check(world: World, sha: str, delivery: str) -> None:
    """A check run left in progress by a run that was cut short (the process stopped)."""

    async def go() -> None:
        async with InstallationClient(world.settings, world.installation.id) as client:
            await CheckRuns(client, OWNER, REPO, world.settings.app_id).start_check(sha, delivery)

    asyncio.run(go())


def test_a_retried_delivery_completes_the_check_run_it_started(world: World) -> None:
    pull = world.open_pull(RISKY)
    start_check(world, pull.head_sha, "delivery-1")
    world.run(pull)  # delivery-1 again
    run = the_run(world, pull.head_sha)
    assert (run.status, run.conclusion) == ("completed", "failure")


def test_a_check_run_left_in_progress_by_another_run_is_cancelled(world: World) -> None:
    pull = world.open_pull(RISKY)
    start_check(world, pull.head_sha, "delivery-0")
    world.run(pull)
    runs = world.sim.check_runs(FULL_NAME, pull.head_sha)
    assert [(r.status, r.conclusion) for r in runs] == [("completed", "cancelled"), ("completed", "failure")]
    assert runs[0].title == "Interrupted"


# -- /recheck and re-run -------------------------------------------------------------------------


def test_recheck_by_a_writer_runs_again(world: World, risky: PullRequest) -> None:
    world.sim.add_collaborator(FULL_NAME, "carol", "write")
    comment = world.sim.add_issue_comment(FULL_NAME, risky.number, "/recheck", user="carol")
    world.run(risky, "issue_comment.recheck", head_sha=None, comment_id=comment.id, comment_author="carol")
    runs = world.sim.check_runs(FULL_NAME, risky.head_sha)
    assert [r.conclusion for r in runs] == ["failure", "failure"]
    assert [r.content for r in world.sim.reactions(comment.id)] == ["eyes", "rocket"]
    assert len(world.sim.review_comments(risky)) == 3  # nothing posted twice


def test_recheck_by_a_reader_is_refused(world: World, risky: PullRequest) -> None:
    world.sim.add_collaborator(FULL_NAME, "dave", "read")
    comment = world.sim.add_issue_comment(FULL_NAME, risky.number, "/recheck", user="dave")
    world.run(risky, "issue_comment.recheck", head_sha=None, comment_id=comment.id, comment_author="dave")
    assert [r.content for r in world.sim.reactions(comment.id)] == ["confused"]
    assert len(world.sim.check_runs(FULL_NAME, risky.head_sha)) == 1


def test_recheck_by_the_author_of_a_fork_pull_request(world: World) -> None:
    world.sim.add_repo("bob/shop", fork_of=FULL_NAME)
    pull = world.open_pull(RISKY, user="bob", head_repo="bob/shop")
    comment = world.sim.add_issue_comment(FULL_NAME, pull.number, "/recheck", user="bob")
    world.run(pull, "issue_comment.recheck", head_sha=None, comment_id=comment.id, comment_author="bob")
    assert [r.content for r in world.sim.reactions(comment.id)] == ["eyes", "rocket"]
    assert comment_spots(world, pull) == RISK_LINES
    assert the_run(world, pull.head_sha).conclusion == "failure"


def test_rerun_of_a_check_with_only_a_sha_finds_the_pull_request(world: World, risky: PullRequest) -> None:
    world.run(risky, "check_run.rerequested", pull_number=None)
    runs = world.sim.check_runs(FULL_NAME, risky.head_sha)
    assert [r.conclusion for r in runs] == ["failure", "failure"]  # a new check run, the old one kept
    assert len(world.sim.review_comments(risky)) == 3


# -- GitHub refusing, limits -------------------------------------------------------------------


def test_comments_github_refuses_go_to_the_summary(world: World) -> None:
    # A stacked pull request: its first commit adds app/db.py. Between the job's reading of the
    # diff and its review, the pull request is retargeted onto that commit's branch: GitHub's
    # diff no longer has app/db.py and refuses the comment there.
    lower = world.commit({"app/db.py": DB})
    head = world.commit({"app/auth.py": AUTH, "app/models.py": MODELS}, parent=lower)
    pull = world.sim.open_pull(FULL_NAME, head)

    def move_base(sim: GitHubSim) -> None:
        pull.base_sha = lower

    world.sim.on_request("POST", f"/repos/{FULL_NAME}/pulls/1/reviews", move_base)
    world.run(pull)
    assert comment_spots(world, pull) == RISK_LINES - {("app/db.py", 4)}
    run = the_run(world, pull.head_sha)
    assert len(run.annotations) == 3 and run.title == title_from_annotations(run)
    assert run.summary is not None
    assert "2 of 3 are commented inline" in run.summary
    assert (
        "GitHub refused the comment (1):\n\n- **warning** FL004 hardcoded-pool-size, [`app/db.py` line 4]"
        in run.summary
    )
    reviews = world.sim.requests_matching("POST", f"/repos/{FULL_NAME}/pulls/1/reviews")
    # Refused whole; the diff read again shows app/db.py gone; the others posted in one review.
    assert [r.status for r in reviews] == [422, 200]
    (review,) = world.sim.reviews(pull)
    assert "comments on 2 of them below" in review.body


@pytest.mark.parametrize("every", [8, 4])
def test_comments_github_refuses_alone_go_to_the_summary_the_rest_in_one_review(
    world: World, every: int
) -> None:
    head = "from sqlalchemy import create_engine\n\n"
    files = {f"app/pool_{n}.py": head + f"e = create_engine(url, pool_size={n + 1})\n" for n in range(24)}
    pull = world.open_pull(files)
    refused = {f"app/pool_{n}.py" for n in range(0, 24, every)}
    for path in refused:
        world.sim.refuse_lines(FULL_NAME, path, [3])
    world.run(pull)
    assert {c.path for c in world.sim.review_comments(pull)} == set(files) - refused
    (review,) = world.sim.reviews(pull)
    posted = 24 - len(refused)
    assert f"comments on {posted} of them below" in review.body
    run = the_run(world, pull.head_sha)
    assert run.summary is not None and f"GitHub refused the comment ({len(refused)}):" in run.summary
    assert f"{posted} of 24 are commented inline" in run.summary


def test_sixty_findings_give_25_comments_and_60_annotations(world: World) -> None:
    pools = [f"e{n} = create_engine(url, pool_size={n + 1})\n" for n in range(59)]
    head = "from sqlalchemy import create_engine\n\n"
    files = {f"app/pool_{n}.py": head + "".join(pools[n * 2 : n * 2 + 2]) for n in range(30)}  # 59 warnings
    files["app/auth.py"] = AUTH  # and one error
    files.update({f"docs/page_{n}.md": f"page {n}\n" for n in range(90)})  # 120 files: two pages
    pull = world.open_pull(files)
    world.run(pull)
    run = the_run(world, pull.head_sha)
    assert len(run.annotations) == 60
    patches = world.sim.requests_matching("PATCH", f"/repos/{FULL_NAME}/check-runs/*")
    assert [len(p.body["output"]["annotations"]) for p in patches] == [50, 10]
    comments = world.sim.review_comments(pull)
    assert len(comments) == 25 and len(world.sim.reviews(pull)) == 1
    assert any(c.path == "app/auth.py" for c in comments)  # the error first
    assert run.title == title_from_annotations(run)
    assert run.title.startswith("60 risks found (1 error, ")
    assert run.summary is not None and "25 of 60 are commented inline" in run.summary
    assert "Over the limit of 25 inline comments (35):" in run.summary
    assert run.summary.count("\n- **warning** FL004") == 35


def test_config_limits_the_comments(world: World) -> None:
    world.main_sha = world.commit({".github/faultline.yml": "max_comments: 1\nfail_on: never\n"})
    world.sim.set_branch(FULL_NAME, "main", world.main_sha)
    pull = world.open_pull(RISKY)
    world.run(pull)
    assert comment_spots(world, pull) == {("app/auth.py", 8)}  # the error wins the one slot
    run = the_run(world, pull.head_sha)
    assert run.conclusion == "success" and len(run.annotations) == 3


# -- head moved, config, closed -------------------------------------------------------------------


def test_head_moved_before_the_job_ran(world: World) -> None:
    pull = world.open_pull(RISKY)
    old = pull.head_sha
    new = world.push(pull, {"README.md": "# shop, again\n"})
    world.run(pull, head_sha=old)
    run = the_run(world, old)
    assert (run.status, run.conclusion) == ("completed", "cancelled")
    assert run.summary is not None and new[:7] in run.summary
    assert world.sim.reviews(pull) == [] and world.sim.check_runs(FULL_NAME, new) == []


def test_head_moved_while_the_job_ran(world: World) -> None:
    pull = world.open_pull(RISKY)
    old = pull.head_sha
    new = world.commit({"README.md": "# shop, again\n"}, parent=old)

    def push(sim: GitHubSim) -> None:
        sim.push(pull, new)

    world.sim.on_request("GET", f"/repos/{FULL_NAME}/pulls/1/files", push)
    world.run(pull, head_sha=old)
    run = the_run(world, old)
    assert (run.status, run.conclusion) == ("completed", "cancelled")
    assert world.sim.reviews(pull) == []


def test_invalid_config_fails_the_check_and_names_the_key(world: World) -> None:
    world.main_sha = world.commit({".github/faultline.yml": "max_coments: 3\n"})
    world.sim.set_branch(FULL_NAME, "main", world.main_sha)
    pull = world.open_pull(RISKY)
    world.run(pull)
    run = the_run(world, pull.head_sha)
    assert (run.status, run.conclusion) == ("completed", "failure")
    assert run.summary is not None and "max_coments: unknown key" in run.summary
    assert world.sim.reviews(pull) == [] and run.annotations == []


def test_config_on_the_pull_request_is_not_used(world: World) -> None:
    pull = world.open_pull({**RISKY, ".github/faultline.yml": "disable: [broad-except]\nfail_on: never\n"})
    world.run(pull)
    run = the_run(world, pull.head_sha)
    assert run.conclusion == "failure" and ("app/auth.py", 8) in annotation_spots(run)


def test_config_disabling_every_rule_is_neutral(world: World) -> None:
    codes = ", ".join(rule.slug for rule in all_rules())
    world.main_sha = world.commit({".github/faultline.yml": f"disable: [{codes}]\n"})
    world.sim.set_branch(FULL_NAME, "main", world.main_sha)
    pull = world.open_pull(RISKY)
    world.run(pull)
    assert the_run(world, pull.head_sha).conclusion == "neutral"
    assert world.sim.reviews(pull) == []


def test_no_file_to_check_is_neutral(world: World) -> None:
    pull = world.open_pull({"README.md": "# shop\n\nMore words.\n"})
    world.run(pull)
    run = the_run(world, pull.head_sha)
    assert (run.conclusion, run.title) == ("neutral", "No files to check")


def test_closed_pull_request_is_left_alone(world: World) -> None:
    pull = world.open_pull(RISKY)
    world.sim.close_pull(pull, merged=True)
    world.run(pull)
    assert world.sim.check_runs(FULL_NAME) == [] and world.sim.reviews(pull) == []


# -- files: forks, size, binary, missing patch ----------------------------------------------


def test_fork_pull_request(world: World) -> None:
    world.sim.add_repo("bob/shop", fork_of=FULL_NAME)
    pull = world.open_pull(RISKY, user="bob", head_repo="bob/shop")
    world.run(pull)
    assert comment_spots(world, pull) == RISK_LINES
    assert the_run(world, pull.head_sha).conclusion == "failure"


def test_file_over_one_megabyte(world: World) -> None:
    filler = "".join(f"value_{n} = {n}\n" for n in range(80_000))
    assert 1_000_000 < len(filler) < 2_000_000
    pull = world.open_pull({"app/big.py": filler + AUTH})
    world.run(pull)
    line = filler.count("\n") + 8
    assert comment_spots(world, pull) == {("app/big.py", line)}
    raw = world.sim.requests_matching("GET", f"/repos/{FULL_NAME}/contents/app/big.py")
    assert [r.status for r in raw] == [200]


def test_binary_and_oversized_files_are_listed_as_skipped(world: World) -> None:
    huge = "x = 1\n" * 400_000  # over the engine's 2 MiB cap
    pull = world.open_pull({"app/blob.py": b"\x00\x01binary", "app/huge.py": huge, "app/auth.py": AUTH})
    world.run(pull)
    run = the_run(world, pull.head_sha)
    assert run.summary is not None
    assert "- `app/blob.py`: binary file" in run.summary
    assert "- `app/huge.py`: larger than 2048 KiB" in run.summary
    assert comment_spots(world, pull) == {("app/auth.py", 8)}


def test_missing_patch_is_diffed_from_both_sides(world: World) -> None:
    world.main_sha = world.commit({"app/auth.py": AUTH.replace("(JWTError, Exception)", "JWTError")})
    world.sim.set_branch(FULL_NAME, "main", world.main_sha)
    pull = world.open_pull({"app/auth.py": PADDING + AUTH})
    pull.omit_patch.add("app/auth.py")
    world.run(pull)
    assert comment_spots(world, pull) == {("app/auth.py", 18)}


# -- failures: tokens, 5xx, rate limits, crashes ------------------------------------------


def test_token_expiry_mid_run_refreshes_once(world: World) -> None:
    pull = world.open_pull(RISKY)
    world.sim.on_request("GET", f"/repos/{FULL_NAME}/pulls/1/files", lambda sim: sim.expire_tokens())
    world.run(pull)
    assert comment_spots(world, pull) == RISK_LINES
    assert the_run(world, pull.head_sha).conclusion == "failure"
    assert [r.status for r in world.sim.requests_matching("GET", f"/repos/{FULL_NAME}/pulls/1/files")] == [
        401,
        200,
    ]
    assert len(world.sim.requests_matching("POST", "/app/installations/*/access_tokens")) == 2


def test_token_expiry_during_concurrent_reads_mints_one_token(world: World) -> None:
    world.settings = world.settings.model_copy(update={"github_read_batch": 0})  # a REST read per file
    pull = world.open_pull(RISKY)

    def expire(sim: GitHubSim) -> None:
        sim.expire_tokens()

    world.sim.on_request("GET", f"/repos/{FULL_NAME}/contents/app/*", expire)
    world.run(pull)
    assert comment_spots(world, pull) == RISK_LINES
    assert len(world.sim.requests_matching("POST", "/app/installations/*/access_tokens")) == 2


def test_github_down_while_minting_a_token_asks_for_a_retry(world: World) -> None:
    pull = world.open_pull(RISKY)
    world.sim.fail("POST", "/app/installations/*/access_tokens", 502, times=-1)
    with pytest.raises(TransientGitHubError):
        world.run(pull)
    assert world.sim.check_runs(FULL_NAME) == []  # nothing was started, nothing is left in progress


def test_one_502_is_retried(world: World) -> None:
    pull = world.open_pull(RISKY)
    world.sim.fail("GET", f"/repos/{FULL_NAME}/pulls/1/files", 502)
    world.run(pull)
    assert comment_spots(world, pull) == RISK_LINES
    assert the_run(world, pull.head_sha).conclusion == "failure"


def test_a_review_github_made_before_a_502_is_not_posted_again(world: World) -> None:
    pull = world.open_pull(RISKY)
    world.sim.fail_after("POST", f"/repos/{FULL_NAME}/pulls/1/reviews")
    world.run(pull)  # the comments are read again: the review is there
    assert len(world.sim.reviews(pull)) == 1 and comment_spots(world, pull) == RISK_LINES
    assert len(world.sim.requests_matching("POST", f"/repos/{FULL_NAME}/pulls/1/reviews")) == 1


def test_a_check_run_github_made_before_a_502_is_not_made_again(world: World) -> None:
    pull = world.open_pull(RISKY)
    world.sim.fail_after("POST", f"/repos/{FULL_NAME}/check-runs")
    world.run(pull)  # the check runs of the head are listed: the delivery's is there
    run = the_run(world, pull.head_sha)
    assert (run.status, run.conclusion) == ("completed", "failure")
    assert len(world.sim.requests_matching("POST", f"/repos/{FULL_NAME}/check-runs")) == 1


def test_a_short_rate_limit_is_waited_out_within_the_run(world: World) -> None:
    pull = world.open_pull(RISKY)
    world.sim.rate_limit("POST", f"/repos/{FULL_NAME}/pulls/1/reviews", times=2, retry_after=1)
    world.run(pull)
    assert comment_spots(world, pull) == RISK_LINES
    assert the_run(world, pull.head_sha).conclusion == "failure"
    posts = world.sim.requests_matching("POST", f"/repos/{FULL_NAME}/pulls/1/reviews")
    assert [r.status for r in posts] == [403, 403, 200]
    assert posts[1].at - posts[0].at >= 1 and posts[2].at - posts[1].at >= 1


def test_a_rate_limit_for_the_next_hour_is_left_to_the_queue_not_slept_through(world: World) -> None:
    # The primary limit resets within the hour: a worker that waited for it would stall the App.
    pull = world.open_pull(RISKY)
    world.sim.primary_rate_limit("POST", f"/repos/{FULL_NAME}/pulls/1/reviews", reset_in=3000)
    with pytest.raises(TransientGitHubError) as raised:
        world.run(pull)
    assert 2900 < raised.value.retry_after <= 3001 and raised.value.rate_limit
    assert len(world.sim.requests_matching("POST", f"/repos/{FULL_NAME}/pulls/1/reviews")) == 1
    # The installation is paused: not one more request until the reset, not even to the check run.
    assert world.sim.requests[-1].path == f"/repos/{FULL_NAME}/pulls/1/reviews"
    assert the_run(world, pull.head_sha).status == "in_progress"


def test_secondary_rate_limit_without_retry_after_asks_for_a_retry(world: World) -> None:
    # GitHub may send a secondary rate limit with neither Retry-After nor x-ratelimit-remaining.
    pull = world.open_pull(RISKY)
    world.sim.fail("POST", f"/repos/{FULL_NAME}/pulls/1/reviews", status=403, message=SECONDARY_RATE_LIMIT)
    with pytest.raises(TransientGitHubError) as raised:
        world.run(pull)
    assert raised.value.retry_after == 60
    # The installation is paused for the minute GitHub advises: the check run waits for the retry.
    assert world.sim.requests[-1].path == f"/repos/{FULL_NAME}/pulls/1/reviews"
    assert the_run(world, pull.head_sha).status == "in_progress"


def test_a_run_given_up_completes_its_check_run_saying_recheck_retries(world: World) -> None:
    pull = world.open_pull(RISKY)
    world.sim.fail("POST", f"/repos/{FULL_NAME}/pulls/1/reviews", 502, times=-1)
    with pytest.raises(TransientGitHubError) as raised:
        world.run(pull)
    give_up(world.settings, world.request(pull, delivery_id="delivery-1"), raised.value)
    [run] = world.sim.check_runs(FULL_NAME, pull.head_sha)
    assert (run.status, run.conclusion, run.title) == ("completed", "failure", "Faultline itself failed")
    assert run.summary is not None and "502" in run.summary and "/recheck" in run.summary


def test_a_run_given_up_before_its_check_run_existed_makes_one(world: World) -> None:
    pull = world.open_pull(RISKY)
    give_up(world.settings, world.request(pull), TransientGitHubError("GitHub answered 502", 60))
    [run] = world.sim.check_runs(FULL_NAME, pull.head_sha)
    assert (run.status, run.conclusion) == ("completed", "failure")


def test_a_refusal_from_github_is_described_in_the_summary(world: World) -> None:
    pull = world.open_pull(RISKY)
    world.sim.fail(
        "POST", f"/repos/{FULL_NAME}/pulls/1/reviews", status=403, message="Resource not accessible"
    )
    with pytest.raises(RequestFailed):
        world.run(pull)
    run = the_run(world, pull.head_sha)
    assert run.summary is not None
    assert (
        f"GitHub answered 403 on POST /repos/{FULL_NAME}/pulls/1/reviews: Resource not accessible"
        in run.summary
    )


class BrokenRule(Rule):
    """## What it does
    Breaks.
    """

    code = "FL900"
    slug = "broken"
    severity = Severity.ERROR
    summary = "Breaks"

    def applies_to(self, path: str) -> bool:
        raise RuntimeError("boom")

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        yield from ()


def test_a_crash_completes_the_check_as_failed(world: World) -> None:
    pull = world.open_pull(RISKY)
    with pytest.raises(RuntimeError, match="boom"):
        world.run(pull, rules=[BrokenRule])
    run = the_run(world, pull.head_sha)
    assert (run.status, run.conclusion, run.title) == ("completed", "failure", "Faultline itself failed")
    assert run.summary is not None and "RuntimeError: boom" in run.summary


class TodoRule(Rule):
    """## What it does
    Checks for `TODO` markers.

    ## Why is this risky?
    A TODO ships unfinished work. Nobody comes back to it.
    """

    code = "FL901"
    slug = "todo"
    severity = Severity.WARNING
    summary = "A TODO marker"
    patterns = ("*.txt",)

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        for number, line in enumerate(source.lines, start=1):
            if "TODO" in line:
                yield Hit(number, f"TODO on line {number}", end_line=number + 1)


def test_injected_rule_and_multi_line_comments(world: World) -> None:
    pull = world.open_pull({"notes.txt": "a\nTODO b\nc\n", "app/auth.py": AUTH})
    world.run(pull, rules=[TodoRule])
    comments = world.sim.review_comments(pull)
    assert [(c.path, c.start_line, c.line) for c in comments] == [("notes.txt", 2, 3)]
    assert "A TODO ships unfinished work. Nobody comes back to it." in comments[0].body


MONOREPO_WORKFLOW = """\
name: ci
on: [pull_request]
jobs:
  test:
    runs-on: ubuntu-latest
    defaults:
      run:
        working-directory: backend
    steps:
      - uses: actions/checkout@v4
      - run: pip install -e . pytest pytest-cov
      - run: pytest --cov=app
"""


def test_configs_in_a_jobs_working_directory_are_read(world: World) -> None:
    # backend/pyproject.toml is not part of the change: only the workflow names its folder,
    # so the job reads it in a second round.
    base = world.commit({"backend/pyproject.toml": "[project]\nname = 'backend'\n"})
    head = world.commit({".github/workflows/ci.yml": MONOREPO_WORKFLOW}, parent=base)
    pull = world.sim.open_pull(FULL_NAME, head, base_sha=base)
    world.run(pull)
    assert annotation_spots(the_run(world, head)) == {(".github/workflows/ci.yml", 12)}
    asked = [
        value
        for request in world.sim.requests_matching("POST", "/graphql")
        for value in request.body["variables"].values()
    ]
    assert f"{head}:backend/pyproject.toml" in asked
