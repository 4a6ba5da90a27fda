"""FL008 in-process-connection-registry beyond its examples: diff mode, suppressions, backends."""

from __future__ import annotations

import textwrap

from faultline.analyzers.core.findings import Finding
from faultline.analyzers.core.rule import Valid
from faultline.analyzers.core.testing import run_example
from faultline.analyzers.rules.scaling.in_process_connection_registry import InProcessConnectionRegistry

MANAGER = """\
from fastapi import FastAPI, WebSocket


class ConnectionManager:
    def __init__(self):
        self.active_connections = []

    async def connect(self, websocket: WebSocket):
        self.active_connections.append(websocket)
{extra}

manager = ConnectionManager()
"""


def check(code: str, base: str | None = None, path: str = "app/ws.py") -> list[Finding]:
    return run_example(InProcessConnectionRegistry, Valid(textwrap.dedent(code), path=path, base=base))


def test_a_new_method_of_an_old_manager_is_not_reported_again() -> None:
    old = MANAGER.format(extra="")
    new = MANAGER.format(extra="\n    def count(self):\n        return len(self.active_connections)\n")
    assert check(new, base=old) == []
    assert [finding.line for finding in check(new)] == [6]


def test_a_socketio_server_with_a_message_queue_is_not_reported() -> None:
    code = """\
        import socketio

        sio = socketio.AsyncServer(client_manager=socketio.AsyncRedisManager(REDIS_URL))
        sockets = {}

        @sio.event
        async def connect(sid, environ):
            sockets[sid] = sid
        """
    assert check(code) == []


def test_a_suppression_on_the_line_silences_it() -> None:
    code = """\
        from fastapi import WebSocket

        connections: list[WebSocket] = []  # faultline: ignore[in-process-connection-registry] one worker
        """
    assert check(code) == []


def test_a_websocket_typed_parameter_marks_what_is_added() -> None:
    code = """\
        from starlette.websockets import WebSocket

        rooms = {}

        async def join(room: str, peer: WebSocket):
            rooms.setdefault(room, []).append(peer)
        """
    findings = check(code)
    assert [finding.line for finding in findings] == [3]
    assert "`rooms` keeps live WebSocket connections" in findings[0].message


def test_a_list_of_names_in_a_web_app_is_not_a_registry() -> None:
    code = """\
        from flask import Flask

        recent = []

        def remember(name):
            recent.append(name)
        """
    assert check(code) == []
