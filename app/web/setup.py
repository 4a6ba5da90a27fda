"""Registering the GitHub App through GitHub's App manifest flow, as Probot does.

The setup page posts the manifest to GitHub; GitHub creates the App and sends the browser
back to ``/setup/callback`` with a one-time code, which is exchanged for the App's id, private
key and webhook secret; those are written to the ``.env`` file the next start reads.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

from githubkit import GitHub
from githubkit.exception import RequestError, RequestFailed
from pydantic import BaseModel, ConfigDict, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from faultline import __version__
from faultline.app.links import DEPLOY_DOCS_URL, RULES_PATH
from faultline.app.settings import Settings
from faultline.app.web.credentials import (
    AlreadyStored,
    Saved,
    save_credentials,
    stored_credentials,
)

# Read from the working directory when present, so a deployment can rename the App or
# change what it asks for; otherwise DEFAULT_MANIFEST (the repository's app.yml says the same).
MANIFEST_FILE = Path("app.yml")
DEFAULT_MANIFEST: dict[str, Any] = {
    "name": "Faultline",
    "description": "Reviews pull requests for the reliability risks a senior reviewer catches "
    "and a linter misses.",
    "public": False,
    "default_permissions": {
        "checks": "write",
        "pull_requests": "write",
        "contents": "read",
        "metadata": "read",
        "issues": "read",
    },
    "default_events": ["pull_request", "issue_comment", "check_run", "check_suite"],
}
CALLBACK_PATH = "/setup/callback"
FORWARDER_DOCS_URL = f"{DEPLOY_DOCS_URL}#try-a-local-instance-against-githubcom"
REQUIRED_CHECK_DOCS_URL = f"{DEPLOY_DOCS_URL}#make-faultline-a-required-check"
SETUP_MODE_DOCS_URL = f"{DEPLOY_DOCS_URL}#a-public-url-that-is-not-localhost"
WEBHOOK_PATH = "/webhook"
STATE_COOKIE = "faultline_setup_state"
NOT_WRITTEN = (
    '<p class="warning">Could not write <code>{env_file}</code> ({error}). The credentials are in '
    "<code>{saved}</code>, which the next start reads; move them to the environment or to "
    "<code>{env_file}</code> when you can.</p>"
)
STATE_LIFETIME_SECONDS = 3600  # GitHub's manifest code also expires after an hour
MAX_OPEN_STATES = 64
# GitHub logins: alphanumerics and single hyphens, at most 39 characters.
LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$")
CODE = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}

ENV_APP_ID = "FAULTLINE_APP_ID"
ENV_APP_SLUG = "FAULTLINE_APP_SLUG"
ENV_PRIVATE_KEY = "FAULTLINE_PRIVATE_KEY"
ENV_WEBHOOK_SECRET = "FAULTLINE_WEBHOOK_SECRET"

BAD_STATE = "This registration link is unknown or expired (or was opened in another browser): start again."
ALREADY_DONE = "The App is already registered: restart faultline serve to use it."
ALREADY_STORED = "App credentials are already stored in {path}: restart faultline serve to use them."
BAD_CODE = "GitHub sent no valid code back: start again."
CODE_REFUSED = "GitHub refused the code ({status}): a code works once and for an hour; start again."
UNREACHABLE = "Could not reach GitHub at {url}: {error}"
NO_SECRET = (
    "GitHub returned no webhook secret for the App: set one in the App's settings "
    "and in FAULTLINE_WEBHOOK_SECRET."
)


class SetupError(Exception):
    """The registration cannot go on; the message is for the person at the browser."""


class ManifestFile(BaseModel):
    """The static part of the manifest; URLs are filled in from the settings."""

    model_config = ConfigDict(extra="allow")

    name: str
    description: str = ""
    public: bool = False
    default_permissions: dict[str, Literal["read", "write"]]
    default_events: list[str]


def load_manifest(path: Path = MANIFEST_FILE) -> dict[str, Any]:
    """The manifest file's fields, or DEFAULT_MANIFEST when there is no file. Raises SetupError."""
    if not path.is_file():
        return dict(DEFAULT_MANIFEST)
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
        return ManifestFile.model_validate(data).model_dump()
    except (YAMLError, ValidationError) as err:
        raise SetupError(f"{path}: {err}") from None


def build_manifest(
    settings: Settings, base: Mapping[str, Any], webhook_url: str | None = None
) -> dict[str, Any]:
    return {
        **base,
        "url": settings.public_url,
        "hook_attributes": {"url": webhook_url or settings.public_url + WEBHOOK_PATH, "active": True},
        "redirect_url": settings.public_url + CALLBACK_PATH,
    }


def registration_url(settings: Settings, state: str, org: str | None = None) -> str:
    """Where the manifest is posted: the user's new-App page, or an organization's."""
    if org:
        if not LOGIN.match(org):
            raise SetupError(f"{org!r} is not a GitHub organization name")
        path = f"/organizations/{org}/settings/apps/new"
    else:
        path = "/settings/apps/new"
    return f"{settings.github_url}{path}?{urlencode({'state': state})}"


def is_local(url: str) -> bool:
    """True when GitHub could not deliver to ``url`` (it refuses local hosts)."""
    return (urlsplit(url).hostname or "") in LOCAL_HOSTS


def checked_webhook_url(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SetupError(f"{url!r} is not an http(s) URL")
    return url


@dataclass(frozen=True)
class Credentials:
    app_id: int
    slug: str
    name: str
    html_url: str
    private_key: str
    webhook_secret: str

    def env(self) -> dict[str, str]:
        # One line per value: the PEM's newlines are written as \n, which Settings turns back.
        key = self.private_key.strip().replace("\r\n", "\n").replace("\n", "\\n")
        return {
            ENV_APP_ID: str(self.app_id),
            ENV_APP_SLUG: self.slug,
            ENV_PRIVATE_KEY: key,
            ENV_WEBHOOK_SECRET: self.webhook_secret,
        }


class SetupFlow:
    """The state of one server's registration: open ``state`` values, and whether it is done."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._states: dict[str, float] = {}
        self.done: Credentials | None = None
        self.saved: Saved | None = None
        # One callback at a time: two would both exchange a code and write credentials.
        self._completing = asyncio.Lock()

    def stored_elsewhere(self) -> Path | None:
        """Where credentials this flow did not write are stored, if anywhere: then the
        setup pages must not register a second App over them."""
        return None if self.done is not None else stored_credentials(self.settings)

    def new_state(self) -> str:
        now = time.monotonic()
        self._states = {s: t for s, t in self._states.items() if t > now}
        while len(self._states) >= MAX_OPEN_STATES:
            self._states.pop(next(iter(self._states)))
        state = secrets.token_urlsafe(24)
        self._states[state] = now + STATE_LIFETIME_SECONDS
        return state

    def state_for(self, cookie: str | None) -> str:
        """The browser's state while it is open (a reload or a second tab must not
        make the first page's form stale), else a new one."""
        expiry = self._states.get(cookie) if cookie else None
        if cookie and expiry is not None and expiry > time.monotonic():
            return cookie
        return self.new_state()

    def take_state(self, state: str | None, cookie: str | None) -> None:
        """Accept a state once: it must be open, and the browser's cookie must carry it."""
        expiry = self._states.pop(state, None) if state else None
        if expiry is None or expiry < time.monotonic() or not cookie:
            raise SetupError(BAD_STATE)
        if not secrets.compare_digest(state or "", cookie):
            raise SetupError(BAD_STATE)

    async def complete(self, code: str | None, state: str | None, cookie: str | None) -> Credentials:
        async with self._completing:
            if self.done is not None:
                raise SetupError(ALREADY_DONE)
            self.take_state(state, cookie)
            stored = stored_credentials(self.settings)
            if stored is not None:
                raise SetupError(ALREADY_STORED.format(path=stored))
            if not code or not CODE.match(code):
                raise SetupError(BAD_CODE)
            credentials = await exchange_code(self.settings.github_api_url, code)
            try:
                self.saved = save_credentials(self.settings, credentials.env())
            except AlreadyStored as err:  # written since the check above, by another process
                raise SetupError(ALREADY_STORED.format(path=err.path)) from None
            self.done = credentials
            return credentials


async def exchange_code(api_url: str, code: str) -> Credentials:
    """``POST /app-manifests/{code}/conversions``: the new App's credentials."""
    github = GitHub(base_url=api_url, user_agent=f"faultline/{__version__}")
    try:
        response = await github.rest.apps.async_create_from_manifest(code)
    except RequestFailed as err:
        raise SetupError(CODE_REFUSED.format(status=err.response.status_code)) from None
    except RequestError as err:
        raise SetupError(UNREACHABLE.format(url=api_url, error=err.exc)) from None
    app = response.parsed_data
    if not app.webhook_secret:
        raise SetupError(NO_SECRET)
    slug = app.slug if isinstance(app.slug, str) else app.html_url.rstrip("/").rsplit("/", 1)[-1]
    return Credentials(app.id, slug, app.name, app.html_url, app.pem, app.webhook_secret)


def manifest_json(manifest: Mapping[str, Any]) -> str:
    return json.dumps(manifest, separators=(",", ":"))


# Pages. Every value is HTML-escaped before it goes into a template.


def _template(name: str) -> Template:
    return Template((resources.files("faultline.app.web") / "static" / name).read_text(encoding="utf-8"))


# On top of every page: the way back, the rules, and the documentation (a URL: a wheel has no docs/).
NAV = (
    f'<nav><a href="/">Faultline</a> · <a href="{RULES_PATH}/">Rules</a> · '
    f'<a href="{escape(DEPLOY_DOCS_URL)}">Documentation</a></nav>'
)


def page(title: str, body_html: str) -> str:
    """A page of this server: ``body_html`` under the navigation."""
    return _template("page.html").substitute(title=escape(title), nav=NAV, body=body_html)


def setup_page(
    settings: Settings,
    base: Mapping[str, Any],
    state: str,
    webhook_url: str | None = None,
    org: str | None = None,
) -> str:
    manifest = build_manifest(settings, base, webhook_url)
    hook = manifest["hook_attributes"]["url"]
    warning = ""
    if is_local(hook):
        warning = (
            '<p class="warning">GitHub cannot deliver webhooks to a local address. Start a webhook '
            f'forwarder (see <a href="{escape(FORWARDER_DOCS_URL)}">Try a local instance</a>), or set '
            "FAULTLINE_PUBLIC_URL, and give its URL under <em>Another webhook URL</em> below.</p>"
        )
    wanted = sorted(manifest["default_permissions"].items())
    permissions = "".join(f"<li>{escape(name)}: {escape(level)}</li>" for name, level in wanted)
    events = "".join(f"<li><code>{escape(str(event))}</code></li>" for event in manifest["default_events"])
    return _template("setup.html").substitute(
        name=escape(str(manifest["name"])),
        github_url=escape(settings.github_url),
        owner_note=f" for the organization <strong>{escape(org)}</strong>" if org else "",
        env_file=escape(str(settings.env_file)),
        warning=warning,
        action=escape(registration_url(settings, state, org)),
        manifest=escape(manifest_json(manifest)),
        webhook_url=escape(hook),
        org=escape(org or ""),
        permissions=permissions,
        events=events,
        nav=NAV,
        docs_url=escape(DEPLOY_DOCS_URL),
        setup_mode_url=escape(SETUP_MODE_DOCS_URL),
    )


def install_url(settings: Settings, slug: str) -> str:
    return f"{settings.github_url}/apps/{slug}/installations/new"


def registered_page(settings: Settings, credentials: Credentials, saved: Saved | None = None) -> str:
    saved = saved or Saved(settings.env_file)
    note = ""
    if saved.path != settings.env_file:
        note = NOT_WRITTEN.format(
            env_file=escape(str(settings.env_file)), error=escape(saved.error), saved=escape(str(saved.path))
        )
    return _template("registered.html").substitute(
        name=escape(credentials.name),
        env_file=escape(str(saved.path)),
        note=note,
        install_url=escape(install_url(settings, credentials.slug)),
        html_url=escape(credentials.html_url),
        nav=NAV,
        required_check_url=escape(REQUIRED_CHECK_DOCS_URL),
    )


def message_page(title: str, message: str, *, kind: str = "", more_html: str = "") -> str:
    return _template("message.html").substitute(
        title=escape(title), message=escape(message), kind=escape(kind), more=more_html, nav=NAV
    )
