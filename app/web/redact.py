"""Keep the App-manifest code out of the logs.

GitHub sends the browser back to ``/setup/callback?code=...``, and the code is then
posted to ``/app-manifests/{code}/conversions``: for an hour, that code can be
exchanged for the new App's private key. uvicorn's access log writes the first URL,
httpx's request log the second; every log line goes through ``redact_secrets``.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any

REDACTED = "[redacted]"
# Any query string on a /setup/ path, whatever it carries; the code in a conversion URL.
_SETUP_QUERY = re.compile(r"(/setup/[^\s?#\"']*)\?[^\s#\"']*")
_MANIFEST_CODE = re.compile(r"(/app-manifests/)[^/\s?#\"']+")


def redact(text: str) -> str:
    if "/setup/" not in text and "/app-manifests/" not in text:
        return text
    text = _SETUP_QUERY.sub(rf"\1?{REDACTED}", text)
    return _MANIFEST_CODE.sub(rf"\1{REDACTED}", text)


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: redact every text value of the line, its message included."""
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = redact(value)
    return event_dict
