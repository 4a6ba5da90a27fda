"""Metrics name a GitHub call by its route template, never by the path it was sent to."""

from __future__ import annotations

import pytest

from faultline.app.github.endpoints import endpoint


@pytest.mark.parametrize(
    ("method", "path", "label"),
    [
        ("GET", "/repos/acme/shop/pulls/7/files", "GET /repos/{owner}/{repo}/pulls/{pull_number}/files"),
        ("GET", "/repositories/42/pulls/7/files", "GET /repos/{owner}/{repo}/pulls/{pull_number}/files"),
        ("GET", "/repos/acme/shop/contents/a/b c/d.py", "GET /repos/{owner}/{repo}/contents/{path}"),
        (
            "GET",
            "/repos/acme/shop/commits/feature/x/check-runs",
            "GET /repos/{owner}/{repo}/commits/{ref}/check-runs",
        ),
        ("patch", "/repos/acme/shop/check-runs/9", "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}"),
        (
            "POST",
            "/app/installations/5/access_tokens",
            "POST /app/installations/{installation_id}/access_tokens",
        ),
        ("POST", "/graphql", "POST /graphql"),
        ("GET", "/repos/acme/shop/compare/a...b", "GET /repos/{owner}/{repo}/compare/{basehead}"),
        # Not a route the App calls: cut to its first segment, so the label set stays bounded.
        ("GET", "/orgs/acme/members/alice", "GET /orgs/..."),
        ("GET", "/repos/acme/shop/releases/1", "GET /repos/..."),
    ],
)
def test_a_call_is_labelled_by_its_route_template(method: str, path: str, label: str) -> None:
    assert endpoint(method, path) == label
