"""Faultline's comments and threads across pushes to one pull request: after each
push the App's job runs on the simulator, and the test states every comment a
reviewer then sees (path, line on the latest commit or None when GitHub shows it
outdated, rule, resolved). A finding keeps its comment and thread however its
lines move; a new finding gets exactly one comment; a fixed one has its thread
resolved, reopened when the fix is reverted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.push_sequence import PushSequence, Seen, v1_fingerprints
from tests.app.sim_fixtures import World, sim_world

STORE = "app/store.py"
SAVE = """\
def save(db):
    db.begin()
    try:
        db.commit()
    except Exception:
        pass
"""
LOAD = SAVE.replace("def save", "def load")
FIXED = SAVE.replace("        pass\n", "        log.exception('commit failed')\n        raise\n")
HEADER = "import logging\n\nlog = logging.getLogger(__name__)\n\n\n"
# The reported case: the same handler added above, in the same function.
TWICE = """\
def save(db):
    try:
        db.commit()
    except Exception:
        pass
    db.begin()
    try:
        db.commit()
    except Exception:
        pass
"""
WRAPPED = """\
def save(db, lock):
    with lock:
        db.begin()
        try:
            db.commit()
        except Exception:
            pass
"""
# What version 1 of the App wrote in the marker of its comment on SAVE's handler.
V1_SAVE = "9dea6680c40b491c7d6b"


def at(line: int | None, resolved: bool = False) -> Seen:
    return Seen(STORE, line, "FL001", resolved)


@pytest.fixture
def seq(tmp_path: Path) -> Iterator[PushSequence]:
    world: World
    with sim_world(tmp_path) as world:
        yield PushSequence(world)


def test_lines_inserted_above_move_the_comment_with_them(seq: PushSequence) -> None:
    assert seq.step({STORE: SAVE}) == [at(5)]
    assert seq.step({STORE: HEADER + SAVE}) == [at(10)]
    assert len(seq.check().annotations) == 1


def test_the_same_handler_added_above_gets_one_new_comment(seq: PushSequence) -> None:
    assert seq.step({STORE: SAVE}) == [at(5)]
    # GitHub's diff keeps the old handler at the bottom: its comment follows it there.
    assert seq.step({STORE: TWICE}) == [at(9), at(4)]
    assert seq.run() == [at(9), at(4)]  # run again: nothing new


def test_a_like_handler_added_above_in_another_function_gets_one_new_comment(seq: PushSequence) -> None:
    assert seq.step({STORE: SAVE}) == [at(5)]
    assert seq.step({STORE: LOAD + "\n\n" + SAVE}) == [at(13), at(5)]


def test_a_like_handler_added_below_gets_one_new_comment(seq: PushSequence) -> None:
    assert seq.step({STORE: SAVE}) == [at(5)]
    assert seq.step({STORE: SAVE + "\n\n" + LOAD}) == [at(5), at(13)]


def test_a_re_indented_handler_keeps_its_thread(seq: PushSequence) -> None:
    assert seq.step({STORE: SAVE}) == [at(5)]
    # Its lines changed: GitHub shows the comment outdated, and no second one is posted.
    assert seq.step({STORE: WRAPPED}) == [at(None)]
    assert [a["start_line"] for a in seq.check().annotations] == [6]
    assert seq.step({STORE: HEADER + WRAPPED}) == [at(None)]


def test_a_renamed_function_keeps_its_comment(seq: PushSequence) -> None:
    assert seq.step({STORE: SAVE}) == [at(5)]
    assert seq.step({STORE: SAVE.replace("def save", "def persist")}) == [at(5)]


def test_a_fixed_finding_has_its_thread_resolved_and_reopened_when_the_fix_is_reverted(
    seq: PushSequence,
) -> None:
    assert seq.step({STORE: SAVE}) == [at(5)]
    assert seq.step({STORE: FIXED}) == [at(5, resolved=True)]
    assert seq.step({STORE: SAVE}) == [at(5)]


def test_a_handler_removed_and_put_back_reopens_its_outdated_thread(seq: PushSequence) -> None:
    assert seq.step({STORE: SAVE}) == [at(5)]
    assert seq.step({STORE: "def save(db):\n    db.begin()\n    db.commit()\n"}) == [at(None, resolved=True)]
    assert seq.step({STORE: SAVE}) == [at(None)]


def test_fixing_one_of_two_like_handlers_resolves_its_own_thread(seq: PushSequence) -> None:
    assert seq.step({STORE: LOAD + "\n\n" + SAVE}) == [at(5), at(13)]
    fixed_load = FIXED.replace("def save", "def load")
    assert seq.step({STORE: fixed_load + "\n\n" + SAVE}) == [at(5, resolved=True), at(14)]


def test_like_handlers_re_indented_together_keep_their_own_threads(seq: PushSequence) -> None:
    wrapped_load = WRAPPED.replace("def save", "def load")
    assert seq.step({STORE: LOAD + "\n\n" + SAVE}) == [at(5), at(13)]
    assert seq.step({STORE: wrapped_load + "\n\n" + WRAPPED}) == [at(None), at(None)]
    # Both outdated: the lines above each comment tell which finding is gone.
    fixed_load = wrapped_load.replace("            pass\n", "            raise\n")
    assert seq.step({STORE: fixed_load + "\n\n" + WRAPPED}) == [at(None, resolved=True), at(None)]


def test_one_like_handler_removed_as_the_other_is_re_indented(seq: PushSequence) -> None:
    assert seq.step({STORE: LOAD + "\n\n" + SAVE}) == [at(5), at(13)]
    assert seq.step({STORE: WRAPPED}) == [at(None, resolved=True), at(None)]


def test_a_comment_left_by_version_1_keeps_its_thread(seq: PushSequence) -> None:
    seq.push({STORE: SAVE})
    seq.leave_v1_comment(STORE, 5, V1_SAVE)
    assert seq.run() == [at(5)]
    assert seq.step({STORE: HEADER + SAVE}) == [at(10)]
    # Version 1 had the function's name in the fingerprint: the comment's line tells it now.
    assert seq.step({STORE: HEADER + SAVE.replace("def save", "def persist")}) == [at(10)]
    assert seq.step({STORE: HEADER + FIXED}) == [at(10, resolved=True)]


def test_a_like_handler_added_above_one_with_a_version_1_comment_gets_one_new_comment(
    seq: PushSequence,
) -> None:
    seq.push({STORE: SAVE})
    seq.leave_v1_comment(STORE, 5, V1_SAVE)
    assert seq.run() == [at(5)]
    assert seq.step({STORE: TWICE}) == [at(9), at(4)]


def test_version_1s_duplicate_comments_are_straightened_out(seq: PushSequence) -> None:
    # What version 1 left after the two pushes of the reported case: its first comment
    # followed the old handler down, and a second one joined it; the new handler had none.
    first = seq.push({STORE: SAVE})
    seq.push({STORE: TWICE})
    assert v1_fingerprints({STORE: TWICE})[(STORE, 4)] == V1_SAVE
    seq.leave_v1_comment(STORE, 5, V1_SAVE, sha=first)
    seq.leave_v1_comment(STORE, 9, v1_fingerprints({STORE: TWICE})[(STORE, 9)])
    assert seq.seen() == [at(9), at(9)]
    assert seq.run() == [at(9), at(9, resolved=True), at(4)]
