"""FL013 unchecked-fetch-response: a fetch response body is read without checking its status."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from faultline.analyzers.core.context import Context
from faultline.analyzers.core.findings import Hit, Severity
from faultline.analyzers.core.rule import Invalid, Rule, Valid
from faultline.analyzers.core.source import SourceFile
from faultline.analyzers.languages.typescript import SCRIPT_PATTERNS, script
from faultline.analyzers.lib.typescript.nodes import (
    FUNCTIONS,
    arguments,
    callee,
    enclosing_function,
    hit,
    method,
    text,
    walk,
)
from faultline.analyzers.lib.typescript.patterns import LazyPattern

if TYPE_CHECKING:
    from tree_sitter import Node

FETCHES = frozenset({"fetch", "window.fetch", "globalThis.fetch", "self.fetch"})
BODY_READS = frozenset({"json", "text", "blob", "arrayBuffer", "formData"})
LOCAL_URL = LazyPattern(
    r"data_?ur[li]|^[`'\"](data|blob):|blob_?ur[li]|objectur[li]|createObjectURL", re.IGNORECASE
)
# Reading any of these means the author looked at how the request went.
STATUS_FIELDS = frozenset({"ok", "status", "statusText"})


class UncheckedFetchResponse(Rule):
    """
    ## What it does
    Checks for a `fetch(...)` whose response body is read (`.json()`, `.text()`,
    `.blob()`, `.arrayBuffer()`, `.formData()`) in the same function, or in the
    `.then` callback that receives it, with no look at `response.ok` or
    `response.status` there.

    ## Why is this risky?
    `fetch` resolves for every HTTP answer, 401, 404 and 500 included: only a network
    failure rejects. Code that goes straight to `response.json()` reads an error page
    as data: `JSON.parse` throws on the HTML of a 502 (`Unexpected token <`), or an
    error object such as `{"detail": "Not authenticated"}` is rendered as if it were
    the list the component expected. An expired token shows up as an empty page
    rather than as a trip to the login screen.

    Not reported: a response whose `ok`, `status` or `statusText` is read anywhere in
    the function, or that is passed to another function (a wrapper such as
    `checkStatus(res)` that throws on `!res.ok`), returned or stored; a `fetch` of a
    data or blob URL made in the page; and calls of a project's own wrapper instead of
    `fetch`.

    ## Example
    ```typescript
    async function loadDocuments() {
      const res = await fetch('/api/documents', { headers: { Authorization: `Bearer ${token}` } });
      return res.json();
    }
    ```

    ## Use instead
    ```typescript
    async function loadDocuments() {
      const res = await fetch('/api/documents', { headers: { Authorization: `Bearer ${token}` } });
      if (res.status === 401) {
        await refreshToken();
        return loadDocuments();
      }
      if (!res.ok) {
        throw new Error(`GET /api/documents failed: ${res.status}`);
      }
      return res.json();
    }
    ```
    """

    code = "FL013"
    slug = "unchecked-fetch-response"
    severity = Severity.WARNING
    summary = "A fetch response body is read without checking its status"
    patterns = SCRIPT_PATTERNS
    production_only = True
    compare_base = True
    needles = (b"fetch(",)

    VALID: ClassVar[list[Valid]] = [
        Valid(
            "async function load() {\n  const res = await fetch('/api/docs');\n"
            "  if (!res.ok) throw new Error(`${res.status}`);\n  return res.json();\n}\n",
            path="src/api.ts",
        ),
        Valid(
            "async function load() {\n  const res = await fetch('/api/docs');\n"
            "  if (res.status === 401) {\n    await refreshToken();\n    return load();\n  }\n"
            "  if (!res.ok) throw new Error('failed');\n  return res.json();\n}\n",
            path="src/api.ts",
        ),
        # A wrapper checks the status.
        Valid(
            "async function load() {\n  const res = await fetch('/api/docs');\n"
            "  await ensureOk(res);\n  return res.json();\n}\n",
            path="src/api.ts",
        ),
        Valid("fetch('/api/docs').then(checkStatus).then((res) => res.json());\n", path="src/api.js"),
        Valid(
            "fetch('/api/docs').then((res) => (res.ok ? res.json() : Promise.reject(res)));\n",
            path="src/api.js",
        ),
        # The response itself goes back to the caller.
        Valid("export async function raw(url: string) {\n  return await fetch(url);\n}\n", path="src/api.ts"),
        Valid(
            "async function load() {\n  const res = await fetch('/api/docs');\n  return res.json();\n}\n",
            path="src/api.test.ts",
        ),
        # A data URL made in the page: no server answers it.
        Valid("const blob = await (await fetch(dataUrl)).blob();\n", path="src/image.ts"),
        Valid(
            "export const Avatar = ({ url }: Props) => {\n  useEffect(() => {\n"
            "    // faultline: ignore[unchecked-fetch-response]\n"
            "    fetch(url).then((r) => r.blob()).then(setImage);\n  }, [url]);\n"
            "  return <img src={image} />;\n};\n",
            path="src/Avatar.tsx",
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        Invalid(
            "async function loadDocuments() {\n"
            "  const res = await fetch('/api/documents', {\n"
            "    headers: { Authorization: `Bearer ${token}` },\n  });\n"
            "  return res.json();\n}\n",
            path="src/api/documents.ts",
            line=2,
            severity=Severity.WARNING,
            message="`res.json()` reads the body",
        ),
        Invalid(
            "export function Documents() {\n  const [docs, setDocs] = useState<Doc[]>([]);\n"
            "  useEffect(() => {\n    fetch('/api/documents')\n      .then((response) => response.json())\n"
            "      .then(setDocs);\n  }, []);\n  return <List items={docs} />;\n}\n",
            path="src/components/Documents.tsx",
            line=4,
            message="a 401 or 500 answer is read as data",
        ),
        Invalid(
            "const load = async () => {\n"
            "  const { items } = await (await fetch(url)).json();\n  return items;\n};\n",
            path="src/load.js",
            line=2,
        ),
        Invalid(
            "async function load() {\n  const res = await fetch('/api/docs');\n"
            "  // faultline: ignore[broad-except]\n  return res.json();\n}\n",
            path="src/api.ts",
            line=2,
        ),
    ]

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        tree = script(source)
        for node in tree.nodes("call_expression"):
            name = callee(node)
            if name in FETCHES and not _local_url(node):
                read = _unchecked_read(node)
                if read is not None:
                    yield _hit(node, read)


def _local_url(call: Node) -> bool:
    """``fetch(dataUrl)``, ``fetch("data:...")``, ``fetch(blobUrl)``: turning a URL made in the
    page back into a blob, which no server answers."""
    args = arguments(call)
    return bool(args) and LOCAL_URL.search(text(args[0])) is not None


def _hit(call: Node, read: Node) -> Hit:
    reader = text(read.child_by_field_name("function"))
    message = (
        f"`{reader}()` reads the body of this `fetch` with no check of `ok` or `status`: "
        "a 401 or 500 answer is read as data (or fails to parse); check `res.ok` first"
    )
    return hit(call, message, call.parent or call)


def _unchecked_read(call: Node) -> Node | None:
    """The body read (``res.json()``) of the response ``call`` gives, when nothing on the
    way looks at its status; None when it is checked, handed on, or its body not read."""
    parent = _skip(call.parent, ("await_expression", "parenthesized_expression", "as_expression"))
    if parent is None:
        return None
    if parent.type == "member_expression":  # (await fetch(u)).json()
        outer = parent.parent
        if outer is not None and outer.type == "call_expression" and method(outer) in BODY_READS:
            return outer
        if outer is not None and outer.type == "call_expression" and method(outer) == "then":
            return _read_in_callback(outer)
        return None
    if parent.type == "variable_declarator":
        name = parent.child_by_field_name("name")
        scope = enclosing_function(call)
        if name is None or name.type != "identifier" or scope is None:
            return None
        return _read_of(text(name), scope.child_by_field_name("body"), after=call.end_byte)
    return None


def _skip(node: Node | None, types: tuple[str, ...]) -> Node | None:
    while node is not None:
        if node.type in types:
            node = node.parent
        elif _await_call(node):
            node = node.parent.parent if node.parent is not None else None
        else:
            return node
    return node


def _await_call(node: Node) -> bool:
    """The javascript grammar reads ``await (await fetch(u)).json()`` as a call of a function
    named ``await``: its arguments are the parentheses."""
    call = node.parent
    return node.type == "arguments" and call is not None and callee(call) == "await"


def _read_in_callback(then: Node) -> Node | None:
    args = arguments(then)
    if len(args) != 1 or args[0].type not in FUNCTIONS:
        return None
    callback = args[0]
    parameters = callback.child_by_field_name("parameters") or callback.child_by_field_name("parameter")
    if parameters is None:
        return None
    names = [node for node in walk(parameters) if node.type == "identifier"]
    if len(names) != 1:
        return None
    return _read_of(text(names[0]), callback.child_by_field_name("body"), after=parameters.end_byte)


def _read_of(name: str, scope: Node | None, after: int) -> Node | None:
    """The first ``name.json()`` in ``scope`` after ``after``, unless ``name.ok``/``.status``
    is read there or ``name`` is passed to a call, returned or assigned on."""
    if scope is None:
        return None
    read: Node | None = None
    for node in walk(scope):
        if node.type == "identifier" and text(node) == name and node.start_byte > after:
            parent = node.parent
            if parent is None:
                continue
            if parent.type == "member_expression" and parent.child_by_field_name("object") == node:
                field = text(parent.child_by_field_name("property"))
                if field in STATUS_FIELDS:
                    return None
                outer = parent.parent
                if (
                    read is None
                    and field in BODY_READS
                    and outer is not None
                    and outer.type == "call_expression"
                ):
                    read = outer
                continue
            if parent.type in (
                "arguments",
                "return_statement",
                "assignment_expression",
                "variable_declarator",
            ):
                return None
    return read
