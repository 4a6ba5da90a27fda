"""Which comments are Faultline's when ``FAULTLINE_APP_SLUG`` is not set: the App asks
GitHub (``GET /app``) who it is, against the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from faultline.app.github.app_identity import app_identity
from faultline.app.github.client import InstallationClient
from faultline.app.render.comment import MARKER, fingerprint_in
from tests.app.sim_fixtures import World, sim_world
from tests.app.test_jobs_e2e import AUTH
from tests.github_sim.reviews import add_thread

OTHER_BOT = "copycat[bot]"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with sim_world(tmp_path) as made:
        made.settings = made.settings.model_copy(update={"app_slug": None})
        yield made


def _identity(world: World) -> tuple[str | None, int | None]:
    async def ask() -> tuple[str | None, int | None]:
        async with InstallationClient(world.settings, world.installation.id) as client:
            found = await app_identity(world.settings, client)
            return found.slug, found.app_id

    return asyncio.run(ask())


def test_the_app_learns_its_slug_once_per_process(world: World) -> None:
    assert _identity(world) == (world.sim.app.slug, world.sim.app.id) == ("faultline", world.sim.app.id)
    assert _identity(world) == ("faultline", world.sim.app.id)
    asked = world.sim.requests_matching("GET", "/app")
    assert [(r.status, r.auth) for r in asked] == [(200, "jwt")]


def test_the_simulator_answers_get_app_as_github_does(world: World) -> None:
    async def ask() -> dict[str, Any]:
        async with InstallationClient(world.settings, world.installation.id) as client:
            response = await client.call_as_app(lambda gh: gh.rest.apps.async_get_authenticated())
            answer: dict[str, Any] = response.json()
            return answer

    app = asyncio.run(ask())
    assert app["id"] == world.sim.app.id
    assert {key: app[key] for key in ("slug", "name", "html_url", "installations_count")} == {
        "slug": "faultline",
        "name": "Faultline",
        "html_url": "https://github.com/apps/faultline",
        "installations_count": 1,
    }
    assert app["owner"]["login"] == world.sim.app.owner.login and app["client_id"].startswith("Iv")


def test_another_bots_comment_with_our_marker_is_not_ours(world: World) -> None:
    # The fingerprint Faultline gives the finding, from a first pull request with the same file.
    first = world.open_pull({"app/auth.py": AUTH})
    world.run(first)
    (ours,) = world.sim.review_comments(first)
    fingerprint = fingerprint_in(ours.body)
    assert fingerprint and ours.user.login == "faultline[bot]"

    pull = world.open_pull({"app/auth.py": AUTH})
    # Another App's comment that looks like Faultline's: the same finding, and a gone one.
    add_thread(world.sim, pull, OTHER_BOT, "app/auth.py", 8, body=MARKER.format(fingerprint=fingerprint))
    add_thread(world.sim, pull, OTHER_BOT, "app/auth.py", 2, body=MARKER.format(fingerprint="0ld0ne"))
    world.run(pull)
    by_us = [c for c in world.sim.review_comments(pull) if c.user.login == "faultline[bot]"]
    assert [(c.path, c.line, fingerprint_in(c.body)) for c in by_us] == [("app/auth.py", 8, fingerprint)]
    assert not any(thread.is_resolved for thread in world.sim.threads(pull))  # not ours to resolve
    assert len(world.sim.requests_matching("GET", "/app")) == 1
