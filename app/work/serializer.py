"""Queue messages as JSON, never pickle.

huey pickles its messages by default: anyone who can write to the queue (a shared Redis)
could then run code in every worker. This serializer writes huey's ``Message`` fields as
JSON and refuses anything else, so a message is data and nothing more; a pickled payload
put on the queue fails to decode and huey drops it with a logged error.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from huey.registry import Message
from huey.serializer import Serializer

_DATES = ("eta", "expires_resolved")
# Callbacks and chords would name further tasks to run: Faultline never uses them.
_UNUSED = ("on_complete", "on_error", "chord_config")


class MessageError(ValueError):
    """A queue message that is not one Faultline wrote."""


class JsonSerializer(Serializer):  # type: ignore[misc]
    def _serialize(self, data: Any) -> bytes:
        if not isinstance(data, Message):
            raise MessageError(f"only task messages go on the queue, not {type(data).__name__}")
        fields = data._asdict()
        for name in _UNUSED:
            if fields[name] is not None:
                raise MessageError(f"message field {name} is not supported")
        for name in _DATES:
            value = fields[name]
            fields[name] = value.isoformat() if isinstance(value, datetime) else None
        fields["args"] = list(fields["args"] or ())
        return json.dumps(fields, separators=(",", ":")).encode()

    def _deserialize(self, data: bytes) -> Message:
        try:
            fields = json.loads(data)
        except (ValueError, UnicodeDecodeError) as err:
            raise MessageError("queue message is not JSON (a pickle?): refused") from err
        if not isinstance(fields, dict) or set(fields) - set(Message._fields):
            raise MessageError("queue message has unknown fields: refused")
        if not isinstance(fields.get("name"), str) or not isinstance(fields.get("args", []), list):
            raise MessageError("queue message lacks a task name or arguments: refused")
        for name in _UNUSED:
            if fields.get(name) is not None:
                raise MessageError(f"queue message field {name} is not supported: refused")
        for name in _DATES:
            value = fields.get(name)
            fields[name] = datetime.fromisoformat(value) if isinstance(value, str) else None
        fields["args"] = tuple(fields.get("args") or ())
        fields["kwargs"] = dict(fields.get("kwargs") or {})
        return Message(**fields)
