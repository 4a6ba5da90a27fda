"""FL014 floating-promise: a promise is left floating, so its rejection goes unhandled."""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from faultline.analyzers.core.context import Context
from faultline.analyzers.core.findings import Hit, Severity
from faultline.analyzers.core.rule import Invalid, Rule, Valid
from faultline.analyzers.core.source import SourceFile
from faultline.analyzers.languages.typescript import SCRIPT_PATTERNS, Script, script
from faultline.analyzers.lib.typescript.nodes import (
    FUNCTIONS,
    arguments,
    callee,
    enclosing_function,
    hit,
    method,
    receiver,
    text,
    walk,
)
from faultline.analyzers.lib.typescript.patterns import LazyPattern

if TYPE_CHECKING:
    from tree_sitter import Node

EFFECTS = frozenset({"useEffect", "useLayoutEffect", "React.useEffect", "React.useLayoutEffect"})
CALLBACK_HOOKS = frozenset({"useCallback", "React.useCallback"})
ERROR_WORD = LazyPattern(rb"\berror\b")
BINDINGS = frozenset({"identifier", "shorthand_property_identifier_pattern"})
HANDLER_NAME = LazyPattern(r"^(handle|on)[A-Z]")


class FloatingPromise(Rule):
    """
    ## What it does
    Checks for a promise chain (`.then(...)`) that is neither returned, awaited, stored
    nor passed on and has no `.catch(...)` or second `.then` argument, and for a call of
    an `async` function of the same file, made as a statement of its own (no `await`,
    `void`, `return` or `.catch`) in an event handler (`onClick={...}`, `handleX`), a
    `useEffect` callback or at the top level of a module.

    ## Why is this risky?
    A rejected promise that nobody awaits is an unhandled rejection: the browser logs
    it and moves on. The button the user clicked does nothing, the spinner the effect
    started spins forever, and the state the chain was meant to set stays stale. No
    error boundary sees it either: boundaries only catch errors thrown while rendering.

    Only async functions defined in the same file are known to return promises: calls
    of imported functions are not reported (type information would tell; this rule
    does not guess, and reading the imported module would not say whether the
    function catches its own errors without parsing it again). A name the file also
    binds to something else (a parameter, a non-async function or variable, a
    destructured value, an import) is not known either. Not reported either: an async
    function that catches, reads an `error` out of what it awaits (openapi-fetch's
    `{ data, error }`), or only awaits such functions. A deliberate fire-and-forget
    says so with `void`.

    ## Example
    ```tsx
    async function save(doc: Doc) {
      await api.put(`/docs/${doc.id}`, doc);
    }

    export function SaveButton({ doc }: Props) {
      return <button onClick={() => { save(doc); }}>Save</button>;
    }
    ```

    ## Use instead
    ```tsx
    export function SaveButton({ doc }: Props) {
      const [error, setError] = useState<string>('');
      return <button onClick={() => save(doc).catch(() => setError('Could not save'))}>Save</button>;
    }
    ```
    """

    code = "FL014"
    slug = "floating-promise"
    severity = Severity.WARNING
    summary = "A promise is left floating: its rejection goes unhandled"
    patterns = SCRIPT_PATTERNS
    production_only = True
    compare_base = True
    needles = (b".then(", b"async ")

    VALID: ClassVar[list[Valid]] = [
        # The async function catches its own errors.
        Valid(
            "const handleUpdate = async (n: number) => {\n  await update(n).catch((e) => setError(e));\n};\n"
            "export const Seats = () => <input onBlur={() => { handleUpdate(1); }} />;\n",
            path="src/Seats.tsx",
        ),
        # openapi-fetch answers failures as values, and the callback reads them.
        Valid(
            "const onDelete = () => {\n  remove.mutateAsync({ id }).then(({ error }) => {\n"
            "    if (error) toast({ title: 'Deletion failed' });\n  });\n};\n",
            path="src/Delete.tsx",
        ),
        Valid("fetchUser().then(setUser).catch(() => setError('failed'));\n", path="src/user.ts"),
        Valid("fetchUser().then(setUser, () => setError('failed'));\n", path="src/user.ts"),
        Valid("function load() {\n  return fetchUser().then(setUser);\n}\n", path="src/user.ts"),
        Valid("const user = fetchUser().then((u) => u.name);\n", path="src/user.ts"),
        Valid("void fetchUser().then(setUser);\n", path="src/user.ts"),
        Valid(
            "Promise.all([a().catch(() => {}), b().catch(() => {})]).then(() => done());\n", path="src/ab.ts"
        ),
        # ``track`` comes from elsewhere: nothing says it returns a promise.
        Valid(
            "import { track } from './analytics';\n"
            "export const B = () => <button onClick={() => { track('x'); }} />;\n",
            path="src/B.tsx",
        ),
        Valid(
            "async function load() {\n  setData(await api.get());\n}\n"
            "export function Page() {\n  useEffect(() => {\n    load().catch(setError);\n  }, []);\n"
            "  return <div />;\n}\n",
            path="src/Page.tsx",
        ),
        Valid(
            "async function load() {\n  setData(await api.get());\n}\n"
            "export function Page() {\n  useEffect(() => {\n    void load();\n  }, []);\n"
            "  return <div />;\n}\n",
            path="src/Page.tsx",
        ),
        # The handler calls the component's own ``load``, not the module's async one.
        Valid(
            "async function load() {\n  setData(await api.get());\n}\n"
            "export function Page() {\n  const load = () => setOpen(true);\n"
            "  return <button onClick={() => { load(); }} />;\n}\n",
            path="src/Page.tsx",
        ),
        Valid(
            "const refresh = async () => {\n  await api.refresh();\n};\n"
            "export function useRows() {\n  const { refresh } = useStore();\n"
            "  useEffect(() => {\n    refresh();\n  }, []);\n}\n",
            path="src/rows.ts",
        ),
        # openapi-fetch answers failures as values, and the function reads them.
        Valid(
            "export function OrgAuth() {\n  useEffect(() => {\n    const init = async () => {\n"
            "      const { data, error } = await api.POST('/v1/auth/start');\n"
            "      if (error) {\n        setStatus('error');\n        return;\n      }\n"
            "      setSession(data);\n    };\n    init();\n  }, []);\n  return null;\n}\n",
            path="src/OrgAuth.tsx",
        ),
        # ``add`` only awaits ``save``, which shows its own failures.
        Valid(
            "export function Hosts() {\n  const save = useCallback(async (hosts: string[]) => {\n"
            "    const { error } = await update({ hosts });\n    if (error) {\n      toast(error.detail);\n"
            "      return false;\n    }\n    return true;\n  }, []);\n"
            "  const add = useCallback(async () => {\n"
            "    if (await save([draft])) setDraft('');\n  }, [save]);\n"
            "  return <input onKeyDown={() => { add(); }} />;\n}\n",
            path="src/Hosts.tsx",
        ),
        # Inside another async function the caller may await it later: not this rule's business.
        Valid(
            "async function step() {\n  await api.post();\n}\nasync function run() {\n  step();\n}\n",
            path="src/run.ts",
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        Invalid(
            "export function Documents() {\n  useEffect(() => {\n"
            "    fetchDocuments().then((docs) => setDocs(docs));\n  }, []);\n  return <List />;\n}\n",
            path="src/Documents.tsx",
            line=3,
            severity=Severity.WARNING,
            message="no `.catch`",
        ),
        Invalid(
            "async function save(doc: Doc) {\n  await api.put(`/docs/${doc.id}`, doc);\n}\n\n"
            "export function SaveButton({ doc }: Props) {\n"
            "  return <button onClick={() => { save(doc); }}>Save</button>;\n}\n",
            path="src/SaveButton.tsx",
            line=6,
            message="`save(...)` is async",
        ),
        Invalid(
            "const load = async () => {\n  setData(await api.get());\n};\n"
            "export function Page() {\n  useEffect(() => {\n    load();\n  }, []);\n  return null;\n}\n",
            path="src/Page.tsx",
            line=6,
        ),
        Invalid(
            "async function main() {\n  await server.listen();\n}\n\nmain();\n",
            path="src/main.mjs",
            line=5,
        ),
        Invalid(
            "export class Store {\n  handleRefresh = () => {\n    refresh().then(this.set);\n  };\n}\n",
            path="src/store.ts",
            line=3,
        ),
    ]

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        tree = script(source)
        if tree.root is None:
            return
        known_async: dict[str, Node] | None = None
        handling = _handling_functions(tree)
        for node in tree.nodes("expression_statement"):
            if not node.named_children:
                continue
            expression = node.named_children[0]
            if expression.type != "call_expression":
                continue
            if method(expression) == "then":
                if _unhandled_chain(expression) and not _settled_root(expression, handling):
                    yield hit(expression, _chain_message(), node)
                continue
            name = callee(expression)
            if not name or "." in name:
                continue
            if known_async is None:
                known_async = _async_functions(tree)
            function = known_async.get(name)
            if function is None or name in handling or _awaits_only(function, handling):
                continue
            if _watched_place(node):
                yield hit(expression, _call_message(name), node)


def _chain_message() -> str:
    return (
        "this `.then(...)` chain has no `.catch` and nothing awaits it: a rejection is unhandled "
        "and the user sees nothing; add `.catch(...)` that shows the failure"
    )


def _call_message(name: str) -> str:
    return (
        f"`{name}(...)` is async and nothing awaits it or catches its rejection: a failure is "
        "unhandled and the user sees nothing; add `.catch(...)`, or `void` it if that is meant"
    )


def _unhandled_chain(call: Node) -> bool:
    """A ``.then`` chain (``call`` its last link) with no ``.catch``, no second argument, and
    no callback that reads an ``error`` out of the result (an API that answers failures as
    values, such as openapi-fetch's ``{ data, error }``: its author handles them there)."""
    link: Node | None = call
    while link is not None and link.type == "call_expression":
        step = method(link)
        args = arguments(link)
        if step == "catch" or (step == "then" and len(args) > 1):
            return False
        if step == "then" and args and args[0].type in FUNCTIONS and _reads_error(args[0]):
            return False
        link = receiver(link)
    return True


def _reads_error(callback: Node) -> bool:
    parameters = callback.child_by_field_name("parameters") or callback.child_by_field_name("parameter")
    body = callback.child_by_field_name("body")
    if parameters is not None and b"error" in (parameters.text or b""):
        return True
    return body is not None and ERROR_WORD.search(body.text or b"") is not None


def _settled_root(call: Node, handling: set[str]) -> bool:
    """The chain starts from a promise that cannot reject: a function of this file that catches,
    ``Promise.allSettled``, or ``Promise.all`` of promises that each have a ``.catch``."""
    link: Node | None = call
    while link is not None and link.type == "call_expression" and method(link):
        if method(link) in ("all", "allSettled") and text(receiver(link)) == "Promise":
            break
        link = receiver(link)
    if link is None or link.type != "call_expression":
        return False
    name = callee(link)
    if name == "Promise.allSettled":
        return True
    if name == "Promise.all":
        items = arguments(link)
        elements = items[0].named_children if items and items[0].type == "array" else []
        return bool(elements) and all(e.type == "call_expression" and method(e) == "catch" for e in elements)
    return name in handling


def _handling_functions(tree: Script) -> set[str]:
    """Names of the file's functions that catch errors themselves (a ``catch`` block or a
    ``.catch(...)`` in their body, or an ``error`` they read): calling them without a catch
    is fine."""
    names: set[str] = set()
    catches = [node.start_byte for node in tree.nodes("catch_clause")]
    for node in _declarations(tree):
        function: Node | None = None
        if node.type == "function_declaration":
            function = node
        else:
            value = node.child_by_field_name("value")
            # ``const save = useCallback(async () => {...}, [])`` too.
            if value is not None and value.type == "call_expression":
                args = arguments(value)
                value = args[0] if args else None
            function = value if value is not None and value.type in FUNCTIONS else None
        # A function that reads an ``error`` out of what it awaits (openapi-fetch's
        # ``{ data, error }``) handles failures as values, as a ``.then`` callback may.
        if function is not None and (_catches(function, tree.data, catches) or _reads_error(function)):
            names.add(text(node.child_by_field_name("name")))
    return names


def _declarations(tree: Script) -> list[Node]:
    """The file's function declarations and variable declarators."""
    return tree.nodes("function_declaration") + tree.nodes("variable_declarator")


def _catches(function: Node, data: bytes, catches: list[int]) -> bool:
    """``catches``: where the file's ``catch`` clauses start, in order."""
    body = function.child_by_field_name("body")
    if body is None:
        return False
    if data.find(b".catch(", body.start_byte, body.end_byte) >= 0:
        return True
    first = bisect.bisect_left(catches, body.start_byte)
    return first < len(catches) and catches[first] < body.end_byte


def _async_functions(tree: Script) -> dict[str, Node]:
    """The file's own async functions by name: declarations and ``const f = async () =>``."""
    found: dict[str, Node] = {}
    for node in _declarations(tree):
        function = node if node.type == "function_declaration" and _is_async(node) else None
        if node.type == "variable_declarator":
            function = _async_value(node)
        if function is not None:
            found[text(node.child_by_field_name("name"))] = function
    # A name also bound to something that is not async (a parameter, another function) is unsure.
    unsure = _other_bindings(tree, set(found))
    return {name: function for name, function in found.items() if name not in unsure}


def _async_value(declarator: Node) -> Node | None:
    """The async function of ``const f = async () => ...`` or ``useCallback(async () => ...)``."""
    value = declarator.child_by_field_name("value")
    if value is not None and value.type == "call_expression" and callee(value) in CALLBACK_HOOKS:
        args = arguments(value)
        value = args[0] if args else None
    return value if value is not None and value.type in FUNCTIONS and _is_async(value) else None


def _awaits_only(function: Node, handling: set[str]) -> bool:
    """Every ``await`` in the function awaits a function of this file that handles its own
    failures: then the function cannot reject either (``add`` awaiting ``save``, which shows
    the error)."""
    body = function.child_by_field_name("body")
    awaits = [node for node in walk(body) if node.type == "await_expression"] if body is not None else []
    if not awaits:
        return False
    for node in awaits:
        awaited = node.named_children[0] if node.named_children else None
        if awaited is None or awaited.type != "call_expression" or callee(awaited) not in handling:
            return False
    return True


def _is_async(function: Node) -> bool:
    return any(child.type == "async" for child in function.children)


def _other_bindings(tree: Script, names: set[str]) -> set[str]:
    unsure: set[str] = set()
    if not names:
        return unsure
    for kind in ("required_parameter", "optional_parameter", "formal_parameters"):
        for node in tree.nodes(kind):
            unsure.update(text(n) for n in walk(node) if n.type in BINDINGS and text(n) in names)
    for node in tree.nodes("function_declaration"):
        if not _is_async(node):
            unsure.add(text(node.child_by_field_name("name")))
    # ``const load = () => ...`` in a component beside a module's ``async function load``,
    # ``const { load } = useStore()``, ``import { load } from ...``: another binding of the name.
    for node in tree.nodes("variable_declarator"):
        name = node.child_by_field_name("name")
        if name is not None and not (name.type == "identifier" and _async_value(node) is not None):
            unsure.update(text(n) for n in walk(name) if n.type in BINDINGS and text(n) in names)
    for node in tree.nodes("import_specifier"):
        unsure.update(text(n) for n in walk(node) if n.type == "identifier" and text(n) in names)
    return unsure & names


def _watched_place(statement: Node) -> bool:
    """A top-level statement, or one directly in an event handler or an effect."""
    function = enclosing_function(statement)
    if function is None:
        return statement.parent is not None and statement.parent.type == "program"
    if _is_async(function):
        return False
    return _is_effect(function) or _is_handler(function)


def _is_effect(function: Node) -> bool:
    args = function.parent
    call = args.parent if args is not None and args.type == "arguments" else None
    return call is not None and callee(call) in EFFECTS


def _is_handler(function: Node) -> bool:
    parent = function.parent
    if parent is not None and parent.type == "jsx_expression":
        attribute = parent.parent
        if attribute is not None and attribute.type == "jsx_attribute":
            return HANDLER_NAME.match(text(attribute.named_children[0])) is not None
    name = _function_name(function)
    return HANDLER_NAME.match(name) is not None


def _function_name(function: Node) -> str:
    named = function.child_by_field_name("name")
    if named is not None:
        return text(named)
    parent = function.parent
    if parent is not None and parent.type in (
        "variable_declarator",
        "public_field_definition",
        "field_definition",
    ):
        key = parent.child_by_field_name("name") or parent.child_by_field_name("property")
        return text(key)
    return ""
