"""The comment policy and the noise it is measured by, across pushes to one pull request.

A notice waits in the check run (annotation, summary line) unless the repository's
``comment_on`` or the rule's ``comment`` promotes it; a warning is commented unless the rule's
``comment: false`` holds it back. Each later run reads the 👎 on Faultline's comments and
which threads a person resolved while the finding stood; the counts, once per comment
however many runs see them, show on ``/metrics`` and the home page's fragment.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from faultline.analyzers.core.config import CONFIG_PATH
from faultline.app.cli.main import main
from faultline.app.observe.feedback import CommentState, FeedbackStore, RuleCounts, by_rule
from faultline.app.render.comment import NOT_USEFUL, rule_in
from faultline.app.web.feedback import feedback_fragment, feedback_view
from faultline.app.web.server import create_app
from faultline.app.work.queue import JobQueue
from tests.app.conftest import StartServer
from tests.app.push_sequence import PushSequence, Seen
from tests.app.sim_fixtures import FULL_NAME, World, sim_world
from tests.github_sim import ReviewComment
from tests.github_sim.graphql_reactions import react, resolve_as

STORE = "app/store.py"
MODELS = "app/models.py"
SAVE = """\
def save(db):
    db.begin()
    try:
        db.commit()
    except Exception:
        pass
"""
LOAD = SAVE.replace("def save", "def load")
FIXED = SAVE.replace("        pass\n", "        raise\n")
FIXED_LOAD = FIXED.replace("def save", "def load")
# FL002 cascade-delete is a notice.
CASCADE = """\
from sqlalchemy.orm import relationship


class Project(Base):
    __tablename__ = "projects"
    id = Column(Integer, primary_key=True)
    canvases = relationship("Canvas", cascade="all, delete-orphan")
"""
PADDING = "# the project's models\n\n"
NOTICE = Seen(MODELS, 7, "FL002")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with sim_world(tmp_path) as made:
        yield made


@pytest.fixture
def seq(world: World) -> PushSequence:
    return PushSequence(world)


def configure(world: World, text: str) -> None:
    """Commit the config on the default branch, where the App reads it."""
    world.main_sha = world.sim.commit(FULL_NAME, {CONFIG_PATH: text}, parent=world.main_sha, branch="main")


def bot_comment(seq: PushSequence, path: str, index: int = 0) -> ReviewComment:
    sim = seq.world.sim
    ours = [c for c in sim.review_comments(seq.pull) if c.user is sim.app.bot and c.path == path]
    return sorted(ours, key=lambda c: c.id)[index]


def stored(world: World) -> dict[str, RuleCounts]:
    return {c.rule: c for c in by_rule(FeedbackStore.in_dir(world.settings.data_dir).counts())}


def thread_queries(world: World) -> list[object]:
    """The GraphQL requests that read review threads (files are read through GraphQL too)."""
    requests = world.sim.requests_matching("POST", "/graphql")
    return [r for r in requests if "reviewThreads" in str(r.body.get("query"))]


# -- what gets an inline comment ---------------------------------------------------------------


def test_a_notice_is_annotated_and_summarised_but_not_commented(seq: PushSequence) -> None:
    assert seq.step({MODELS: CASCADE, STORE: SAVE}) == [Seen(STORE, 5, "FL001")]
    check = seq.check()
    assert check.title == "2 risks found (1 warning, 1 notice)"
    assert [(a["path"], a["annotation_level"]) for a in check.annotations] == [
        (MODELS, "notice"),
        (STORE, "warning"),
    ]
    summary = check.summary or ""
    assert "1 of 2 are commented inline on the pull request" in summary
    heading = f"Notices are listed here, not commented inline (`comment_on: warning` in `{CONFIG_PATH}`) (1):"
    assert heading in summary
    assert f"FL002 cascade-delete, [`{MODELS}` line 7]" in summary
    [review] = seq.world.sim.reviews(seq.pull)
    assert "found 2 risks (1 warning, 1 notice)" in review.body and "comments on 1 of them" in review.body


def test_comment_on_notice_promotes_it_and_a_later_push_does_not_repeat_it(
    world: World, seq: PushSequence
) -> None:
    assert seq.step({MODELS: CASCADE}) == []
    configure(world, "comment_on: notice\n")
    assert seq.run() == [NOTICE]
    assert "Each finding is commented inline" in (seq.check().summary or "")
    assert seq.step({MODELS: PADDING + CASCADE}) == [Seen(MODELS, 9, "FL002")]
    assert seq.run() == [Seen(MODELS, 9, "FL002")]
    assert len(world.sim.reviews(seq.pull)) == 1


def test_a_rule_set_to_comment_is_commented_below_comment_on(world: World, seq: PushSequence) -> None:
    configure(world, "comment_on: error\nrules:\n  cascade-delete:\n    comment: true\n")
    # The warning is below comment_on: error; the notice's rule asks for comments.
    assert seq.step({MODELS: CASCADE, STORE: SAVE}) == [NOTICE]
    summary = seq.check().summary or ""
    assert "Warnings are listed here, not commented inline (`comment_on: error`" in summary
    assert seq.step({MODELS: PADDING + CASCADE}) == [Seen(MODELS, 9, "FL002")]


def test_a_rule_set_not_to_comment_is_listed_only(world: World, seq: PushSequence) -> None:
    configure(world, "rules:\n  FL001:\n    comment: false\n")
    assert seq.step({STORE: SAVE}) == []
    check = seq.check()
    assert check.title == "1 risk found (1 warning)" and len(check.annotations) == 1
    assert "FL001 is listed here, not commented inline (`comment: false` for it" in (check.summary or "")
    assert world.sim.reviews(seq.pull) == []


def test_an_error_is_commented_and_fails_the_check_whatever_comment_on_says(
    world: World, seq: PushSequence
) -> None:
    configure(world, "comment_on: error\nrules:\n  broad-except:\n    severity: error\n")
    assert seq.step({STORE: SAVE, MODELS: CASCADE}) == [Seen(STORE, 5, "FL001")]
    assert seq.check().conclusion == "failure"


def test_an_invalid_comment_on_is_a_config_error(world: World, seq: PushSequence) -> None:
    configure(world, "comment_on: always\nrules:\n  FL001:\n    comment: sometimes\n")
    assert seq.step({STORE: SAVE}) == []
    check = seq.check()
    assert check.conclusion == "failure" and check.title == f"Invalid {CONFIG_PATH}"
    summary = check.summary or ""
    assert "comment_on: Input should be 'error', 'warning' or 'notice'" in summary
    assert "rules.FL001.comment: Input should be a valid boolean" in summary


def test_each_comment_invites_a_thumbs_down(seq: PushSequence) -> None:
    seq.step({STORE: SAVE})
    body = bot_comment(seq, STORE).body
    visible = [line for line in body.splitlines() if line and not line.startswith("<!--")]
    assert visible[-1] == NOT_USEFUL and rule_in(body) == "FL001"


# -- the noise, measured -------------------------------------------------------------------------


def test_thumbs_down_dismissal_and_fix_are_counted_once_each_across_runs(
    world: World, seq: PushSequence, start_server: StartServer
) -> None:
    assert seq.step({STORE: LOAD + "\n\n" + SAVE}) == [Seen(STORE, 5, "FL001"), Seen(STORE, 13, "FL001")]
    assert stored(world)["FL001"] == RuleCounts("FL001", 2, 0, 0, 0, 0)
    react(world.sim, bot_comment(seq, STORE, 0), "bob")
    react(world.sim, bot_comment(seq, STORE, 0), "carol")  # two people, one comment not useful
    resolve_as(world.sim, world.sim.thread_records[bot_comment(seq, STORE, 1).thread_id], "bob")
    for _ in range(3):
        seq.run()
    assert stored(world)["FL001"] == RuleCounts("FL001", 2, 1, 1, 0, 2)
    # The dismissed one stays resolved; the other is fixed and Faultline resolves its thread.
    assert seq.step({STORE: FIXED_LOAD + "\n\n" + SAVE}) == [
        Seen(STORE, 5, "FL001", resolved=True),
        Seen(STORE, 13, "FL001", resolved=True),
    ]
    seq.run()
    assert stored(world)["FL001"] == RuleCounts("FL001", 2, 1, 1, 1, 2)

    url = start_server(create_app(world.settings, queue=JobQueue(world.settings)))
    metrics = {
        (sample.name, sample.labels.get("rule")): sample.value
        for family in text_string_to_metric_families(httpx.get(f"{url}/metrics").text)
        for sample in family.samples
        if sample.name.startswith("faultline_feedback_")
    }
    assert metrics == {
        ("faultline_feedback_commented", "FL001"): 2,
        ("faultline_feedback_thumbs_down", "FL001"): 1,
        ("faultline_feedback_dismissed", "FL001"): 1,
        ("faultline_feedback_fixed", "FL001"): 1,
    }
    page = httpx.get(f"{url}/feedback").text
    installation = world.installation.id
    assert f"Noisy on installation {installation}: FL001, 2 of 2 comments not useful (100%)." in page
    assert (
        f"<td>{installation}</td><td>FL001</td><td>2</td><td>1</td><td>1</td><td>1</td><td>100%</td>" in page
    )


def test_the_feedback_costs_one_graphql_query_per_run(world: World, seq: PushSequence) -> None:
    seq.step({STORE: LOAD + "\n\n" + SAVE})
    for comment in world.sim.review_comments(seq.pull):
        react(world.sim, comment, "bob")
    before = len(thread_queries(world))
    seq.run()
    assert len(thread_queries(world)) == before + 1
    assert world.sim.requests_matching("GET", "*/reactions") == []
    assert stored(world)["FL001"].thumbs_down == 2


def test_a_thumbs_down_taken_back_is_no_longer_counted(world: World, seq: PushSequence) -> None:
    seq.step({STORE: SAVE})
    reaction = react(world.sim, bot_comment(seq, STORE), "bob")
    seq.run()
    assert stored(world)["FL001"].thumbs_down == 1
    with world.sim.lock:
        del world.sim.reaction_records[reaction.id]
    seq.run()
    assert stored(world)["FL001"].thumbs_down == 0


def test_the_fragment_names_only_rules_over_ten_percent(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    assert "No inline comment has been counted yet." in feedback_fragment(feedback_view(store))
    quiet = [CommentState(n, "FL001", 0, False, n % 2 == 0) for n in range(1, 11)]
    store.record(7, "acme/shop", 1, [*quiet, CommentState(11, "FL001", 1, False, False)])
    store.record(7, "acme/shop", 2, [CommentState(20, "FL012", 0, True, False)])
    view = feedback_view(store)
    assert [(c.rule, c.commented, c.not_useful) for c in view.rows] == [("FL001", 11, 1), ("FL012", 1, 1)]
    assert [c.rule for c in view.noisy] == ["FL012"]  # FL001: 1 of 11 is 9%
    fragment = feedback_fragment(view)
    assert "Noisy on installation 7: FL012" in fragment and "Noisy on installation 7: FL001" not in fragment


def test_a_file_the_run_could_not_check_keeps_what_was_known(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    store.record(7, "acme/shop", 1, [CommentState(1, "FL001", 0, True, False)])
    store.record(7, "acme/shop", 1, [CommentState(1, "FL001", 1, None, None)])
    assert by_rule(store.counts()) == [RuleCounts("FL001", 1, 1, 1, 0, 1)]


def test_the_cli_shows_every_finding_whatever_the_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".github").mkdir()
    (tmp_path / CONFIG_PATH).write_text("comment_on: error\nrules:\n  FL001:\n    comment: false\n")
    (tmp_path / "app").mkdir()
    (tmp_path / MODELS).write_text(CASCADE)
    (tmp_path / STORE).write_text(SAVE)
    monkeypatch.chdir(tmp_path)
    main(["check", "--all", "."])
    out = capsys.readouterr().out
    assert f"{MODELS}:7:" in out and f"{STORE}:5:" in out
    assert "2 risks found (1 warning, 1 notice)" in out
