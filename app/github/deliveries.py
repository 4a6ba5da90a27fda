"""The App webhook's delivery log on GitHub: list recent attempts, ask for a redelivery.

Both calls are signed with the App's JWT (``GET /app/hook/deliveries``,
``POST /app/hook/deliveries/{id}/attempts``). GitHub lists every attempt, newest first,
redeliveries included (``redelivery: true``, same ``guid``), keeps them 3 days, and pages
them with an opaque ``cursor`` carried in the Link header rather than page numbers.

The calls go through ``transport.py`` like every other request to GitHub: counted in the
metrics, and a rate limit (a 403 or 429 secondary rate limit) pauses the App's own scans and
is an error the next scan tries again, never a refusal. They are tried once and never
waited for: a scan runs in the web process, and what fails waits for the next scan.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import httpx
from githubkit import AppAuthStrategy, GitHub
from githubkit_schemas.latest.models import HookDeliveryItem

from faultline import __version__
from faultline.app.github.client import NotConfiguredError
from faultline.app.github.limits import InstallationLimits
from faultline.app.github.transport import GitHubTransport, RetryPolicy
from faultline.app.settings import Settings

PER_PAGE = 100
# A scan stops here whatever the window: 50 pages is 5,000 attempts, more than a busy
# App's day; what lies beyond is older than any scan should reach.
MAX_PAGES = 50


@dataclass(frozen=True)
class DeliveryAttempt:
    """One attempt as ``GET /app/hook/deliveries`` lists it, reduced to what a scan reads."""

    id: int
    guid: str  # the X-GitHub-Delivery header, shared by the redeliveries of one delivery
    delivered_at: datetime
    redelivery: bool
    status_code: int
    event: str
    action: str | None
    installation_id: int | None

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status_code < 300


# The App's own pause and write window, apart from every installation's.
APP_LIMITS = InstallationLimits("app")


class AppWebhook:
    """The App's webhook, as the App itself (JWT). ``aclose`` when done."""

    def __init__(self, settings: Settings) -> None:
        if settings.app_id is None or settings.private_key is None:
            raise NotConfiguredError("FAULTLINE_APP_ID and FAULTLINE_PRIVATE_KEY are required to call GitHub")
        auth = AppAuthStrategy(settings.app_id, settings.private_key.get_secret_value())
        # One connection pool for the requests of a scan (GitHubTransport leaves it open when
        # githubkit closes the transport after each request): a new one costs a TLS context.
        self._pool = httpx.AsyncHTTPTransport(retries=1)
        once = replace(RetryPolicy.from_settings(settings), attempts=1, budget=0.0)
        base_path = httpx.URL(settings.github_api_url).path
        self.github = GitHub(
            auth,
            async_transport=GitHubTransport(self._pool, APP_LIMITS, once, base_path),
            base_url=settings.github_api_url,
            user_agent=f"faultline/{__version__}",
            timeout=settings.github_timeout_seconds,
            http_cache=False,
            # A scan runs in the web process: a failed call waits for the next scan, not in a sleep.
            auto_retry=False,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()

    async def attempts_since(self, since: datetime) -> list[DeliveryAttempt]:
        """Every attempt delivered at ``since`` or later, newest first.

        Raises githubkit's errors (or pydantic's on an answer of the wrong shape)."""
        found: list[DeliveryAttempt] = []
        cursor: str | None = None
        for _page in range(MAX_PAGES):
            if cursor is None:
                response = await self.github.rest.apps.async_list_webhook_deliveries(per_page=PER_PAGE)
            else:
                response = await self.github.rest.apps.async_list_webhook_deliveries(
                    per_page=PER_PAGE, cursor=cursor
                )
            page = [_attempt(item) for item in response.parsed_data]
            found.extend(attempt for attempt in page if attempt.delivered_at >= since)
            cursor = next_cursor(response.raw_response.links.get("next", {}).get("url"))
            if cursor is None or not page or page[-1].delivered_at < since:
                break
        return found

    async def redeliver(self, delivery_id: int) -> None:
        """Ask GitHub to send the delivery again (it answers 202 and sends it later)."""
        await self.github.rest.apps.async_redeliver_webhook_delivery(delivery_id)


def next_cursor(url: str | None) -> str | None:
    """The ``cursor`` of the next page's URL, None on the last page."""
    if not url:
        return None
    values = parse_qs(urlsplit(url).query).get("cursor")
    return values[0] if values else None


def _attempt(item: HookDeliveryItem) -> DeliveryAttempt:
    return DeliveryAttempt(
        id=item.id,
        guid=item.guid,
        delivered_at=item.delivered_at,
        redelivery=item.redelivery,
        status_code=item.status_code,
        event=item.event,
        action=item.action,
        installation_id=item.installation_id,
    )
