"""The App manifest and the registration flow, against the GitHub simulator."""

from __future__ import annotations

import html
import json
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from faultline.app.settings import CREDENTIALS_FILE, Settings
from faultline.app.web.credentials import AlreadyStored, save_credentials, write_env
from faultline.app.web.server import create_app
from faultline.app.web.setup import (
    DEFAULT_MANIFEST,
    STATE_COOKIE,
    SetupError,
    build_manifest,
    load_manifest,
    registration_url,
)
from tests.app.conftest import MakeSettings, StartServer
from tests.github_sim import GitHubSim, RunningSim, running_sim

ROOT = Path(__file__).resolve().parents[2]
GITHUB_URL = "https://github.example"
CONVERSIONS = "/app-manifests/{code}/conversions"


# The manifest.


def test_app_yml_is_the_default_manifest() -> None:
    assert load_manifest(ROOT / "app.yml") == DEFAULT_MANIFEST


def test_default_manifest_asks_for_what_the_app_needs() -> None:
    assert DEFAULT_MANIFEST["default_permissions"] == {
        "checks": "write",
        "pull_requests": "write",
        "contents": "read",
        "metadata": "read",
        "issues": "read",
    }
    assert sorted(DEFAULT_MANIFEST["default_events"]) == [
        "check_run",
        "check_suite",
        "issue_comment",
        "pull_request",
    ]
    assert DEFAULT_MANIFEST["public"] is False


def test_manifest_urls_come_from_the_public_url(make_settings: MakeSettings) -> None:
    manifest = build_manifest(make_settings(public_url="https://faultline.example.org/"), DEFAULT_MANIFEST)
    assert manifest["url"] == "https://faultline.example.org"
    assert manifest["hook_attributes"] == {"url": "https://faultline.example.org/webhook", "active": True}
    assert manifest["redirect_url"] == "https://faultline.example.org/setup/callback"


def test_manifest_file_can_rename_the_app_and_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "app.yml"
    path.write_text(
        "name: Faultline (acme)\ndefault_permissions: {checks: write}\ndefault_events: [check_run]\n"
    )
    assert load_manifest(path)["name"] == "Faultline (acme)"
    path.write_text("name: x\ndefault_permissions: {checks: admin}\ndefault_events: []\n")
    with pytest.raises(SetupError, match="checks"):
        load_manifest(path)


def test_registration_url_for_a_user_or_an_organization(make_settings: MakeSettings) -> None:
    settings = make_settings(github_url=GITHUB_URL)
    assert registration_url(settings, "s1") == f"{GITHUB_URL}/settings/apps/new?state=s1"
    assert (
        registration_url(settings, "s1", "acme-corp")
        == f"{GITHUB_URL}/organizations/acme-corp/settings/apps/new?state=s1"
    )
    with pytest.raises(SetupError, match="not a GitHub organization"):
        registration_url(settings, "s1", "../evil")


# The .env file.


def test_write_env_keeps_other_lines_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text(
        "# mine\nFAULTLINE_PUBLIC_URL=https://x.example\nexport FAULTLINE_APP_ID=1\nFAULTLINE_APP_ID=2\n"
    )
    path.chmod(0o644)
    write_env(path, {"FAULTLINE_APP_ID": "99", "FAULTLINE_WEBHOOK_SECRET": "abc"})
    assert path.read_text() == (
        "# mine\nFAULTLINE_PUBLIC_URL=https://x.example\nFAULTLINE_APP_ID=99\nFAULTLINE_WEBHOOK_SECRET=abc\n"
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [".env"]  # no temporary file left behind


def test_write_env_creates_the_file_private(tmp_path: Path) -> None:
    path = tmp_path / "conf" / ".env"
    write_env(path, {"A": "1"})
    assert path.read_text() == "A=1\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# The flow, over HTTP: our server in setup mode, the simulator as GitHub's API.


@pytest.fixture
def sim() -> Iterator[RunningSim]:
    with running_sim() as running:
        yield running


@pytest.fixture
def setup_settings(make_settings: MakeSettings, sim: RunningSim, tmp_path: Path) -> Settings:
    env_file = tmp_path / ".env"
    env_file.write_text("# kept\nFAULTLINE_PUBLIC_URL=https://faultline.example.org\n")
    return make_settings(
        app_id=None,
        app_slug=None,
        private_key=None,
        webhook_secret=None,
        github_api_url=sim.base_url,
        github_url=GITHUB_URL,
        public_url="https://faultline.example.org",
        env_file=env_file,
    )


def setup_form(page: str) -> tuple[str, dict[str, Any]]:
    """The registration form's action and the manifest it posts."""
    action = re.search(r'<form action="([^"]*)" method="post">', page)
    manifest = re.search(r'<input type="hidden" name="manifest" value="([^"]*)">', page)
    assert action and manifest, page
    return html.unescape(action.group(1)), json.loads(html.unescape(manifest.group(1)))


def conversions(github: GitHubSim) -> list[str]:
    return [record.path for record in github.requests if record.path.startswith("/app-manifests/")]


def test_setup_page_posts_the_manifest_to_github_with_a_state(
    setup_settings: Settings, start_server: StartServer
) -> None:
    url = start_server(create_app(setup_settings))
    with httpx.Client(base_url=url) as browser:
        page = browser.get("/")
        assert page.status_code == 200
        action, manifest = setup_form(page.text)
        cookie = browser.cookies.get(STATE_COOKIE)
    parts = urlsplit(action)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{GITHUB_URL}/settings/apps/new"
    assert parse_qs(parts.query) == {"state": [cookie]}
    assert manifest == build_manifest(setup_settings, DEFAULT_MANIFEST)
    assert "cannot deliver webhooks" not in page.text


def test_setup_page_for_an_organization_and_a_forwarder(
    make_settings: MakeSettings, start_server: StartServer
) -> None:
    settings = make_settings(app_id=None, private_key=None, webhook_secret=None, github_url=GITHUB_URL)
    url = start_server(create_app(settings))
    local = httpx.get(f"{url}/")
    assert "GitHub cannot deliver webhooks to a local address" in local.text
    page = httpx.get(f"{url}/", params={"org": "acme-corp", "webhook_url": "https://smee.io/AbC123"})
    action, manifest = setup_form(page.text)
    assert action.startswith(f"{GITHUB_URL}/organizations/acme-corp/settings/apps/new?state=")
    assert manifest["hook_attributes"]["url"] == "https://smee.io/AbC123"
    assert manifest["redirect_url"] == "http://127.0.0.1:8000/setup/callback"
    assert "cannot deliver webhooks" not in page.text
    assert httpx.get(f"{url}/", params={"org": "no/such"}).status_code == 400
    assert httpx.get(f"{url}/", params={"webhook_url": "javascript:alert(1)"}).status_code == 400


def test_setup_starts_on_the_public_url(make_settings: MakeSettings, start_server: StartServer) -> None:
    # A local server reached as 127.0.0.1 while its public URL says localhost: the state cookie
    # would be set for one host and missing when GitHub sends the browser back to the other.
    settings = make_settings(
        app_id=None, private_key=None, webhook_secret=None, public_url="http://localhost:8000"
    )
    url = start_server(create_app(settings))
    response = httpx.get(f"{url}/", params={"org": "acme"})
    assert response.status_code == 307
    assert response.headers["location"] == "http://localhost:8000/?org=acme"


def test_callback_writes_the_credentials_to_a_private_env_file(
    setup_settings: Settings, start_server: StartServer, sim: RunningSim
) -> None:
    app = sim.sim.register_manifest_code("code-123", slug="faultline-acme")
    url = start_server(create_app(setup_settings))
    with httpx.Client(base_url=url) as browser:
        _action, _manifest = setup_form(browser.get("/").text)
        state = browser.cookies.get(STATE_COOKIE)
        done = browser.get("/setup/callback", params={"code": "code-123", "state": state})
    assert done.status_code == 200, done.text
    assert f'href="{GITHUB_URL}/apps/faultline-acme/installations/new"' in done.text
    assert "Restart" in done.text

    env_file = setup_settings.env_file
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    lines = env_file.read_text().splitlines()
    assert lines[:2] == ["# kept", "FAULTLINE_PUBLIC_URL=https://faultline.example.org"]
    assert lines[2:4] == [f"FAULTLINE_APP_ID={app.id}", "FAULTLINE_APP_SLUG=faultline-acme"]
    assert lines[4].startswith("FAULTLINE_PRIVATE_KEY=-----BEGIN") and "\\n" in lines[4]
    assert lines[5] == f"FAULTLINE_WEBHOOK_SECRET={app.webhook_secret}"
    assert len(lines) == 6

    # The next start reads them back.
    loaded = Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert loaded.configured
    assert (loaded.app_id, loaded.app_slug) == (app.id, "faultline-acme")
    assert loaded.private_key is not None and loaded.private_key.get_secret_value() == app.private_pem.strip()
    assert (
        loaded.webhook_secret is not None and loaded.webhook_secret.get_secret_value() == app.webhook_secret
    )
    assert loaded.public_url == "https://faultline.example.org"
    assert conversions(sim.sim) == ["/app-manifests/code-123/conversions"]


def test_a_reload_or_a_second_tab_keeps_the_first_pages_state(
    setup_settings: Settings, start_server: StartServer, sim: RunningSim
) -> None:
    sim.sim.register_manifest_code("code-2", slug="faultline-acme")
    url = start_server(create_app(setup_settings))
    with httpx.Client(base_url=url) as browser:
        first, _manifest = setup_form(browser.get("/").text)
        second, _manifest = setup_form(browser.get("/").text)
        assert first == second
        state = parse_qs(urlsplit(first).query)["state"][0]
        done = browser.get("/setup/callback", params={"code": "code-2", "state": state})
    assert done.status_code == 200, done.text


def test_credentials_go_to_the_data_dir_when_the_env_file_cannot_be_written(
    make_settings: MakeSettings, start_server: StartServer, sim: RunningSim, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    settings = make_settings(
        app_id=None,
        app_slug=None,
        private_key=None,
        webhook_secret=None,
        github_api_url=sim.base_url,
        github_url=GITHUB_URL,
        public_url="https://faultline.example.org",
        env_file=blocker / ".env",
    )
    app = sim.sim.register_manifest_code("code-1", slug="faultline-acme")
    url = start_server(create_app(settings))
    with httpx.Client(base_url=url) as browser:
        setup_form(browser.get("/").text)
        state = browser.cookies.get(STATE_COOKIE)
        done = browser.get("/setup/callback", params={"code": "code-1", "state": state})
    assert done.status_code == 200, done.text
    saved = settings.data_dir / CREDENTIALS_FILE
    assert str(saved) in done.text and f"Could not write <code>{blocker / '.env'}</code>" in done.text
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert f"FAULTLINE_WEBHOOK_SECRET={app.webhook_secret}" in saved.read_text().splitlines()


def test_callback_with_a_wrong_state_is_refused_and_writes_nothing(
    setup_settings: Settings, start_server: StartServer, sim: RunningSim
) -> None:
    sim.sim.register_manifest_code("code-123")
    before = setup_settings.env_file.read_text()
    url = start_server(create_app(setup_settings))
    with httpx.Client(base_url=url) as browser:
        browser.get("/")
        state = browser.cookies.get(STATE_COOKIE)
        wrong = browser.get("/setup/callback", params={"code": "code-123", "state": "forged"})
        assert wrong.status_code == 400
        assert "unknown or expired" in wrong.text
        # The right state from another browser (no cookie) is refused too.
        stranger = httpx.get(f"{url}/setup/callback", params={"code": "code-123", "state": state})
        assert stranger.status_code == 400
        # A state is good for one try only.
        again = browser.get("/setup/callback", params={"code": "code-123", "state": state})
        assert again.status_code == 400
    assert setup_settings.env_file.read_text() == before
    assert conversions(sim.sim) == []


def test_code_refused_by_github_is_reported_and_writes_nothing(
    setup_settings: Settings, start_server: StartServer, sim: RunningSim
) -> None:
    before = setup_settings.env_file.read_text()
    url = start_server(create_app(setup_settings))
    with httpx.Client(base_url=url) as browser:
        browser.get("/")
        state = browser.cookies.get(STATE_COOKIE)
        refused = browser.get("/setup/callback", params={"code": "expired-code", "state": state})
    assert refused.status_code == 400
    assert "GitHub refused the code (404)" in refused.text
    assert setup_settings.env_file.read_text() == before


def test_registration_happens_once(
    setup_settings: Settings, start_server: StartServer, sim: RunningSim
) -> None:
    sim.sim.register_manifest_code("code-1")
    sim.sim.register_manifest_code("code-2")
    url = start_server(create_app(setup_settings))
    with httpx.Client(base_url=url) as browser:
        browser.get("/")
        first = browser.get(
            "/setup/callback", params={"code": "code-1", "state": browser.cookies.get(STATE_COOKIE)}
        )
        assert first.status_code == 200
        home = browser.get("/")
        assert "is registered" in home.text and 'name="manifest"' not in home.text
    second = httpx.get(f"{url}/setup/callback", params={"code": "code-2", "state": "x"})
    assert second.status_code == 400
    assert "already registered" in second.text
    assert conversions(sim.sim) == ["/app-manifests/code-1/conversions"]


def test_configured_server_has_no_setup_routes(
    make_settings: MakeSettings, start_server: StartServer
) -> None:
    url = start_server(create_app(make_settings(github_url=GITHUB_URL)))
    assert httpx.get(f"{url}/setup/callback", params={"code": "c", "state": "s"}).status_code == 404
    home = httpx.get(f"{url}/")
    assert "Faultline is running" in home.text
    assert f"{GITHUB_URL}/apps/faultline-test/installations/new" in home.text
    assert httpx.get(f"{url}/static/style.css").status_code == 200


def test_write_env_keeps_a_line_with_a_form_feed_whole(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("# section \x0c two\nFAULTLINE_PUBLIC_URL=https://x.example\n")
    write_env(path, {"FAULTLINE_APP_ID": "99"})
    assert path.read_text() == (
        "# section \x0c two\nFAULTLINE_PUBLIC_URL=https://x.example\nFAULTLINE_APP_ID=99\n"
    )


# Credentials stored already: no second App over them.


@pytest.mark.parametrize("where", ["data dir", "env file"])
def test_credentials_stored_since_the_start_close_the_setup_pages(
    setup_settings: Settings, start_server: StartServer, sim: RunningSim, where: str
) -> None:
    sim.sim.register_manifest_code("code-1")
    url = start_server(create_app(setup_settings))
    with httpx.Client(base_url=url) as browser:
        setup_form(browser.get("/").text)
        state = browser.cookies.get(STATE_COOKIE)
        # Meanwhile another process registers the App and stores its credentials.
        if where == "data dir":
            stored = setup_settings.data_dir / CREDENTIALS_FILE
            stored.parent.mkdir(parents=True)
            stored.write_text("FAULTLINE_APP_ID=1\n")
        else:
            stored = setup_settings.env_file
            stored.write_text(stored.read_text() + "FAULTLINE_APP_ID=1\n")
        before = stored.read_text()
        home = browser.get("/")
        assert home.status_code == 409 and 'name="manifest"' not in home.text
        assert f"already stored in {stored}" in home.text
        refused = browser.get("/setup/callback", params={"code": "code-1", "state": state})
    assert refused.status_code == 400 and "already stored" in refused.text
    assert stored.read_text() == before
    assert conversions(sim.sim) == []  # the code was not even exchanged


def test_saving_never_writes_over_a_credentials_file(make_settings: MakeSettings, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    settings = make_settings(env_file=blocker / ".env")
    saved = save_credentials(settings, {"FAULTLINE_APP_ID": "1"})
    assert (saved.path, saved.path.read_text()) == (
        settings.data_dir / CREDENTIALS_FILE,
        "FAULTLINE_APP_ID=1\n",
    )
    with pytest.raises(AlreadyStored):
        save_credentials(settings, {"FAULTLINE_APP_ID": "2"})
    assert saved.path.read_text() == "FAULTLINE_APP_ID=1\n"
    assert sorted(p.name for p in saved.path.parent.iterdir()) == [CREDENTIALS_FILE]  # no temporary left
