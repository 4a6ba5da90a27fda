"""FL015 console-only-catch: a catch only logs the error to the console."""

from __future__ import annotations

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
    hit,
    method,
    receiver,
    text,
    walk,
)
from faultline.analyzers.lib.typescript.patterns import LazyPattern

if TYPE_CHECKING:
    from tree_sitter import Node

CONSOLE_CALLS = frozenset({"console.error", "console.log", "console.warn", "console.info", "console.debug"})
STORAGE = (b"localStorage", b"sessionStorage")
CLEANUP = LazyPattern(
    r"(remove|close|disconnect|unsubscribe|abort|destroy|dispose|revoke|unregister|cancel|clear)"
)
# Files where the console is what the user reads: build scripts, command-line tools.
HOOK = LazyPattern(r"^use[A-Z0-9]")
BINDINGS = frozenset({"identifier", "shorthand_property_identifier_pattern"})
CLI_MARKERS = (b"process.argv", b"process.exit", b"#!/usr/bin/env node")


class ConsoleOnlyCatch(Rule):
    """
    ## What it does
    Checks for a `catch` block or a `.catch(...)` callback in frontend code whose only
    effect is `console.error`, `console.log` or `console.warn`.

    ## Why is this risky?
    In a browser the console is read by nobody: the user sees a page that did nothing,
    nothing retries, and no error tracker hears about it. Such handlers multiply
    (one per component, each its own way), which is how a frontend ends up with no
    error handling that anyone can see. A notice: sometimes an optional feature
    failing quietly is what the author meant, and a comment in the handler says so.

    Not reported: handlers around code that only touches `localStorage` or
    `sessionStorage` (disabled in private mode: the page works without it) or only
    cleans up (`removeChild`, `close`, `unsubscribe`); handlers that also set state,
    rethrow, return a fallback, report to an error tracker (Sentry and similar) or
    show a message; handlers around a call of a function that comes from a hook
    (`const { deleteRow } = useDeleteRow()`, `appeal.mutateAsync(...)`): react-query
    mutations show their failures in `onError`, and the catch only stops the
    rejection; handlers that hold a comment; and command-line scripts (a file
    that reads `process.argv` or calls `process.exit`), where the console is the user interface.

    ## Example
    ```typescript
    navigator.serviceWorker
      .register('/sw.js')
      .catch((error) => {
        console.error('ServiceWorker registration failed: ', error);
      });
    ```

    ## Use instead
    ```typescript
    navigator.serviceWorker
      .register('/sw.js')
      .catch((error) => {
        Sentry.captureException(error);
        setOffline(true);
      });
    ```
    """

    code = "FL015"
    slug = "console-only-catch"
    severity = Severity.NOTICE
    summary = "A catch only logs the error to the console"
    patterns = SCRIPT_PATTERNS
    production_only = True
    compare_base = True
    needles = (b"console.",)

    VALID: ClassVar[list[Valid]] = [
        Valid(
            "fetchUser().catch((error) => {\n  console.error(error);\n  setError('Could not load');\n});\n",
            path="app/user.ts",
        ),
        Valid(
            "try {\n  await save();\n} catch (err) {\n"
            "  console.error(err);\n  Sentry.captureException(err);\n}\n",
            path="app/save.ts",
        ),
        Valid(
            "try {\n  await save();\n} catch (err) {\n  console.warn(err);\n  throw err;\n}\n",
            path="app/save.ts",
        ),
        Valid(
            "function load() {\n  try {\n    return JSON.parse(raw);\n  } catch (err) {\n"
            "    console.warn(err);\n    return {};\n  }\n}\n",
            path="app/load.ts",
        ),
        # A comment says the failure is meant to be quiet.
        Valid(
            "try {\n  localStorage.setItem('k', v);\n} catch (err) {\n"
            "  // storage may be full or disabled: not worth bothering the user\n  console.warn(err);\n}\n",
            path="app/store.ts",
        ),
        # The mutation's own onError shows the failure; the catch only stops the rejection.
        Valid(
            "export function DeleteRow({ id }: Props) {\n  const { deleteRow } = useDeleteRow(tableId);\n"
            "  const onClick = async () => {\n    try {\n      await deleteRow({ id });\n"
            "    } catch (error) {\n      console.error('Failed to delete row', error);\n    }\n  };\n"
            "  return <button onClick={onClick}>Delete</button>;\n}\n",
            path="app/DeleteRow.tsx",
        ),
        Valid(
            "const appeal = useOrganizationAppeal(id);\n"
            "export const submit = (reason: string) =>\n"
            "  appeal.mutateAsync({ reason }).catch((e) => console.error(e));\n",
            path="app/appeal.ts",
        ),
        Valid(
            "try {\n  container.removeChild(element);\n} catch (e) {\n  console.error(e);\n}\n",
            path="app/a11y.ts",
        ),
        Valid(
            "main().catch((err) => {\n  console.error(err);\n});\nif (process.argv.length > 2) run();\n",
            path="tools/gen.ts",
        ),
        Valid(
            "export function Page() {\n  useEffect(() => {\n"
            "    load().catch((e) => console.error(e));\n  }, []);\n"
            "  return <div />;\n}\n",
            path="app/page.test.tsx",
        ),
        Valid(
            "// faultline: ignore[console-only-catch]\n"
            "navigator.serviceWorker.register('/sw.js').catch((error) => {\n"
            "  console.error('ServiceWorker registration failed: ', error);\n});\n",
            path="app/sw.ts",
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        # The report's snippet.
        Invalid(
            "navigator.serviceWorker\n  .register('/sw.js')\n  .catch((error) => {\n"
            "    console.error('ServiceWorker registration failed: ', error);\n  });\n",
            path="src/registerServiceWorker.ts",
            line=3,
            severity=Severity.NOTICE,
            message="only logs to the console",
        ),
        Invalid(
            "export function Upload() {\n"
            "  const [uploadStatus, setUploadStatus] = useState<'idle' | 'uploading' | 'error'>('idle');\n"
            "  async function onDrop(file: File) {\n    try {\n      await upload(file);\n"
            "      setUploadStatus('idle');\n    } catch (error) {\n      console.error(error);\n    }\n  }\n"
            "  return <Dropzone onDrop={onDrop} />;\n}\n",
            path="src/components/Upload.tsx",
            line=7,
            message="`catch` only logs to the console",
        ),
        Invalid("load().catch(console.error);\n", path="src/main.js", line=1),
        Invalid(
            "export const Item = () => (\n"
            "  <button onClick={() => remove().catch((e) => console.log(e))}>x</button>\n);\n",
            path="src/Item.jsx",
            line=2,
        ),
    ]

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        if any(marker in source.data for marker in CLI_MARKERS):
            return
        tree = script(source)
        from_hooks: set[str] | None = None
        found = tree.nodes("catch_clause") + tree.nodes("call_expression")
        for node in sorted(found, key=lambda node: (node.start_byte, -node.end_byte)):
            if node.type == "catch_clause":
                body = node.child_by_field_name("body")
                if body is None or not _console_only(body) or _expected_failure(node):
                    continue
                from_hooks = _hook_bindings(tree) if from_hooks is None else from_hooks
                if not _awaits_a_hook(node, from_hooks):
                    yield hit(node, _message("`catch`"), node)
            elif node.type == "call_expression" and method(node) == "catch":
                handler = _handler(node)
                if handler is None or not _console_only(handler):
                    continue
                from_hooks = _hook_bindings(tree) if from_hooks is None else from_hooks
                root = _root_name(receiver(node))
                if root not in from_hooks and not HOOK.match(root):
                    function = node.child_by_field_name("function")
                    where = function.child_by_field_name("property") if function is not None else None
                    yield hit(where or node, _message("`.catch(...)`"), node)


def _hook_bindings(tree: Script) -> set[str]:
    """Names the file binds from a hook's result (``const { deleteItem } = useDeleteItem()``,
    ``const save = useMutation(...)``): react-query's mutations and most data hooks show their
    own failures (an ``onError`` toast), so a catch that only logs around them is the guard
    against an unhandled rejection, not the handling."""
    names: set[str] = {"mutateAsync"}
    for node in tree.nodes("variable_declarator"):
        value = node.child_by_field_name("value")
        pattern = node.child_by_field_name("name")
        if value is None or pattern is None or value.type != "call_expression":
            continue
        if HOOK.match(callee(value).rpartition(".")[2]):
            names.update(text(n) for n in walk(pattern) if n.type in BINDINGS)
    return names


def _awaits_a_hook(catch: Node, from_hooks: set[str]) -> bool:
    """The try block awaits a function that came from a hook (or its ``.mutateAsync``)."""
    block = catch.parent.child_by_field_name("body") if catch.parent is not None else None
    if block is None:
        return False
    for node in walk(block):
        if node.type == "await_expression" and node.named_children:
            awaited = node.named_children[0]
            root = _root_name(awaited) if awaited.type == "call_expression" else ""
            if root in from_hooks or HOOK.match(root):
                return True
    return False


def _root_name(node: Node | None) -> str:
    """The name a call chain starts from: ``appeal`` for ``appeal.mutateAsync(x).then``."""
    while node is not None and node.type in ("member_expression", "call_expression"):
        field = "object" if node.type == "member_expression" else "function"
        node = node.child_by_field_name(field)
    return text(node) if node is not None and node.type == "identifier" else ""


def _expected_failure(catch: Node) -> bool:
    """A try block that only touches browser storage (disabled, full or private mode: the
    page works without it) or only cleans up (the thing may already be gone)."""
    block = catch.parent.child_by_field_name("body") if catch.parent is not None else None
    if block is None or block.text is None:
        return False
    if any(name in block.text for name in STORAGE):
        return True
    calls = [node for node in walk(block) if node.type == "call_expression"]
    return bool(calls) and all(CLEANUP.match(method(call) or callee(call)) for call in calls)


def _message(what: str) -> str:
    return (
        f"{what} only logs to the console: the user sees nothing, nothing retries and no error "
        "tracker hears of it; show the failure (set error state, a toast) or report it"
    )


def _handler(call: Node) -> Node | None:
    """What a ``.catch(...)`` runs: the callback's body, or ``console.error`` passed as is."""
    args = arguments(call)
    if len(args) != 1:
        return None
    handler = args[0]
    if handler.type in ("member_expression", "identifier"):
        return handler
    if handler.type in FUNCTIONS:
        return handler.child_by_field_name("body")
    return None


def _console_only(body: Node) -> bool:
    """True for a body (a block, an arrow's expression, a function passed by name) that does
    nothing but call the console, at least once, and holds no comment."""
    if body.type in ("member_expression", "identifier"):
        return body.text is not None and body.text.decode() in CONSOLE_CALLS
    if body.type == "call_expression":
        return callee(body) in CONSOLE_CALLS
    if body.type != "statement_block":
        return False
    statements = body.named_children
    if not statements:
        return False
    for statement in statements:
        if statement.type != "expression_statement":
            return False
        expression = statement.named_children[0] if statement.named_children else None
        if (
            expression is None
            or expression.type != "call_expression"
            or callee(expression) not in CONSOLE_CALLS
        ):
            return False
    return True
