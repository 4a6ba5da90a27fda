"""Where Faultline's documentation lives, and the one way every output links to a rule's page.

The CLI, SARIF and JSON link to the repository's ``docs/rules/<slug>.md`` unless
``FAULTLINE_DOCS_URL`` says otherwise; the App links to the pages it serves itself,
``<public URL>/rules/<CODE>``. Nothing here imports the engine: the web process reads it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

# The same address as ``[project.urls]`` in pyproject.toml (a test compares them).
REPOSITORY_URL = "https://github.com/faultline-dev/faultline"
DOCS_URL = f"{REPOSITORY_URL}/blob/main/docs"
DEPLOY_DOCS_URL = f"{DOCS_URL}/deploy.md"
RULES_DOCS_URL = f"{DOCS_URL}/rules/{{slug}}.md"
DOCS_URL_VARIABLE = "FAULTLINE_DOCS_URL"
# The App's own rule pages (app/web/rule_pages.py).
RULES_PATH = "/rules"
# Hosts other people cannot reach: an App there links to the repository's pages instead.
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})


@dataclass(frozen=True)
class RuleLinks:
    """Where rule pages are. ``template`` holds ``{code}`` and/or ``{slug}``; a base URL
    without either is a folder of ``<slug>.md`` pages, as the repository's ``docs/rules/``."""

    template: str = RULES_DOCS_URL

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> RuleLinks:
        """``FAULTLINE_DOCS_URL`` when set (a fork's or a mirror's pages), else the repository's."""
        return cls.of(environ.get(DOCS_URL_VARIABLE) or RULES_DOCS_URL)

    @classmethod
    def of(cls, base: str) -> RuleLinks:
        if "{code}" in base or "{slug}" in base:
            return cls(base)
        return cls(f"{base.rstrip('/')}/{{slug}}.md")

    @classmethod
    def served_at(cls, public_url: str) -> RuleLinks:
        """The pages an App at ``public_url`` serves; the repository's when that URL is local."""
        if (urlsplit(public_url).hostname or "") in LOCAL_HOSTS:
            return cls()
        return cls(f"{public_url.rstrip('/')}{RULES_PATH}/{{code}}")

    def url(self, code: str, slug: str) -> str:
        return self.template.replace("{code}", code).replace("{slug}", slug)

    def index(self) -> str:
        """The page that lists every rule: the README of a folder of Markdown pages, else
        the folder itself (the App's ``/rules/``)."""
        folder = self.template.split("{", 1)[0].rsplit("/", 1)[0]
        return f"{folder}/README.md" if self.template.endswith(".md") else f"{folder}/"


# The repository's pages: what a link defaults to where no other base was given.
REPOSITORY_LINKS = RuleLinks()
