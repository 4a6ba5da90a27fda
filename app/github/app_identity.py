"""Who Faultline is on GitHub. Without ``FAULTLINE_APP_SLUG`` the App asks: ``GET /app``
with the App's JWT gives its slug and id, once per process. Only then can another
App's comments, which may carry a marker like ours, be told apart from our own."""

from __future__ import annotations

import threading

from faultline.app.github.client import InstallationClient
from faultline.app.github.threads import Identity
from faultline.app.settings import Settings

# (API URL, App id) -> the App's identity. Jobs run in threads, each with its own event loop.
_known: dict[tuple[str, int | None], Identity] = {}
_known_guard = threading.Lock()


class IdentityError(RuntimeError):
    """GitHub's answer to ``GET /app`` names no App."""


async def app_identity(settings: Settings, client: InstallationClient) -> Identity:
    if settings.app_slug:
        return Identity(settings.app_slug, settings.app_id)
    key = (settings.github_api_url, settings.app_id)
    with _known_guard:
        known = _known.get(key)
    if known is not None:
        return known
    response = await client.call_as_app(lambda gh: gh.rest.apps.async_get_authenticated())
    app = response.parsed_data
    if app is None:
        raise IdentityError("GET /app answered with no App")
    # The slug is optional in GitHub's schema; the App's page URL ends with it.
    slug = app.slug if isinstance(app.slug, str) else app.html_url.rstrip("/").rsplit("/", 1)[-1]
    found = Identity(slug, app.id)
    with _known_guard:
        return _known.setdefault(key, found)
