"""FL010 call-without-timeout: a network call can wait forever."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from faultline.analyzers.core.context import Context
from faultline.analyzers.core.findings import Hit, Severity, Suggestion
from faultline.analyzers.core.rule import Invalid, Rule, Valid
from faultline.analyzers.core.source import SourceFile
from faultline.analyzers.languages import python
from faultline.analyzers.lib.python.calls import (
    append_keyword,
    functions,
    is_none,
    keyword_value,
    own_nodes,
    replace_node,
    splats_keywords,
)
from faultline.analyzers.lib.python.http_clients import (
    AIOHTTP_METHODS,
    CLIENT_CLASSES,
    HTTP_METHODS,
    HTTPX_FUNCTIONS,
    LIBRARIES,
    REQUESTS_FUNCTIONS,
    bound_clients,
    target_name,
)
from faultline.analyzers.lib.python.imports import import_map, imports_any, qualified_name
from faultline.analyzers.lib.python.nodes import node_index, on_lines, span

TIMEOUT = "timeout=10"
FIX_TITLE = "Give the call a timeout"
FOREVER = "a server that accepts the connection and never answers holds the caller forever"
REQUESTS_MISSING = "`{call}` has no `timeout=`: requests has no default timeout, so " + FOREVER
SESSION_MISSING = "`{call}` has no `timeout=`: a `requests.Session` has no default timeout, so " + FOREVER
REQUESTS_NONE = "`{call}` passes `timeout=None`: requests then waits without limit, so " + FOREVER
HTTPX_NONE = "`{call}` passes `timeout=None`, which turns off httpx's 5 s default, so " + FOREVER
URLOPEN_MISSING = "`{call}` has no `timeout=`: the socket default is no timeout, so " + FOREVER
SMTP_MISSING = (
    "`{call}` has no `timeout=`: the socket default is no timeout, so a mail server that stops "
    "answering holds the caller forever"
)
AIOHTTP_MISSING = (
    "`{call}` has no `timeout=`: aiohttp's default lets each request take 5 minutes, so a stalled "
    "server holds the caller that long; pass `timeout=aiohttp.ClientTimeout(total=...)`"
)
AIOHTTP_UNLIMITED = "`{call}` sets no limit at all, so " + FOREVER
URLOPEN = frozenset({"urllib.request.urlopen", "urllib2.urlopen"})
# The position of ``timeout`` among the positional parameters.
SMTP_CLASSES = {"smtplib.SMTP": 3, "smtplib.SMTP_SSL": 5, "smtplib.LMTP": 3}
SET_DEFAULT = "socket.setdefaulttimeout"
BINDINGS = (ast.Assign, ast.AnnAssign, ast.With, ast.AsyncWith)
WAITING_IMPORTS = (b"import requests", b"from requests", b"urlopen", b"aiohttp", b"smtplib")
CLIENT_TIMEOUTS = frozenset({"aiohttp.ClientTimeout", "aiohttp.client.ClientTimeout"})
# The callables ``_Judge.call`` judges by name (client constructors aside).
JUDGED = REQUESTS_FUNCTIONS | HTTPX_FUNCTIONS | CLIENT_TIMEOUTS | URLOPEN | SMTP_CLASSES.keys()
# The callables whose presence in a module makes it worth judging.
TARGETS = JUDGED | CLIENT_CLASSES.keys()


@dataclass(frozen=True)
class Scope:
    """What one function (or the module) knows when judging a call."""

    nodes: list[ast.AST]
    clients: dict[str, tuple[str, ast.Call]]  # name -> (library, constructor)


class CallWithoutTimeout(Rule):
    """
    ## What it does
    Checks for calls to another service that can wait forever: `requests` calls and
    `requests.Session` methods without `timeout=` (or with `timeout=None`),
    `httpx` clients and calls given `timeout=None`, `urllib.request.urlopen` and
    `smtplib.SMTP`/`SMTP_SSL` without a timeout, and `aiohttp.ClientSession()`
    without a `timeout=`.

    ## Why is this risky?
    `requests`, `urlopen` and `smtplib` have no timeout unless given one: when the
    server accepts the connection and then stops answering (overloaded, a
    half-open connection, a firewall dropping packets), the call blocks for
    ever, and so does the web worker, the login callback or the background job that
    made it. A few such calls take every worker of a service down while its
    dependency is slow, which is how one slow upstream becomes an outage.
    aiohttp's default limit is 5 minutes per request, long enough to do the same.
    httpx's default of 5 s is fine and not reported; `timeout=None` turns it off.

    Not reported: calls that pass `**kwargs` (they may carry a timeout),
    sessions whose adapters or `request` method the code replaces (a project
    "timeout session"), urlopen and smtplib in a module that calls
    `socket.setdefaulttimeout`, and code under tests.

    ## Example
    ```python
    def fetch_profile(token):
        return requests.get(USERINFO_URL, headers={"Authorization": f"Bearer {token}"}).json()
    ```

    ## Use instead
    ```python
    def fetch_profile(token):
        return requests.get(USERINFO_URL, headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    ```

    ## Fix safety
    The suggestion adds `timeout=10` (or replaces `timeout=None`). It changes
    behaviour on purpose: a call that used to hang now raises
    (`requests.exceptions.Timeout`, `socket.timeout`, `httpx.TimeoutException`)
    after 10 s without a byte from the server. For requests, urlopen and smtplib
    the limit applies to connecting and to each wait for data, not to the whole
    transfer, so a slow but live download is not cut off; check that the caller
    handles the new exception and pick a value that suits the upstream. Since
    behaviour changes, `faultline fix` leaves it to review.
    """

    code = "FL010"
    slug = "call-without-timeout"
    severity = Severity.WARNING
    summary = "A network call can wait forever"
    patterns = ("*.py",)
    production_only = True
    compare_base = True
    # The imports that bring the calls in: a file that only says "requests" in prose is not parsed.
    needles = (b"import requests", b"from requests", b"httpx", b"urlopen", b"aiohttp", b"smtplib")

    VALID: ClassVar[list[Valid]] = [
        Valid("import requests\n\nrequests.get(url, timeout=3.0)\n"),
        Valid("import httpx\n\nhttpx.get(url)\nclient = httpx.Client()\nclient.post(url)\n"),
        # ``**kwargs`` may carry the timeout.
        Valid("import requests\n\ndef call(url, **kwargs):\n    return requests.get(url, **kwargs)\n"),
        # A local function that shadows ``requests.get``.
        Valid("from requests import get\n\ndef get(url):\n    return cache[url]\n\nget(url)\n"),
        # A session the caller passed in: what it is cannot be read here.
        Valid("def fetch(session, url):\n    return session.get(url)\n"),
        Valid(
            "import aiohttp\n\nasync def fetch(url):\n"
            "    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as s:\n"
            "        return await s.get(url)\n"
        ),
        Valid("import smtplib\n\nserver = smtplib.SMTP(host, 587, timeout=10)\n"),
        Valid("from urllib.request import urlopen\n\nurlopen(url, None, 5)\n"),
        Valid("import requests\n\nrequests.get(url)\n", path="tests/test_client.py"),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        # A login callback added by a real pull request of a Flask service.
        Invalid(
            "import requests\n\n@bp.route('/callback')\ndef callback():\n"
            "    profile = requests.get(USERINFO_URL, headers=headers).json()\n"
            "    return login(profile)\n",
            line=5,
            message="`requests.get` has no `timeout=`",
            suggestion="    profile = requests.get(USERINFO_URL, headers=headers, timeout=10).json()",
        ),
        # The background job of the same change; its sibling call had ``timeout=3.0``.
        Invalid(
            "import requests\n\ndef send_alert(hook, payload):\n"
            "    requests.post(hook, json=payload, timeout=3.0)\n"
            "    requests.post(MIRROR, json=payload)\n",
            line=5,
            message="requests has no default timeout",
            suggestion="    requests.post(MIRROR, json=payload, timeout=10)",
        ),
        Invalid(
            "import requests as r\n\nclass Api:\n    def __init__(self):\n"
            "        self.session = r.Session()\n\n"
            "    def user(self, uid):\n        return self.session.get(f'{BASE}/users/{uid}')\n",
            line=8,
            message="a `requests.Session` has no default timeout",
            suggestion="        return self.session.get(f'{BASE}/users/{uid}', timeout=10)",
        ),
        Invalid(
            "import httpx\n\nclient = httpx.AsyncClient(base_url=API, timeout=None)\n",
            line=3,
            message="turns off httpx's 5 s default",
            suggestion="client = httpx.AsyncClient(base_url=API, timeout=10)",
        ),
        Invalid(
            "from urllib.request import urlopen\n\ndef fetch(url):\n    return urlopen(url).read()\n",
            line=4,
            message="`urlopen` has no `timeout=`",
            suggestion="    return urlopen(url, timeout=10).read()",
        ),
        Invalid(
            "import smtplib\n\ndef send(msg):\n    with smtplib.SMTP_SSL(HOST, 465) as server:\n"
            "        server.send_message(msg)\n",
            line=4,
            message="a mail server that stops answering",
            suggestion="    with smtplib.SMTP_SSL(HOST, 465, timeout=10) as server:",
        ),
        Invalid(
            "import aiohttp\n\nasync def fetch(url):\n    async with aiohttp.ClientSession() as session:\n"
            "        async with session.get(url) as response:\n            return await response.json()\n",
            line=4,
            message="aiohttp's default lets each request take 5 minutes",
        ),
    ]

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        if _tooling(source.path) or not _may_wait(source.data):
            return
        tree = python.module(source)
        if not imports_any(tree, LIBRARIES):
            return  # decided from the imports alone, before a walk of the whole module
        imports = import_map(tree)
        if not any(qualified.split(".")[0] in LIBRARIES for qualified in imports.values()):
            return
        index = node_index(tree)
        nodes, calls = index.nodes, index.of(ast.Call)
        # A request on a client object needs a client made in this module: without one of
        # the library's own calls there is nothing to judge, and no scope to work out.
        if not any((qualified_name(call.func, imports) or "") in TARGETS for call in calls):
            return
        judge = _Judge(source, imports, nodes, calls)
        judged = judge.judged_lines()
        if not judged:
            return
        module_nodes = own_nodes(tree)
        module = Scope(module_nodes, bound_clients(module_nodes, imports))
        yield from judge.scope(module)
        shared = {name: client for name, client in module.clients.items() if not name.startswith("self.")}
        for function, owner in functions(tree):
            if not on_lines(function, judged) and not _decorated_on(function, judged):
                continue  # none of its calls can be a finding: its scope is not worked out
            own = own_nodes(function)
            local = _rebound(function, own)
            clients = {name: client for name, client in shared.items() if name not in local}
            if owner is not None:
                clients.update(judge.members(owner))
            clients.update(bound_clients(own, imports))
            yield from judge.scope(Scope(own, clients))


def _may_wait(data: bytes) -> bool:
    """A cheap look at the bytes: httpx waits for ever only when told ``timeout=None``."""
    if any(needle in data for needle in WAITING_IMPORTS):
        return True
    return b"httpx" in data and (b"timeout=None" in data or b"Timeout(None" in data)


def _tooling(path: str) -> bool:
    """Example code (``example_dags/``) and pytest plugins: not the service's own calls."""
    *folders, name = path.split("/")
    return name.startswith("pytest_") or any(folder.startswith("example") for folder in folders)


def _rebound(function: ast.FunctionDef | ast.AsyncFunctionDef, nodes: list[ast.AST]) -> set[str]:
    """Names the function binds itself: a module-level client of that name is not the one it uses."""
    names = {arg.arg for arg in ast.walk(function.args) if isinstance(arg, ast.arg)}
    names.update(n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return names


class _Judge:
    """Judges the calls of each scope of one module."""

    def __init__(
        self, source: SourceFile, imports: dict[str, str], nodes: list[ast.AST], calls: list[ast.Call]
    ) -> None:
        self.source = source
        self.imports = imports
        self.calls = calls
        self.socket_default = any(qualified_name(c.func, imports) == SET_DEFAULT for c in calls)
        self.customised = _customised(calls, nodes)
        self.bindings = [node for node in nodes if isinstance(node, BINDINGS)]
        self.bounded = _bounded(nodes, imports)
        self._members: dict[int, dict[str, tuple[str, ast.Call]]] = {}

    def members(self, owner: ast.ClassDef) -> dict[str, tuple[str, ast.Call]]:
        """``self.session`` and the like, bound to a client in the class's ``__init__``."""
        if id(owner) not in self._members:
            found: dict[str, tuple[str, ast.Call]] = {}
            for stmt in owner.body:
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == "__init__":
                    found.update(bound_clients(ast.walk(stmt), self.imports))
            self._members[id(owner)] = {k: v for k, v in found.items() if k.startswith("self.")}
        return self._members[id(owner)]

    def judged_lines(self) -> list[int]:
        """The lines (sorted) of the calls that ``call`` may judge in some scope: a call of the
        libraries themselves, or a request on a name bound to a client anywhere in the module
        (every scope's clients are among those) or on a client made in place."""
        clients = bound_clients(self.bindings, self.imports)
        lines = set()
        for call in self.calls:
            if splats_keywords(call):
                continue
            func = call.func
            on_client = (
                isinstance(func, ast.Attribute)
                and func.attr in HTTP_METHODS
                and (target_name(func.value) in clients or isinstance(func.value, ast.Call))
            )
            qualified = "" if on_client else qualified_name(func, self.imports) or ""
            if on_client or qualified in JUDGED or CLIENT_CLASSES.get(qualified) in ("httpx", "aiohttp"):
                lines.add(call.lineno)
        return sorted(lines)

    def scope(self, scope: Scope) -> Iterator[Hit]:
        for node in scope.nodes:
            if isinstance(node, ast.Call):
                hit = self.call(node, scope)
                if hit is not None:
                    yield hit

    def call(self, call: ast.Call, scope: Scope) -> Hit | None:
        if splats_keywords(call):
            return None
        qualified = qualified_name(call.func, self.imports) or ""
        shown = ast.unparse(call.func)
        if qualified in REQUESTS_FUNCTIONS:
            return self.requests(call, shown, REQUESTS_MISSING)
        if qualified in HTTPX_FUNCTIONS or CLIENT_CLASSES.get(qualified) == "httpx":
            return self.unlimited(call, shown, HTTPX_NONE)
        if qualified in CLIENT_TIMEOUTS:
            return self.aiohttp_timeout(call, shown)
        if CLIENT_CLASSES.get(qualified) == "aiohttp":
            return self.aiohttp_session(call, shown)
        if qualified in URLOPEN:
            return self.positional(call, shown, 2, URLOPEN_MISSING)
        if qualified in SMTP_CLASSES:
            return self.positional(call, shown, SMTP_CLASSES[qualified], SMTP_MISSING)
        if isinstance(call.func, ast.Attribute) and call.func.attr in HTTP_METHODS:
            return self.method(call, shown, scope)
        return None

    def method(self, call: ast.Call, shown: str, scope: Scope) -> Hit | None:
        """A request made on a client object: ``session.get(...)``, ``self.client.post(...)``."""
        assert isinstance(call.func, ast.Attribute)
        receiver = call.func.value
        name = target_name(receiver)
        if name in scope.clients:
            library = scope.clients[name][0]
        elif isinstance(receiver, ast.Call):
            library = CLIENT_CLASSES.get(qualified_name(receiver.func, self.imports) or "", "")
        else:
            return None
        if library == "requests" and name not in self.customised:
            return self.requests(call, shown, SESSION_MISSING)
        if library == "httpx":
            return self.unlimited(call, shown, HTTPX_NONE)
        return None

    def requests(self, call: ast.Call, shown: str, missing: str) -> Hit | None:
        found = next((kw for kw in call.keywords if kw.arg == "timeout"), None)
        if found is None:
            return self.hit(
                call, missing.format(call=shown), append_keyword(self.source, call, TIMEOUT, FIX_TITLE)
            )
        if is_none(found.value):
            return self.hit(call, REQUESTS_NONE.format(call=shown), self.replace_none(found.value))
        return None

    def unlimited(self, call: ast.Call, shown: str, message: str) -> Hit | None:
        """httpx: only an explicit ``timeout=None`` (or ``httpx.Timeout(None)``) turns the limit off."""
        value = keyword_value(call, "timeout")
        if value is None:
            return None
        if is_none(value):
            return self.hit(call, message.format(call=shown), self.replace_none(value))
        if (
            isinstance(value, ast.Call)
            and qualified_name(value.func, self.imports) == "httpx.Timeout"
            and len(value.args) == 1
            and is_none(value.args[0])
            and not value.keywords
        ):
            return self.hit(call, message.format(call=shown), None)
        return None

    def positional(self, call: ast.Call, shown: str, index: int, message: str) -> Hit | None:
        """urlopen and smtplib take the timeout as a keyword or at ``index``."""
        if (
            self.socket_default
            or len(call.args) > index
            or any(isinstance(a, ast.Starred) for a in call.args)
        ):
            return None
        value = keyword_value(call, "timeout")
        if value is not None and not is_none(value):
            return None
        if value is not None:
            return self.hit(call, message.format(call=shown), self.replace_none(value))
        return self.hit(
            call, message.format(call=shown), append_keyword(self.source, call, TIMEOUT, FIX_TITLE)
        )

    def aiohttp_session(self, call: ast.Call, shown: str) -> Hit | None:
        if keyword_value(call, "timeout") is not None or self.requests_all_timed(call):
            return None
        return self.hit(call, AIOHTTP_MISSING.format(call=shown), None)

    def requests_all_timed(self, constructor: ast.Call) -> bool:
        """Every request made on the session this constructor's result is bound to passes ``timeout=``."""
        bound = bound_clients(self.bindings, self.imports)
        names = {name for name, (_, value) in bound.items() if value is constructor}
        made = [
            call
            for call in self.calls
            if isinstance(call.func, ast.Attribute)
            and call.func.attr in AIOHTTP_METHODS
            and target_name(call.func.value) in names
        ]
        return bool(made) and all(
            keyword_value(call, "timeout") is not None or id(call) in self.bounded for call in made
        )

    def aiohttp_timeout(self, call: ast.Call, shown: str) -> Hit | None:
        """``ClientTimeout()`` or ``ClientTimeout(total=None)``: every field left at None."""
        values = [*call.args, *(kw.value for kw in call.keywords)]
        if all(is_none(value) for value in values):
            return self.hit(call, AIOHTTP_UNLIMITED.format(call=ast.unparse(call)), None)
        return None

    def replace_none(self, value: ast.expr) -> Suggestion | None:
        return replace_node(self.source, value, "10", FIX_TITLE)

    def hit(self, call: ast.Call, message: str, suggestion: Suggestion | None) -> Hit:
        return Hit(
            call.lineno,
            message,
            end_line=call.end_lineno or call.lineno,
            column=call.col_offset + 1,
            suggestion=suggestion,
            statement=span(call),
            # The call as Python reads it: reformatting (quotes, line breaks) leaves it the same,
            # so a call that a formatter rewrote is not taken for a new one.
            fingerprint_key=ast.unparse(call),
        )


def _decorated_on(function: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[int]) -> bool:
    """A decorator's calls belong to the function's scope, on lines above its ``def``."""
    return any(on_lines(decorator, lines) for decorator in function.decorator_list)


def _bounded(nodes: list[ast.AST], imports: dict[str, str]) -> set[int]:
    """The calls (by id) inside ``async with asyncio.timeout(...)`` (or ``async_timeout``'s) or
    ``asyncio.wait_for(...)``: an asyncio deadline bounds an aiohttp request too."""
    found: set[int] = set()
    for node in nodes:
        if isinstance(node, ast.AsyncWith) and any(
            _deadline(item.context_expr, imports) for item in node.items
        ):
            found.update(id(sub) for stmt in node.body for sub in ast.walk(stmt) if isinstance(sub, ast.Call))
        elif isinstance(node, ast.Call) and qualified_name(node.func, imports) == "asyncio.wait_for":
            found.update(id(sub) for sub in ast.walk(node) if isinstance(sub, ast.Call))
    return found


def _deadline(node: ast.expr, imports: dict[str, str]) -> bool:
    if not isinstance(node, ast.Call):
        return False
    name = qualified_name(node.func, imports) or ""
    return name.rsplit(".", 1)[-1] in ("timeout", "timeout_at") and name.split(".")[0] in (
        "asyncio",
        "async_timeout",
    )


def _customised(calls: list[ast.Call], nodes: list[ast.AST]) -> set[str]:
    """Sessions whose behaviour the code changes: ``s.mount(...)`` with an adapter of its own,
    or ``s.request = partial(s.request, timeout=...)``. Either may add a default timeout."""
    found: set[str] = set()
    for call in calls:
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr == "mount" and len(call.args) == 2:
            adapter = call.args[1]
            name = ast.unparse(adapter.func) if isinstance(adapter, ast.Call) else ast.unparse(adapter)
            if name.rsplit(".", 1)[-1] != "HTTPAdapter":
                found.add(target_name(func.value))
    for node in nodes:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and target.attr in HTTP_METHODS | {"send"}:
                    found.add(target_name(target.value))
    return found
