"""FL008 in-process-connection-registry: live connections are kept in a container of one process."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from faultline.analyzers.core.context import Context
from faultline.analyzers.core.findings import Hit, Severity
from faultline.analyzers.core.rule import Invalid, Rule, Valid
from faultline.analyzers.core.source import SourceFile
from faultline.analyzers.languages import python
from faultline.analyzers.lib.python.nodes import call_name, node_index, span
from faultline.analyzers.lib.python.web import web_imports

Function = ast.FunctionDef | ast.AsyncFunctionDef
# Values that start an empty container of things added later.
EMPTY_CONTAINERS = frozenset(
    {"list", "dict", "set", "defaultdict", "OrderedDict", "deque", "WeakSet", "WeakValueDictionary"}
)
CONNECTION_TYPE = re.compile(r"WebSocket|Websocket|ServerConnection|ServerProtocol")
QUEUE_TYPE = re.compile(r"\bQueue\b|MemoryObjectSendStream")
# Words of a variable's name that say it holds a socket: ``ws``, ``websocket``, ``client_ws``.
SOCKET_WORDS = frozenset({"ws", "websocket", "socket", "sock"})
QUEUE_FACTORIES = frozenset({"Queue", "create_memory_object_stream"})
# Calls that put an item into a container.
ADDING_METHODS = frozenset({"append", "add", "insert", "appendleft"})
# A module that fans out through one of these already keeps only its own
# process's sockets, which is the right design.
SHARED_BACKEND = re.compile(
    r"pubsub\(|\.p?subscribe\(|broadcaster|Broadcast\(|channel_layer|RedisManager|KombuManager"
    r"|AioPikaManager|KafkaManager|ZmqManager|client_manager\s*=|message_queue\s*=|add_listener\("
)
SSE_EVIDENCE = re.compile(r"text/event-stream|EventSourceResponse|sse_starlette")
MESSAGE = (
    "`{name}` keeps {what} in this process's memory: with a second worker or replica, "
    "a broadcast reaches only the clients connected to the same process; fan messages out "
    "through a shared pub/sub backend (Redis pub/sub, `broadcaster`, a Channels layer)"
)


@dataclass(frozen=True)
class Registry:
    """A container that may hold connections, and how code refers to it."""

    name: str  # as the message shows it: "active_connections", "Manager.active_connections"
    attribute: str  # the name or attribute code adds items through
    owners: frozenset[str]  # for an attribute, the receivers that reach it: "self", "cls", the class
    statement: ast.stmt
    annotation: ast.expr | None


class InProcessConnectionRegistry(Rule):
    """
    ## What it does
    Checks for live connections kept in a container that lives as long as the
    process: a module-level or class-level list, dict or set of WebSockets
    (`active_connections: List[WebSocket] = []`), of Server-Sent Events queues, or
    of Channels consumers, and a connection manager whose `__init__` starts such a
    container and which the module instantiates once (`manager = ConnectionManager()`).

    ## Why is this risky?
    Every worker process and every replica has its own copy of the container. The
    service works on one process in development; deployed with four uvicorn
    workers or two pods, a client connected to one process never receives what
    another process broadcasts: chat messages, notifications and progress updates
    reach a fraction of the users, depending on which process their socket
    landed on, and nothing fails loudly.

    Reported only in a web app (the module imports FastAPI, Starlette, Flask,
    Django Channels, Socket.IO, websockets, ...) or when a WebSocket type names
    what the container holds. Not reported when the module already fans out
    through a shared backend (Redis pub/sub, `broadcaster`, a Channels layer, a
    Socket.IO client manager or `message_queue`): then each process keeps only its
    own sockets, which is right. Tests are not checked.

    ## Example
    ```python
    from fastapi import FastAPI, WebSocket

    class ConnectionManager:
        def __init__(self):
            self.active_connections: list[WebSocket] = []

        async def broadcast(self, message: str):
            for connection in self.active_connections:
                await connection.send_text(message)

    manager = ConnectionManager()
    ```

    ## Use instead
    ```python
    from broadcaster import Broadcast
    from fastapi import FastAPI, WebSocket

    broadcast = Broadcast(os.environ["REDIS_URL"])

    @app.websocket("/ws")
    async def chat(websocket: WebSocket):
        await websocket.accept()
        async with broadcast.subscribe(channel="chat") as subscriber:
            async for event in subscriber:
                await websocket.send_text(event.message)
    ```
    """

    code = "FL008"
    slug = "in-process-connection-registry"
    severity = Severity.WARNING
    summary = "Live connections are kept in a container of one process"
    production_only = True
    compare_base = True
    needles = (b"sock", b"Sock", b"event-stream", b"EventSource", b"sse_starlette", b"Consumer")

    VALID: ClassVar[list[Valid]] = [
        # A manager made elsewhere may be one process's half of a pub/sub design
        # (another module subscribes to Redis and hands it messages): not reported.
        Valid(
            "from typing import List\nfrom fastapi import WebSocket\n\nclass WebsocketClientManager:\n"
            "    def __init__(self):\n        self.clients: dict[int, List[WebSocket]] = {}\n"
        ),
        # Each process keeps its own sockets and Redis carries messages between them.
        Valid(
            "import redis.asyncio as redis\nfrom fastapi import WebSocket\n\n"
            "connections: list[WebSocket] = []\n\n"
            "async def relay():\n    pubsub = redis.from_url(URL).pubsub()\n"
            "    await pubsub.subscribe('chat')\n"
        ),
        # Not connections: a cache of HTTP clients.
        Valid("import httpx\nfrom fastapi import FastAPI\n\nclients: dict[str, httpx.AsyncClient] = {}\n"),
        # A local list lives for one call.
        Valid(
            "from fastapi import WebSocket\n\n"
            "async def notify(sockets: list[WebSocket]):\n    alive: list[WebSocket] = []\n"
            "    for ws in sockets:\n        alive.append(ws)\n"
        ),
        # A manager the module never instantiates: the app decides where it lives.
        Valid(
            "from fastapi import WebSocket\n\nclass ConnectionManager:\n"
            "    def __init__(self):\n        self.active = []\n\n"
            "    async def connect(self, websocket: WebSocket):\n        self.active.append(websocket)\n"
        ),
        Valid(
            "from fastapi import WebSocket\n\nactive_connections: list[WebSocket] = []\n",
            path="tests/test_ws.py",
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        # The risk report's own snippet.
        Invalid(
            "# WebSocket connections stored in memory\nclass WebSocketManager:\n"
            "    active_connections: List[WebSocket] = []  # Non-persistent, fails at scale\n",
            line=3,
            message="`WebSocketManager.active_connections` keeps live WebSocket connections",
        ),
        Invalid(
            "from fastapi import FastAPI, WebSocket\n\nclass ConnectionManager:\n"
            "    def __init__(self):\n        self.active_connections = []\n\n"
            "    async def connect(self, websocket: WebSocket):\n        await websocket.accept()\n"
            "        self.active_connections.append(websocket)\n\n"
            "manager = ConnectionManager()\n",
            line=5,
            severity=Severity.WARNING,
            message="a broadcast reaches only the clients connected to the same process",
        ),
        Invalid(
            "from collections import defaultdict\nfrom flask import Flask\nfrom flask_sock import Sock\n\n"
            "rooms = defaultdict(list)\n\n@sock.route('/rooms/<room>')\ndef join(ws, room):\n"
            "    rooms[room].append(ws)\n",
            line=5,
            message="`rooms` keeps live WebSocket connections",
        ),
        Invalid(
            "import asyncio\nfrom sse_starlette.sse import EventSourceResponse\n\nsubscribers = set()\n\n"
            "@app.get('/events')\nasync def events():\n    queue = asyncio.Queue()\n"
            "    subscribers.add(queue)\n    return EventSourceResponse(stream(queue))\n",
            line=4,
            message="`subscribers` keeps Server-Sent Events queues",
        ),
        Invalid(
            "from channels.generic.websocket import AsyncWebsocketConsumer\n\nconnected = set()\n\n"
            "class ChatConsumer(AsyncWebsocketConsumer):\n    async def connect(self):\n"
            "        connected.add(self)\n        await self.accept()\n",
            line=3,
            message="`connected` keeps connected consumers",
        ),
    ]

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        if SHARED_BACKEND.search(source.text):
            return
        tree = python.module(source)
        web = bool(web_imports(tree.body))
        sse = bool(SSE_EVIDENCE.search(source.text))
        registries = list(_registries(tree))
        functions = _functions(node_index(tree).nodes) if registries else []
        additions: dict[int, list[Addition]] = {}  # per function, for every registry of the file
        for registry in registries:
            what = _holds(registry, functions, sse, additions)
            if what is None or not (web or what[1]):
                continue
            first, last = span(registry.statement)
            yield Hit(
                first,
                MESSAGE.format(name=registry.name, what=what[0]),
                end_line=last,
                column=registry.statement.col_offset + 1,
                statement=(first, last),
            )


# --- containers that live as long as the process ----------------------------


def _functions(nodes: list[ast.AST]) -> list[tuple[Function, ast.ClassDef | None]]:
    """Every function of the module, with the class it is a method of."""
    owners = {
        id(stmt): node
        for node in nodes
        if isinstance(node, ast.ClassDef)
        for stmt in node.body
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    return [
        (node, owners.get(id(node)))
        for node in nodes
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]


def _registries(tree: ast.Module) -> Iterator[Registry]:
    instantiated = _instantiated_classes(tree)
    for stmt in tree.body:
        target, annotation = _empty_container(stmt)
        if isinstance(target, ast.Name):
            yield Registry(target.id, target.id, frozenset(), stmt, annotation)
        elif isinstance(stmt, ast.ClassDef):
            yield from _class_registries(stmt, stmt.name in instantiated)


def _class_registries(cls: ast.ClassDef, instantiated: bool) -> Iterator[Registry]:
    owners = frozenset({"self", "cls", cls.name})
    for stmt in cls.body:
        target, annotation = _empty_container(stmt)
        if isinstance(target, ast.Name):
            yield Registry(f"{cls.name}.{target.id}", target.id, owners, stmt, annotation)
        elif instantiated and isinstance(stmt, ast.FunctionDef) and stmt.name == "__init__":
            for inner in stmt.body:
                target, annotation = _empty_container(inner)
                attribute = _self_attribute(target)
                if attribute is not None:
                    name = f"{cls.name}.{attribute}"
                    yield Registry(name, attribute, frozenset({"self"}), inner, annotation)


def _self_attribute(target: ast.expr | None) -> str | None:
    """ "x" for ``self.x``."""
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
        return target.attr
    return None


def _instantiated_classes(tree: ast.Module) -> set[str]:
    """Classes the module instantiates at its top level: ``manager = ConnectionManager()``."""
    found = set()
    for stmt in tree.body:
        value = stmt.value if isinstance(stmt, (ast.Assign, ast.AnnAssign)) else None
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
            found.add(value.func.id)
    return found


def _empty_container(stmt: ast.stmt) -> tuple[ast.expr | None, ast.expr | None]:
    """(target, annotation) of ``x = []``, ``x: set[Queue] = set()``, ``self.x = defaultdict(list)``."""
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        target, value, annotation = stmt.targets[0], stmt.value, None
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        target, value, annotation = stmt.target, stmt.value, stmt.annotation
    else:
        return None, None
    if isinstance(value, (ast.List, ast.Dict, ast.Set)):
        empty = not (value.keys if isinstance(value, ast.Dict) else value.elts)
    elif isinstance(value, ast.Call):
        empty = call_name(value.func)[1] in EMPTY_CONTAINERS and not value.args[1:] and not value.keywords
    else:
        empty = False
    return (target, annotation) if empty else (None, None)


# --- what the container holds ----------------------------------------------


def _holds(
    registry: Registry,
    functions: list[tuple[Function, ast.ClassDef | None]],
    sse: bool,
    additions: dict[int, list[Addition]],
) -> tuple[str, bool] | None:
    """(what the container holds, whether a type says so) or None when nothing says connections."""
    if registry.annotation is not None:
        typed = ast.unparse(registry.annotation)
        if CONNECTION_TYPE.search(typed):
            return "live WebSocket connections", True
        if sse and QUEUE_TYPE.search(typed):
            return "Server-Sent Events queues", False
    for function, owner in functions:
        known = additions.get(id(function))
        if known is None:
            known = additions[id(function)] = _additions(function)
        for value in _added_values(registry, known):
            what = _connection(value, function, owner, sse)
            if what is not None:
                return what
    return None


# (container, value, whether it is a call): ``x.append(v)`` is (x, v, True), ``x[k] = v`` (x, v, False).
Addition = tuple[ast.expr, ast.expr, bool]


def _additions(function: Function) -> list[Addition]:
    """What ``function`` may put into some container, in the order of ``ast.walk``: found in
    one walk per function, not one per container of the module."""
    found: list[Addition] = []
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            if node.func.attr in ADDING_METHODS:
                found.append((node.func.value, node.args[-1], True))
        elif isinstance(node, ast.Assign):
            found.extend(
                (target.value, node.value, False)
                for target in node.targets
                if isinstance(target, ast.Subscript)
            )
    return found


def _added_values(registry: Registry, additions: list[Addition]) -> Iterator[ast.expr]:
    """The values put into the container: ``x.append(v)``, ``x[k] = v``, ``x[k].add(v)``."""
    for container, value, called in additions:
        if _reaches(registry, container) if called else _refers(registry, container):
            yield value


def _reaches(registry: Registry, node: ast.expr) -> bool:
    """``node`` is the container, an item of it (``rooms[room]``) or ``rooms.setdefault(room, [])``."""
    if isinstance(node, ast.Subscript):
        node = node.value
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("setdefault", "get")
    ):
        node = node.func.value
    return _refers(registry, node)


def _refers(registry: Registry, node: ast.expr) -> bool:
    if not registry.owners:
        return isinstance(node, ast.Name) and node.id == registry.attribute
    return (
        isinstance(node, ast.Attribute)
        and node.attr == registry.attribute
        and isinstance(node.value, ast.Name)
        and node.value.id in registry.owners
    )


def _connection(
    value: ast.expr, function: Function, owner: ast.ClassDef | None, sse: bool
) -> tuple[str, bool] | None:
    """What ``value`` is when it is a connection: a WebSocket, an SSE queue, a consumer."""
    if isinstance(value, ast.Tuple):  # ``(websocket, user)``
        found = (_connection(item, function, owner, sse) for item in value.elts)
        return next((what for what in found if what is not None), None)
    if not isinstance(value, ast.Name):
        return None
    annotation = _parameter_annotation(function, value.id)
    if annotation is not None and CONNECTION_TYPE.search(ast.unparse(annotation)):
        return "live WebSocket connections", True
    if set(value.id.lower().split("_")) & SOCKET_WORDS:
        return "live WebSocket connections", False
    if value.id == "self" and owner is not None and _is_consumer(owner):
        return "connected consumers", False
    if sse and _bound_to_queue(function, value.id):
        return "Server-Sent Events queues", False
    return None


def _parameter_annotation(function: Function, name: str) -> ast.expr | None:
    arguments = function.args
    for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs):
        if arg.arg == name:
            return arg.annotation
    return None


def _is_consumer(owner: ast.ClassDef) -> bool:
    """A Channels consumer or a WebSocket endpoint class."""
    bases = [ast.unparse(base) for base in owner.bases]
    return any("websocket" in base.lower() or base.endswith("Consumer") for base in bases)


def _bound_to_queue(function: Function, name: str) -> bool:
    """``name = asyncio.Queue()`` (or an anyio memory stream) in ``function``."""
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            bound = {target.id for target in node.targets if isinstance(target, ast.Name)}
            if name in bound and call_name(node.value.func)[1] in QUEUE_FACTORIES:
                return True
    return False
