"""Which deliveries start a run, and with what; the signature check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from faultline.app.web.log_context import delivery_fields, model_fields
from faultline.app.web.webhooks import (
    HANDLED_EVENTS,
    PayloadError,
    Skip,
    read_delivery,
    request_for,
    sign,
    signature_matches,
)
from faultline.app.web.webhooks import decide as decide_read
from faultline.app.work.request import AnalysisRequest
from tests.app.conftest import APP_ID
from tests.app.payloads import INSTALLATION_ID, example, recheck_comment

SECRET = "s3cret-for-signing"
HELLO_WORLD_SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"


def decide(event: str, payload: Any) -> AnalysisRequest | Skip:
    return request_for(event, payload, "delivery-1", app_id=APP_ID)


# Signatures.


def test_signature_of_the_exact_body_matches() -> None:
    body = b'{"zen": "Anything added dilutes everything else."}'
    assert signature_matches(SECRET, body, sign(SECRET, body))


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha256=" + "0" * 64,
        "sha1=" + "0" * 40,  # the legacy header's format is not accepted
        "sha256=ü" + "0" * 63,  # non-ASCII must be refused, not crash compare_digest
    ],
)
def test_missing_or_wrong_signature_is_refused(header: str | None) -> None:
    assert not signature_matches(SECRET, b"{}", header)


def test_signature_with_another_secret_or_body_is_refused() -> None:
    assert not signature_matches(SECRET, b"{}", sign("other", b"{}"))
    assert not signature_matches(SECRET, b"{} ", sign(SECRET, b"{}"))


# pull_request.


@pytest.mark.parametrize("action", ["opened", "synchronize", "reopened", "ready_for_review"])
def test_pull_request_actions_start_a_run(action: str) -> None:
    request = decide("pull_request", example(f"pull_request.{action}"))
    assert request == AnalysisRequest(
        delivery_id="delivery-1",
        trigger=f"pull_request.{action}",
        installation_id=INSTALLATION_ID,
        owner="Codertocat",
        repo="Hello-World",
        pull_number=2,
        head_sha=HELLO_WORLD_SHA,
    )


def test_draft_pull_request_is_analysed() -> None:
    payload = example("pull_request.opened")
    payload["pull_request"]["draft"] = True
    assert isinstance(decide("pull_request", payload), AnalysisRequest)


@pytest.mark.parametrize("name", ["pull_request.closed", "pull_request.labeled"])
def test_other_pull_request_actions_start_nothing(name: str) -> None:
    decision = decide("pull_request", example(name))
    assert isinstance(decision, Skip)
    assert decision.reason == f"{name} starts no run"


def test_synchronize_on_a_closed_pull_request_starts_nothing() -> None:
    payload = example("pull_request.synchronize")
    payload["pull_request"]["state"] = "closed"
    assert decide("pull_request", payload) == Skip("pull request #2 is closed")


def edited(changes: dict[str, Any]) -> dict[str, Any]:
    """``pull_request.edited`` as GitHub sends it: the changed fields with their old values."""
    payload = example("pull_request.opened")
    payload["action"] = "edited"
    payload["changes"] = changes
    return payload


def test_a_new_base_branch_starts_a_run() -> None:
    # The check would otherwise go on describing the diff against the old base.
    changes = {"base": {"ref": {"from": "develop"}, "sha": {"from": "0" * 40}}}
    request = decide("pull_request", edited(changes))
    assert isinstance(request, AnalysisRequest)
    assert (request.trigger, request.pull_number, request.head_sha) == (
        "pull_request.edited",
        2,
        HELLO_WORLD_SHA,
    )
    closed = edited(changes)
    closed["pull_request"]["state"] = "closed"
    assert decide("pull_request", closed) == Skip("pull request #2 is closed")


@pytest.mark.parametrize(
    "changes", [{"title": {"from": "Old title"}}, {"body": {"from": "Old text"}}, {}], ids=str
)
def test_editing_the_title_or_body_starts_nothing(changes: dict[str, Any]) -> None:
    assert decide("pull_request", edited(changes)) == Skip(
        "pull_request.edited of #2 leaves its base branch as it was"
    )


# check_run / check_suite: the "Re-run" button.


def test_check_run_rerequested_from_a_fork_has_no_pull_number() -> None:
    # The example's pull_requests list is empty, as GitHub sends it for a fork's pull request.
    request = decide("check_run", example("check_run.rerequested"))
    assert isinstance(request, AnalysisRequest)
    assert (request.trigger, request.owner, request.repo) == (
        "check_run.rerequested",
        "github",
        "hello-world",
    )
    assert (request.pull_number, request.head_sha) == (None, "d6fde92930d4715a2b49857d24b940956b26d2d3")
    assert request.installation_id == INSTALLATION_ID


def test_check_suite_rerequested_names_the_pull_request_of_this_repository() -> None:
    request = decide("check_suite", example("check_suite.rerequested"))
    assert isinstance(request, AnalysisRequest)
    assert (request.trigger, request.pull_number, request.head_sha) == (
        "check_suite.rerequested",
        2,
        HELLO_WORLD_SHA,
    )


def test_check_suite_pull_request_of_another_repository_is_not_used() -> None:
    payload = example("check_suite.rerequested")
    payload["check_suite"]["pull_requests"][0]["base"]["repo"]["id"] = 999
    request = decide("check_suite", payload)
    assert isinstance(request, AnalysisRequest)
    assert (request.pull_number, request.head_sha) == (None, HELLO_WORLD_SHA)


@pytest.mark.parametrize("event", ["check_run", "check_suite"])
def test_rerun_of_another_apps_check_starts_nothing(event: str) -> None:
    payload = example(f"{event}.rerequested")
    payload[event]["app"]["id"] = APP_ID + 1
    decision = decide(event, payload)
    assert decision == Skip(f"{event} belongs to app {APP_ID + 1}, not this app")


def test_rerun_when_the_app_id_is_unknown_starts_nothing() -> None:
    decision = request_for("check_run", example("check_run.rerequested"), "d", app_id=None)
    assert isinstance(decision, Skip)


@pytest.mark.parametrize("name", ["check_run.created", "check_run.requested_action", "check_suite.requested"])
def test_other_check_actions_start_nothing(name: str) -> None:
    event = name.split(".", maxsplit=1)[0]
    assert isinstance(decide(event, example(name)), Skip)


# issue_comment: /recheck.


def test_recheck_on_a_pull_request_starts_a_run_for_its_author() -> None:
    request = decide("issue_comment", recheck_comment(" /recheck\r\n"))
    assert request == AnalysisRequest(
        delivery_id="delivery-1",
        trigger="issue_comment.recheck",
        installation_id=INSTALLATION_ID,
        owner="Codertocat",
        repo="Hello-World",
        pull_number=1,
        head_sha=None,
        comment_id=492700400,
        comment_author="Codertocat",
    )


def test_recheck_on_a_plain_issue_starts_nothing() -> None:
    payload = example("issue_comment.created")
    payload["comment"]["body"] = "/recheck"
    assert decide("issue_comment", payload) == Skip("#1 is an issue, not a pull request")


@pytest.mark.parametrize(
    ("user_type", "login"), [("Bot", "renovate[bot]"), ("User", "someone[bot]"), ("Bot", "ci")]
)
def test_recheck_by_a_bot_starts_nothing(user_type: str, login: str) -> None:
    decision = decide("issue_comment", recheck_comment(user_type=user_type, login=login))
    assert decision == Skip(f"comment 492700400 is by the bot {login}")


@pytest.mark.parametrize("body", ["/recheck please", "please /recheck", "/RECHECK", "", "/re check"])
def test_other_comments_start_nothing(body: str) -> None:
    assert decide("issue_comment", recheck_comment(body)) == Skip("comment 492700400 is not /recheck")


def test_null_comment_body_starts_nothing() -> None:
    payload = recheck_comment()
    payload["comment"]["body"] = None
    assert isinstance(decide("issue_comment", payload), Skip)


def test_edited_comment_starts_nothing() -> None:
    payload = example("issue_comment.edited")
    payload["comment"]["body"] = "/recheck"
    payload["issue"]["pull_request"] = {"url": "x"}
    assert decide("issue_comment", payload) == Skip("issue_comment.edited starts no run")


def test_recheck_on_a_closed_pull_request_starts_nothing() -> None:
    payload = recheck_comment()
    payload["issue"]["state"] = "closed"
    assert decide("issue_comment", payload) == Skip("pull request #1 is closed")


# Events not handled, and payloads missing what a run needs.


@pytest.mark.parametrize("name", ["installation.created", "installation_repositories.added", "ping"])
def test_events_not_handled_start_nothing(name: str) -> None:
    event = name.split(".", maxsplit=1)[0]
    assert decide(event, example(name)) == Skip(f"event {event} is not handled")


def test_missing_installation_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="no installation"):
        decide("pull_request", example("pull_request.opened", installation=None))


def test_missing_field_is_named() -> None:
    payload = example("pull_request.opened")
    del payload["pull_request"]["head"]["sha"]
    with pytest.raises(PayloadError, match=r"pull_request\.head\.sha: field required"):
        decide("pull_request", payload)


@pytest.mark.parametrize("payload", [[], "x", {"no": "action"}, {"action": 3}])
def test_payload_without_an_action_is_a_payload_error(payload: Any) -> None:
    with pytest.raises(PayloadError, match="no action"):
        decide("pull_request", payload)


def test_fields_not_read_may_be_missing_or_extra() -> None:
    # Only the fields Faultline reads are validated: GitHub adding or dropping others is harmless.
    payload = {
        "action": "opened",
        "pull_request": {"number": 5, "state": "open", "head": {"sha": "abc"}, "new_field": [1]},
        "repository": {"id": 1, "name": "r", "owner": {"login": "o"}},
        "installation": {"id": 9},
    }
    request = decide("pull_request", payload)
    assert isinstance(request, AnalysisRequest)
    assert (request.owner, request.repo, request.pull_number, request.head_sha) == ("o", "r", 5, "abc")


# Read straight from the body (the receiver's common case): the same as from the whole payload.

EXAMPLES = sorted(path.stem for path in (Path(__file__).parents[1] / "data" / "webhooks").glob("*.json"))


@pytest.mark.parametrize("name", EXAMPLES)
def test_a_delivery_read_from_its_body_decides_as_its_whole_payload(name: str) -> None:
    event = name.partition(".")[0]
    for payload in (example(name), example(name, installation=None)):
        body = json.dumps(payload).encode()
        read = read_delivery(event, body)
        if event not in HANDLED_EVENTS:
            assert read is None
            continue
        assert read is not None
        assert model_fields(read) == delivery_fields(payload)
        try:
            expected: AnalysisRequest | Skip | str = decide(event, payload)
        except PayloadError as err:
            expected = str(err)
        try:
            got: AnalysisRequest | Skip | str = decide_read(event, read, "delivery-1", app_id=APP_ID)
        except PayloadError as err:
            got = str(err)
        assert got == expected


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"action": 3}',
        b'{"action": "opened"}',
        b'{"action": "opened", "pull_request": 1}',
    ],
)
def test_a_body_that_does_not_fit_the_model_is_left_to_the_whole_payload(body: bytes) -> None:
    # The receiver then reads all of it, to refuse it with the reason (test_server.py).
    assert read_delivery("pull_request", body) is None


def test_a_recheck_comment_read_from_its_body_is_the_same_request() -> None:
    payload = recheck_comment()
    read = read_delivery("issue_comment", json.dumps(payload).encode())
    assert read is not None
    assert decide_read("issue_comment", read, "delivery-1", app_id=APP_ID) == decide("issue_comment", payload)
