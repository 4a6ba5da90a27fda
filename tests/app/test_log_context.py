"""What the receiver's log lines say about a delivery, read from GitHub's example payloads."""

from __future__ import annotations

import pytest

from faultline.app.web.log_context import delivery_fields
from tests.app.payloads import example, recheck_comment


def test_a_pull_request_delivery_names_its_pull_and_head() -> None:
    payload = example("pull_request.opened")
    assert delivery_fields(payload) == {
        "action": "opened",
        "repo": "Codertocat/Hello-World",
        "pull": payload["pull_request"]["number"],
        "head_sha": payload["pull_request"]["head"]["sha"],
    }


def test_a_comment_names_its_pull_but_no_head() -> None:
    fields = delivery_fields(recheck_comment())
    assert (fields["action"], fields["pull"], fields["head_sha"]) == ("created", 1, None)


@pytest.mark.parametrize("name", ["check_run.rerequested", "check_suite.rerequested"])
def test_a_check_delivery_names_its_head(name: str) -> None:
    payload = example(name)
    check = payload[name.partition(".")[0]]
    fields = delivery_fields(payload)
    assert fields["head_sha"] == check["head_sha"]
    assert fields["pull"] == (check["pull_requests"][0]["number"] if check["pull_requests"] else None)


@pytest.mark.parametrize(
    "payload",
    [None, [], "text", {"action": 3, "repository": "x", "pull_request": {"number": True, "head": []}}],
)
def test_odd_payloads_give_nones(payload: object) -> None:
    assert set(delivery_fields(payload).values()) == {None}
