"""The route template of a GitHub request, for metrics labels:
``GET /repos/{owner}/{repo}/pulls/{pull_number}``.

A label made of the raw path would hold every repository, pull request and file name the App
ever touched, and Prometheus keeps one series per label value. Templates are GitHub's own
(its OpenAPI description's paths) for the endpoints the App calls; any other path is cut to
its first segment, so the label set stays bounded whatever the App asks in the future.
"""

from __future__ import annotations

import re
from functools import lru_cache

# GitHub's path templates for the endpoints Faultline calls. ``{name*}`` spans slashes.
TEMPLATES = (
    "/app",
    "/app/installations/{installation_id}",
    "/app/installations/{installation_id}/access_tokens",
    "/app/hook/deliveries",
    "/app/hook/deliveries/{delivery_id}",
    "/app/hook/deliveries/{delivery_id}/attempts",
    "/app-manifests/{code}/conversions",
    "/graphql",
    "/repos/{owner}/{repo}",
    "/repos/{owner}/{repo}/installation",
    "/repos/{owner}/{repo}/pulls",
    "/repos/{owner}/{repo}/pulls/{pull_number}",
    "/repos/{owner}/{repo}/pulls/{pull_number}/files",
    "/repos/{owner}/{repo}/pulls/{pull_number}/comments",
    "/repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies",
    "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
    "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}",
    "/repos/{owner}/{repo}/check-runs",
    "/repos/{owner}/{repo}/check-runs/{check_run_id}",
    "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations",
    "/repos/{owner}/{repo}/commits/{ref*}/check-runs",
    "/repos/{owner}/{repo}/compare/{basehead*}",
    "/repos/{owner}/{repo}/contents",
    "/repos/{owner}/{repo}/contents/{path*}",
    "/repos/{owner}/{repo}/git/trees/{tree_sha}",
    "/repos/{owner}/{repo}/git/blobs/{file_sha}",
    "/repos/{owner}/{repo}/collaborators/{username}/permission",
    "/repos/{owner}/{repo}/issues/{issue_number}/comments",
    "/repos/{owner}/{repo}/issues/comments/{comment_id}",
    "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
)
# Link headers name a repository by id; the label stays the one of /repos/{owner}/{repo}.
BY_ID = re.compile(r"^/repositories/[^/]+")


def _pattern(template: str) -> re.Pattern[str]:
    regex = re.escape(template)
    regex = re.sub(r"\\\{\w+\\\*\\\}", ".+", regex)
    regex = re.sub(r"\\\{\w+\\\}", "[^/]+", regex)
    return re.compile(f"^{regex}\\Z", re.DOTALL)


_PATTERNS = tuple((_pattern(template), template.replace("*}", "}")) for template in TEMPLATES)


@lru_cache(maxsize=4096)
def _template(path: str) -> str:
    path = BY_ID.sub("/repos/{owner}/{repo}", path, count=1)
    for pattern, template in _PATTERNS:
        if pattern.match(path):
            return template
    first = path.strip("/").split("/", 1)[0]
    return f"/{first}/..." if first else "/"


def endpoint(method: str, path: str) -> str:
    """``"<METHOD> <template>"`` for a request to ``path`` (decoded, without the API's base path)."""
    return f"{method.upper()} {_template(path) if len(path) < 2048 else '/...'}"
