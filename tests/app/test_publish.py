"""Publishing: which findings get comments, the review's 422 fallback, check run
updates and the threads of earlier runs (against the simulator where GitHub is involved)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from faultline.analyzers.core.changes import ChangeSet, FileChange, FileStatus, diff_texts
from faultline.analyzers.core.engine import PARSE_ERROR_CODE
from faultline.analyzers.core.findings import Finding, Severity
from faultline.app.github.checks import CheckRunRef, CheckRuns
from faultline.app.github.client import InstallationClient
from faultline.app.github.identities import BotComment
from faultline.app.github.reviews import MAX_REVIEW_ATTEMPTS, ReviewResult, Reviews
from faultline.app.github.threads import BotThread, Identity, ReviewThreads, threads_to_resolve
from faultline.app.render.check_run import CheckOutput, annotation
from faultline.app.render.comment import (
    MARKER,
    MARKER_V1,
    Placement,
    by_priority,
    plan_comments,
    still_placed,
)
from tests.app.sim_fixtures import FULL_NAME, OWNER, REPO, World, sim_world
from tests.github_sim import GitHubSim, PullRequest
from tests.github_sim.faults import Rule
from tests.github_sim.reviews import add_thread, create_review, reply


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with sim_world(tmp_path) as made:
        yield made


T = TypeVar("T")
FILES = {f"app/m{n}.py": "".join(f"x{i} = {i}\n" for i in range(20)) for n in range(3)}


def finding(
    line: int,
    severity: Severity = Severity.WARNING,
    path: str = "app/m0.py",
    code: str = "FL004",
    fp: str = "",
) -> Finding:
    return Finding(code, "slug", severity, path, line, line, 1, "message", fp or f"{path}:{line}")


@dataclass
class Publishing:
    """What a run publishes through, on the test repository."""

    checks: CheckRuns
    reviews: Reviews
    threads: ReviewThreads


def with_publisher(world: World, action: Callable[[Publishing], Awaitable[T]]) -> T:
    async def go() -> T:
        async with InstallationClient(world.settings, world.installation.id) as client:
            identity = Identity(world.settings.app_slug)
            return await action(
                Publishing(
                    CheckRuns(client, OWNER, REPO, world.settings.app_id),
                    Reviews(client, OWNER, REPO, identity),
                    ReviewThreads(client, OWNER, REPO, identity),
                )
            )

    return asyncio.run(go())


# -- pure decisions ------------------------------------------------------------------------------

CHANGES = ChangeSet({"app/m0.py": diff_texts("app/m0.py", "a\n" * 5, "a\n" * 5 + "b\n" * 40)})


def test_priority_is_severity_then_place() -> None:
    findings = [finding(9), finding(8, Severity.ERROR), finding(7), finding(6, Severity.NOTICE)]
    assert [f.line for f in by_priority(findings)] == [8, 7, 9, 6]


def test_plan_keeps_to_the_limit_errors_first() -> None:
    findings = [finding(n) for n in range(10, 20)] + [finding(40, Severity.ERROR)]
    plan = plan_comments(findings, CHANGES, frozenset(), limit=3)
    assert [p.finding.line for p in plan.placements] == [40, 10, 11]
    assert len(plan.not_inline) == 8
    assert set(plan.not_inline.values()) == {"over the limit of 3 inline comments"}


def test_plan_counts_earlier_comments_and_skips_them() -> None:
    findings = [finding(n) for n in range(10, 14)]
    plan = plan_comments(findings, CHANGES, frozenset({"app/m0.py:10", "app/m0.py:11", "gone"}), limit=3)
    assert [p.finding.line for p in plan.placements] == [12]
    assert plan.not_inline == {"app/m0.py:13": "over the limit of 3 inline comments"}


def test_plan_reasons_for_findings_that_cannot_be_placed() -> None:
    outside = finding(2)  # an unchanged line, outside the hunk
    other = finding(3, path="app/other.py")  # a file the change does not touch
    broken = finding(10, Severity.NOTICE, code=PARSE_ERROR_CODE)
    plan = plan_comments([outside, other, broken], CHANGES, frozenset(), limit=25)
    assert plan.placements == []
    assert plan.not_inline == {
        outside.fingerprint: "its lines are not in the diff",
        other.fingerprint: "its lines are not in the diff",
        broken.fingerprint: "parse errors are reported here only",
    }


def test_threads_to_resolve_only_open_gone_and_checked() -> None:
    threads = [
        BotThread("T1", "still", "a.py", False),
        BotThread("T2", "gone", "a.py", False),
        BotThread("T3", "gone-too", "a.py", True),  # resolved already
        BotThread("T4", "gone-unchecked", "b.py", False),  # its file could not be checked
    ]
    found = threads_to_resolve(threads, [finding(1, fp="still")], frozenset({"b.py"}))
    assert [t.id for t in found] == ["T2"]


def test_identity() -> None:
    ours = Identity("faultline")
    assert ours.ours("faultline[bot]", "Bot")  # REST
    assert ours.ours("faultline", "Bot")  # GraphQL
    assert not ours.ours("faultline-other[bot]", "Bot")
    assert not ours.ours("faultline", "User")
    anyone = Identity(None)
    assert anyone.ours("some-app[bot]", "Bot") and not anyone.ours("alice", "User")


# -- the review and its 422 fallback --------------------------------------------------------


def placements(pull: PullRequest) -> list[Placement]:
    return [
        Placement(finding(5, path=path, fp=f"fp{n}"), 5, 5, False) for n, path in enumerate(sorted(FILES))
    ]


def body(count: int) -> str:
    return f"The body: {count} comments."


def post(world: World, pull: PullRequest) -> ReviewResult:
    return with_publisher(
        world, lambda p: p.reviews.post_review(pull.number, pull.head_sha, placements(pull), {}, body)
    )


def test_review_posts_every_comment_at_once(world: World) -> None:
    pull = world.open_pull(FILES)
    result = post(world, pull)
    assert (len(result.posted), result.refused, result.reviews) == (3, [], 1)
    review = world.sim.reviews(pull)[0]
    assert (review.body, review.state, review.commit_id) == (
        "The body: 3 comments.",
        "COMMENTED",
        pull.head_sha,
    )


def test_refused_comment_is_found_and_the_others_posted_in_one_review(world: World) -> None:
    pull = world.open_pull(FILES)
    world.sim.refuse_lines(FULL_NAME, "app/m0.py", [5])
    result = post(world, pull)
    assert [p.finding.path for p in result.refused] == ["app/m0.py"]
    assert sorted(c.path for c in world.sim.review_comments(pull)) == ["app/m1.py", "app/m2.py"]
    (review,) = world.sim.reviews(pull)  # the pending reviews that tried the halves are gone
    assert (review.body, review.state) == ("The body: 2 comments.", "COMMENTED")
    pattern = f"/repos/{FULL_NAME}/pulls/{pull.number}/reviews"
    # [a, b, c] refused; pending [a] refused; pending [b, c] accepted (and deleted); [b, c] posted.
    assert [r.status for r in world.sim.requests_matching("POST", pattern)] == [422, 422, 200, 200]
    assert len(world.sim.requests_matching("DELETE", f"{pattern}/*")) == 1


def test_a_pending_review_deleted_before_a_502_counts_as_deleted(world: World) -> None:
    # The DELETE is sent again after the 502 and finds nothing (404): the review is gone,
    # which is what was asked, not an error that fails the run.
    pull = world.open_pull(FILES)
    world.sim.refuse_lines(FULL_NAME, "app/m0.py", [5])
    pattern = f"/repos/{FULL_NAME}/pulls/{pull.number}/reviews"
    world.sim.fail_after("DELETE", f"{pattern}/*", 502)
    result = post(world, pull)
    assert [p.finding.path for p in result.refused] == ["app/m0.py"]
    assert sorted(c.path for c in world.sim.review_comments(pull)) == ["app/m1.py", "app/m2.py"]
    assert [r.status for r in world.sim.requests_matching("DELETE", f"{pattern}/*")] == [502, 404]
    assert [r.state for r in world.sim.reviews(pull)] == ["COMMENTED"]


def test_a_pending_review_made_before_a_502_is_found_deleted_and_counts(world: World) -> None:
    # The probe of the accepted half is made, then answered 502: the pending review is found
    # (and deleted) instead of being tried again, which GitHub would refuse while it stands.
    pull = world.open_pull(FILES)
    world.sim.refuse_lines(FULL_NAME, "app/m0.py", [5])
    pattern = f"/repos/{FULL_NAME}/pulls/{pull.number}/reviews"
    posts = [0]

    def on_the_third_post(sim: GitHubSim) -> None:
        posts[0] += 1
        if posts[0] == 3:  # [a, b, c] and pending [a] were refused; pending [b, c] now
            sim.fail_after("POST", pattern, 502)

    world.sim.rules.append(Rule("POST", pattern, 3, hook=on_the_third_post))
    result = post(world, pull)
    assert [p.finding.path for p in result.refused] == ["app/m0.py"]
    assert sorted(c.path for c in world.sim.review_comments(pull)) == ["app/m1.py", "app/m2.py"]
    assert [r.status for r in world.sim.requests_matching("POST", pattern)] == [422, 422, 502, 200]
    assert [r.state for r in world.sim.reviews(pull)] == ["COMMENTED"]


def test_review_refused_once_loses_nothing(world: World) -> None:
    pull = world.open_pull(FILES)
    world.sim.reject("POST", f"/repos/{FULL_NAME}/pulls/{pull.number}/reviews", times=1)
    result = post(world, pull)
    assert result.refused == [] and len(result.posted) == 3 and result.reviews == 1
    assert len(world.sim.review_comments(pull)) == 3 and len(world.sim.reviews(pull)) == 1


def test_a_pending_review_left_behind_is_deleted_first(world: World) -> None:
    pull = world.open_pull(FILES)
    bot = world.sim.add_user(world.sim.app.bot.login)
    spec = {"path": "app/m1.py", "line": 5, "side": "RIGHT", "body": "left behind"}
    create_review(world.sim, pull, bot, {"commit_id": pull.head_sha, "comments": [spec]})
    world.sim.refuse_lines(FULL_NAME, "app/m0.py", [5])
    result = post(world, pull)
    assert [p.finding.path for p in result.refused] == ["app/m0.py"] and len(result.posted) == 2
    assert [r.state for r in world.sim.reviews(pull)] == ["COMMENTED"]


def test_review_refused_for_good_stops_after_a_few_attempts(world: World) -> None:
    files = {f"app/n{n}.py": "x = 1\n" for n in range(40)}
    pull = world.open_pull(files)
    pattern = f"/repos/{FULL_NAME}/pulls/{pull.number}/reviews"
    world.sim.reject("POST", pattern, times=-1)
    many = [Placement(finding(1, path=path, fp=path), 1, 1, False) for path in sorted(files)]
    result = with_publisher(
        world, lambda p: p.reviews.post_review(pull.number, pull.head_sha, many, {}, body)
    )
    assert len(result.refused) == 40 and result.posted == []
    assert len(world.sim.requests_matching("POST", pattern)) == 1 + MAX_REVIEW_ATTEMPTS


def test_refused_review_first_reads_the_diff_again(world: World) -> None:
    pull = world.open_pull(FILES)
    pattern = f"/repos/{FULL_NAME}/pulls/{pull.number}/reviews"
    world.sim.reject("POST", pattern, times=1)
    # The diff read again has app/m1.py no more, and app/m2.py without a patch.
    now = ChangeSet({"app/m0.py": diff_texts("app/m0.py", "", FILES["app/m0.py"])})
    now.files["app/m2.py"] = FileChange("app/m2.py", FileStatus.MODIFIED)

    async def diff_now() -> ChangeSet:
        return now

    result = with_publisher(
        world,
        lambda p: p.reviews.post_review(pull.number, pull.head_sha, placements(pull), {}, body, diff_now),
    )
    assert [p.finding.path for p in result.refused] == ["app/m1.py"]
    assert sorted(c.path for c in world.sim.review_comments(pull)) == ["app/m0.py", "app/m2.py"]
    assert len(world.sim.requests_matching("POST", pattern)) == 2 and result.reviews == 1


def test_still_placed() -> None:
    here = Placement(finding(10, path="app/m0.py"), 10, 10, False)
    moved = Placement(finding(2, path="app/m0.py"), 2, 2, False)  # line 2 is no longer in a hunk
    elsewhere = Placement(finding(3, path="app/gone.py"), 3, 3, False)
    kept, gone = still_placed([here, moved, elsewhere], CHANGES)
    assert kept == [here] and gone == [moved, elsewhere]


# -- check runs --------------------------------------------------------------------------------


def test_check_run_is_completed_first_then_annotated_fifty_at_a_time(world: World) -> None:
    pull = world.open_pull(FILES)
    notes = tuple(annotation(finding(1 + n % 19, path="app/m0.py", fp=str(n))) for n in range(120))
    output = CheckOutput("failure", "120 risks found (120 warnings)", "Summary", notes)

    async def act(publisher: Publishing) -> CheckRunRef:
        check = await publisher.checks.start_check(pull.head_sha, "delivery-1")
        await publisher.checks.finish_check(check, output)
        return check

    check = with_publisher(world, act)
    run = world.sim.check_run_records[check.id]
    assert (run.status, run.conclusion, run.title, run.summary) == (
        "completed",
        "failure",
        "120 risks found (120 warnings)",
        "Summary",
    )
    assert len(run.annotations) == 120 and run.external_id == "delivery-1"
    patches = [r.body for r in world.sim.requests_matching("PATCH", f"/repos/{FULL_NAME}/check-runs/*")]
    assert [len(p["output"]["annotations"]) for p in patches] == [50, 50, 20]
    assert patches[0]["conclusion"] == "failure" and "conclusion" not in patches[1]


def test_check_run_without_annotations_is_one_update(world: World) -> None:
    pull = world.open_pull(FILES)

    async def act(publisher: Publishing) -> None:
        check = await publisher.checks.start_check(pull.head_sha, "delivery-1")
        await publisher.checks.finish_check(check, CheckOutput("success", "No risks found", "Nothing"))

    with_publisher(world, act)
    patches = [r.body for r in world.sim.requests_matching("PATCH", f"/repos/{FULL_NAME}/check-runs/*")]
    assert len(patches) == 1 and "annotations" not in patches[0]["output"]


# -- what earlier runs left ---------------------------------------------------------------


def test_only_the_bots_marked_comments_count(world: World) -> None:
    pull = world.open_pull(FILES)
    add_thread(
        world.sim, pull, "faultline[bot]", "app/m0.py", 3, body="x\n\n" + MARKER.format(fingerprint="aaa1")
    )
    add_thread(world.sim, pull, "faultline[bot]", "app/m0.py", 4, body="no marker")
    add_thread(world.sim, pull, "mallory", "app/m0.py", 5, body=MARKER.format(fingerprint="bbb2"))
    add_thread(world.sim, pull, "other-app[bot]", "app/m0.py", 6, body=MARKER.format(fingerprint="ccc3"))
    found = with_publisher(world, lambda p: p.reviews.commented_fingerprints(pull.number))
    assert found == frozenset({"aaa1"})


def test_comments_are_read_with_their_line_on_the_head_and_their_rule(world: World) -> None:
    pull = world.open_pull(FILES)
    link = "**Warning** [FL004 hardcoded-pool-size](https://x/hardcoded-pool-size.md): m\n\n"
    bot = "faultline[bot]"
    new = add_thread(world.sim, pull, bot, "app/m0.py", 3, body=link + MARKER.format(fingerprint="ab.0"))
    old = add_thread(world.sim, pull, bot, "app/m1.py", 7, body=link + MARKER_V1.format(fingerprint="cd1"))
    reply(world.sim, new, world.sim.app.bot, MARKER.format(fingerprint="ab.9"))  # not a thread of its own
    world.push(pull, {"app/m0.py": "# top\n# more\n" + FILES["app/m0.py"], "app/m1.py": "changed\n" * 20})
    found = with_publisher(world, lambda p: p.reviews.bot_comments(pull.number))
    above = tuple(word for n in range(6) for word in (f"x{n}", str(n)))  # the words above it, as made
    assert found == [
        BotComment(new.id, "ab.0", "app/m0.py", 5, None, "FL004", ("x0", "0", "x1", "1")),
        BotComment(old.id, "cd1", "app/m1.py", None, None, "FL004", above),  # its line changed: outdated
    ]


def test_threads_are_read_across_pages_and_resolved(world: World) -> None:
    files = {f"app/t{n}.py": "x = 1\n" for n in range(105)}
    pull = world.open_pull(files)
    for n in range(105):
        add_thread(
            world.sim, pull, "faultline[bot]", f"app/t{n}.py", 1, body=MARKER.format(fingerprint=f"f{n}")
        )
    add_thread(world.sim, pull, "bob", "app/t0.py", 1, body=MARKER.format(fingerprint="human"))

    async def act(publisher: Publishing) -> list[BotThread]:
        threads = await publisher.threads.bot_threads(pull.number)
        await publisher.threads.resolve(next(t for t in threads if t.fingerprint == "f7"))
        return threads

    threads = with_publisher(world, act)
    assert sorted(t.fingerprint for t in threads) == sorted(f"f{n}" for n in range(105))
    assert len(world.sim.requests_matching("POST", "/graphql")) == 3  # two pages and the mutation
    resolved = [t for t in world.sim.threads(pull) if t.is_resolved]
    assert [world.sim.comment_records[t.comment_ids[0]].path for t in resolved] == ["app/t7.py"]
