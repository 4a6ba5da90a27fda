"""The App webhook's delivery log (GitHub's "Webhooks" REST API for Apps), App JWT only:

- ``GET /app/hook/deliveries``: newest first, ``per_page`` up to 100, ``status`` success or
  failure, and pages linked by an opaque ``cursor`` in the Link header (never ``page``);
- ``GET /app/hook/deliveries/{delivery_id}``: one attempt, with its request and response;
- ``POST /app/hook/deliveries/{delivery_id}/attempts``: 202, then the same delivery is sent
  again (same guid, ``redelivery: true``) to the App's webhook URL.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from .calls import PER_PAGE_DEFAULT, PER_PAGE_MAX, ApiError, Call, not_found, ok, route
from .faults import Reply
from .hook_deliveries import Attempt

CURSOR_PREFIX = "v1_"
BAD_CURSOR = "Invalid cursor"
STATUSES = ("success", "failure")


@route("GET", "/app/hook/deliveries", auth="jwt")
def list_deliveries(call: Call) -> Reply:
    attempts = call.sim.hook_deliveries.of_app(_app_id(call))
    wanted = call.query.get("status")
    if wanted is not None:
        if wanted not in STATUSES:
            raise ApiError(422, f"status must be one of {', '.join(STATUSES)}")
        attempts = [a for a in attempts if a.succeeded == (wanted == "success")]
    before = _cursor(call.query.get("cursor"))
    if before is not None:
        attempts = [a for a in attempts if a.id < before]
    per_page = _per_page(call.query.get("per_page"))
    page = attempts[:per_page]
    if len(attempts) > per_page:
        query = {k: v for k, v in call.query.items() if k != "cursor"} | {
            "cursor": f"{CURSOR_PREFIX}{page[-1].id}"
        }
        call.reply_headers["Link"] = f'<{call.url_base}{call.path}?{urlencode(query)}>; rel="next"'
    return ok([attempt.item() for attempt in page])


@route("GET", "/app/hook/deliveries/{delivery_id}", auth="jwt")
def get_delivery(call: Call) -> Reply:
    attempt = _attempt(call)
    detail: dict[str, Any] = {
        "url": call.sim.hook_deliveries.url,
        "request": {"headers": attempt.headers, "payload": _payload(attempt)},
        "response": {"headers": {}, "payload": attempt.response_body or None},
    }
    return ok(attempt.item() | detail)


@route("POST", "/app/hook/deliveries/{delivery_id}/attempts", auth="jwt")
def redeliver(call: Call) -> Reply:
    call.sim.hook_deliveries.redeliver(_attempt(call))
    return ok({}, 202)


def _attempt(call: Call) -> Attempt:
    found = call.sim.hook_deliveries.find(call.int_param("delivery_id"))
    if found is None or found.app_id != _app_id(call):
        raise not_found()
    return found


def _app_id(call: Call) -> int:
    assert call.app is not None  # auth="jwt" routes always have one
    return call.app.id


def _per_page(text: str | None) -> int:
    number = int(text) if text is not None and text.isdigit() else PER_PAGE_DEFAULT
    return max(1, min(number, PER_PAGE_MAX))


def _cursor(text: str | None) -> int | None:
    if text is None:
        return None
    number = text.removeprefix(CURSOR_PREFIX)
    if not text.startswith(CURSOR_PREFIX) or not number.isdigit():
        raise ApiError(400, BAD_CURSOR)
    return int(number)


def _payload(attempt: Attempt) -> Any:
    return json.loads(attempt.body)
