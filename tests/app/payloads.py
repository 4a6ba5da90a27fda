"""GitHub's example deliveries, adjusted the way a real delivery to this App looks."""

from __future__ import annotations

import copy
from typing import Any

from tests.app.conftest import APP_ID
from tests.github_sim.webhooks import load_payload

INSTALLATION_ID = 77
PR_URL = "https://api.github.com/repos/Codertocat/Hello-World/pulls/1"


def example(name: str, *, installation: int | None = INSTALLATION_ID) -> dict[str, Any]:
    """A fresh copy of ``tests/data/webhooks/<name>.json``, with the App's installation
    (every delivery to an App has one; some examples lack it) and this App's id on checks."""
    payload = copy.deepcopy(load_payload(name))
    if installation is not None:
        payload["installation"] = {"id": installation, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNzc="}
    for key in ("check_run", "check_suite"):
        if key in payload:
            payload[key]["app"]["id"] = APP_ID
    return payload


def recheck_comment(
    body: str = "/recheck", *, user_type: str = "User", login: str = "Codertocat"
) -> dict[str, Any]:
    """``issue_comment.created`` on a pull request (the example is on a plain issue)."""
    payload = example("issue_comment.created")
    payload["issue"]["pull_request"] = {
        "url": PR_URL,
        "html_url": PR_URL,
        "diff_url": PR_URL,
        "patch_url": PR_URL,
    }
    payload["comment"]["body"] = body
    payload["comment"]["user"].update(login=login, type=user_type)
    return payload
