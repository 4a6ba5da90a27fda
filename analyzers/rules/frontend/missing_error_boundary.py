"""FL016 missing-error-boundary: a React root renders the app with no error boundary."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from faultline.analyzers.core.context import Context
from faultline.analyzers.core.findings import Hit, Severity
from faultline.analyzers.core.rule import Invalid, Rule, Valid
from faultline.analyzers.core.source import SourceFile
from faultline.analyzers.languages.typescript import SCRIPT_PATTERNS, Script, script
from faultline.analyzers.lib.typescript.nodes import arguments, callee, hit, method, receiver, text, walk
from faultline.analyzers.lib.typescript.patterns import LazyPattern

if TYPE_CHECKING:
    from tree_sitter import Node

ROOT_CALLS = frozenset({"createRoot", "ReactDOM.createRoot", "ReactDOMClient.createRoot"})
HYDRATE_CALLS = frozenset({"hydrateRoot", "ReactDOM.hydrateRoot", "ReactDOMClient.hydrateRoot"})
LEGACY_RENDER = frozenset({"ReactDOM.render", "ReactDOM.hydrate"})
# What a file holds when it defines or uses a boundary (its own class, react-error-boundary,
# Sentry's, Next's error files).
BOUNDARY_MARKS = (b"ErrorBoundary", b"componentDidCatch", b"getDerivedStateFromError", b"withErrorBoundary")
PAGE_CONTAINER = LazyPattern(
    r"getElementById|querySelector|document\.body|\b(?:root|app)\w*\b", re.IGNORECASE
)
RENDER_NEEDLES = (b"createRoot", b"hydrateRoot", b"ReactDOM.render", b"ReactDOM.hydrate", b"react-dom")
SUFFIXES = (".tsx", ".ts", ".jsx", ".js")
LAYOUT = LazyPattern(r"(?:^|/)app/layout\.(?:tsx|jsx|ts|js)$")
ERROR_FILES = LazyPattern(r"/(?:global-)?error\.(?:tsx|jsx|ts|js)$")
# An import's clause holds no other ``import`` and its braces no brace: each attempt stops
# where the next would start, so a search takes time in proportion to the text.
IMPORT = LazyPattern(r"""import\s+(\w+)(?:(?!\bimport\b)[^'"])*?from\s+['"](\.[^'"]+)['"]""")
NAMED_IMPORT = LazyPattern(r"""import\s+(?:\w+\s*,\s*)?\{([^{}]*)\}\s*from\s+['"](\.[^'"]+)['"]""")
# How a module may name react-dom: ``import * as RD from 'react-dom/client'``, ``import
# ReactDOMClient from ...``, ``import { createRoot as mount } from ...``, ``require(...)``.
REACT_DOM = LazyPattern(
    r"""(?:import\s+(?!type\b)((?:(?!\bimport\b)[^;'"])+?)\s+from"""
    r"""|(?:const|let|var)\s+([\w{](?:(?!\b(?:const|let|var)\b)[^=;])*?)\s*=\s*require\()"""
    r"""\s*['"]react-dom(?:/client)?['"]"""
)
BRACES = LazyPattern(r"\{([^{}]*)\}")  # no brace inside: a search takes time in proportion to the text


class MissingErrorBoundary(Rule):
    """
    ## What it does
    Checks for a React root (`createRoot(...).render(...)`, `hydrateRoot(...)`,
    `ReactDOM.render(...)`) into the page (`document.getElementById(...)`, a `root`
    element; not a widget rendered into a button) with no error boundary in between,
    neither in the root file nor in the local component it renders (the project's
    `App`), and for a Next.js `app/` router root `layout` with no `error` or
    `global-error` file beside it.

    ## Why is this risky?
    An error thrown while rendering that no boundary catches unmounts the whole React
    tree: the user is left with a blank white page, no message and no way back but a
    reload, and nothing reports it. One boundary at the root (react-error-boundary's
    `ErrorBoundary`, Sentry's, or a class with `componentDidCatch`) turns that into a
    fallback screen and a report. In the Next.js app router, `app/error.tsx` and
    `app/global-error.tsx` are that boundary.

    react-dom is known under the names the module gives it (`import * as RD from
    'react-dom/client'`, `import { createRoot as mount }`, `require('react-dom')`), and
    the rendered component is followed through default and named relative imports
    (`import { Shell as App } from './Shell'`).

    Reported when the change touches the root's render call or the root layout. Not
    reported when the rendered component comes from a path the rule cannot read
    (an alias such as `@/App`, a package): it may hold the boundary.

    ## Example
    ```tsx
    import { createRoot } from 'react-dom/client';
    import App from './App';

    createRoot(document.getElementById('root')!).render(<App />);
    ```

    ## Use instead
    ```tsx
    import { createRoot } from 'react-dom/client';
    import { ErrorBoundary } from 'react-error-boundary';
    import App from './App';

    createRoot(document.getElementById('root')!).render(
      <ErrorBoundary fallback={<p>Something went wrong. Reload the page.</p>}>
        <App />
      </ErrorBoundary>,
    );
    ```
    """

    code = "FL016"
    slug = "missing-error-boundary"
    severity = Severity.WARNING
    summary = "A React root renders the app with no error boundary"
    patterns = SCRIPT_PATTERNS
    production_only = True
    compare_base = True
    needles = (
        b"react-dom",
        b"createRoot",
        b"hydrateRoot",
        b"ReactDOM.render",
        b"ReactDOM.hydrate",
        b"RootLayout",
        b"children",
    )

    VALID: ClassVar[list[Valid]] = [
        Valid(
            "import { createRoot } from 'react-dom/client';\n"
            "import { ErrorBoundary } from 'react-error-boundary';\n"
            "import App from './App';\n\ncreateRoot(document.getElementById('root')!).render(\n"
            "  <ErrorBoundary fallback={<Crash />}>\n    <App />\n  </ErrorBoundary>,\n);\n",
            path="src/main.tsx",
        ),
        # The boundary is in App.
        Valid(
            "import { createRoot } from 'react-dom/client';\nimport App from './App';\n\n"
            "const root = createRoot(document.getElementById('root')!);\nroot.render(<App />);\n",
            path="src/main.tsx",
            files={
                "src/App.tsx": (
                    "export default () => (\n  <Sentry.ErrorBoundary><Routes /></Sentry.ErrorBoundary>\n);\n"
                )
            },
        ),
        # App comes from an alias the rule cannot read.
        Valid(
            "import { createRoot } from 'react-dom/client';\nimport App from '@/App';\n\n"
            "createRoot(el).render(<App />);\n",
            path="src/main.tsx",
        ),
        Valid(
            "export default function RootLayout({ children }: { children: React.ReactNode }) {\n"
            "  return <html><body>{children}</body></html>;\n}\n",
            path="src/app/layout.tsx",
            files={
                "src/app/error.tsx": (
                    "'use client';\nexport default function Error() {\n  return <p>Oops</p>;\n}\n"
                )
            },
        ),
        # A route segment named ``app`` inside the router: the root's error file covers it.
        Valid(
            "export default function Layout({ children }: { children: React.ReactNode }) {\n"
            "  return <section>{children}</section>;\n}\n",
            path="web/src/app/settings/app/layout.tsx",
        ),
        # A widget, not the page.
        Valid(
            "import ReactDOM from 'react-dom';\nimport Icon from './Icon';\n\n"
            "export function addIcon(button: HTMLElement) {\n  ReactDOM.render(<Icon />, button);\n}\n",
            path="src/editor/icons.tsx",
            files={"src/editor/Icon.tsx": "export default () => <svg />;\n"},
        ),
        # The boundary under another name.
        Valid(
            "import * as RD from 'react-dom/client';\n"
            "import { ErrorBoundary as EB } from 'react-error-boundary';\n"
            "import App from './App';\n\nRD.createRoot(document.getElementById('root')!).render(\n"
            "  <EB fallback={<Crash />}>\n    <App />\n  </EB>,\n);\n",
            path="src/main.tsx",
            files={"src/App.tsx": "export default function App() { return <Routes />; }\n"},
        ),
        # A named import of the app, followed: its file holds the boundary.
        Valid(
            "import { createRoot as mount } from 'react-dom/client';\n"
            "import { Shell as App } from './Shell';\n\n"
            "mount(document.getElementById('root')!).render(<App />);\n",
            path="src/index.tsx",
            files={
                "src/Shell.tsx": (
                    "export const Shell = () => (\n"
                    "  <Sentry.ErrorBoundary><Routes /></Sentry.ErrorBoundary>\n);\n"
                )
            },
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        Invalid(
            "import * as RD from 'react-dom/client';\nimport App from './App';\n\n"
            "RD.createRoot(document.getElementById('root')!).render(<App />);\n",
            path="src/main.tsx",
            files={"src/App.tsx": "export default function App() { return <Routes />; }\n"},
            line=4,
        ),
        Invalid(
            "import { createRoot as mount } from 'react-dom/client';\nimport { App } from './App';\n\n"
            "const root = mount(document.getElementById('root'));\nroot.render(<App />);\n",
            path="src/index.jsx",
            files={"src/App.jsx": "export function App() { return <Routes />; }\n"},
            line=5,
        ),
        Invalid(
            "import ReactDom from 'react-dom';\nimport App from './App';\n\n"
            "ReactDom.render(<App />, document.getElementById('app'));\n",
            path="src/index.js",
            files={"src/App.js": "export default function App() { return <Routes />; }\n"},
            line=4,
        ),
        Invalid(
            "import App from './App';\n\nconst Dom = require('react-dom/client');\n"
            "Dom.hydrateRoot(document.getElementById('root'), <App />);\n",
            path="src/entry.js",
            files={"src/App.js": "export default function App() { return <Routes />; }\n"},
            line=4,
        ),
        Invalid(
            "import { createRoot } from 'react-dom/client';\nimport App from './App';\n\n"
            "createRoot(document.getElementById('root')!).render(<App />);\n",
            path="src/main.tsx",
            files={"src/App.tsx": "export default function App() { return <Routes />; }\n"},
            line=4,
            severity=Severity.WARNING,
            message="no error boundary",
        ),
        Invalid(
            "import ReactDOM from 'react-dom';\nimport { Provider } from 'react-redux';\n"
            "import App from './App';\n\n"
            "ReactDOM.render(\n  <Provider store={store}>\n    <App />\n  </Provider>,\n"
            "  document.getElementById('root'),\n);\n",
            path="src/index.js",
            files={"src/App.js": "export default function App() { return <Routes />; }\n"},
            line=5,
        ),
        Invalid(
            "export default function RootLayout({ children }: { children: React.ReactNode }) {\n"
            "  return <html><body>{children}</body></html>;\n}\n",
            path="src/app/layout.tsx",
            files={"src/app/page.tsx": "export default function Page() { return <Home />; }\n"},
            line=1,
            message="no `error.tsx` or `global-error.tsx`",
        ),
    ]

    def more_context(self, ctx: Context) -> Iterator[str]:
        """The local component a changed root renders, and the folder of a changed root layout."""
        for path in ctx.changes.files:
            if _root_layout(path):
                yield posixpath.dirname(path) + "/"
                continue
            source = ctx.source(path) if path.endswith(SUFFIXES) else None
            if source is None or not any(needle in source.data for needle in RENDER_NEEDLES):
                continue
            for specifier in _local_imports(source.text).values():
                yield from _candidates(path, specifier)

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        if _root_layout(source.path):
            yield from self._check_layout(source, ctx)
            return
        if not any(call in source.data for call in RENDER_NEEDLES):
            return  # the needles let layouts in ("children"): no root render here
        if any(mark in source.data for mark in BOUNDARY_MARKS):
            return
        tree = script(source)
        if tree.root is None:
            return  # minified: a bundle, not the project's own code (and no tree to read)
        imports = _local_imports(source.text)
        for call, rendered in _renders(tree, _render_calls(source.text)):
            if not _has_boundary(rendered, source.path, imports, ctx):
                yield hit(call, _root_message(), call.parent or call)

    def _check_layout(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        folder = posixpath.dirname(source.path)
        if any(ERROR_FILES.search("/" + path) for path in ctx.listing(folder)):
            return
        root = script(source).root
        if root is None:
            return
        export = next(
            (
                node
                for node in root.named_children
                if node.type == "export_statement" and b"default" in (node.text or b"")
            ),
            None,
        )
        if export is not None:
            yield hit(
                export,
                f"the root layout of the `{folder}/` router has no `error.tsx` or `global-error.tsx` beside "
                "it: an error while rendering shows Next's bare error page; add `error.tsx` (a client "
                "component with a retry)",
                export,
            )


def _root_layout(path: str) -> bool:
    """``app/layout.tsx`` of a Next.js router; not the layout of a route segment that is itself
    named ``app`` (``app/settings/app/layout.tsx``), which the root's error file covers."""
    return LAYOUT.search(path) is not None and "app" not in path.split("/")[:-2]


def _root_message() -> str:
    return (
        "this React root renders the app with no error boundary: an error while rendering unmounts "
        "everything and leaves a blank page; wrap the app in an `ErrorBoundary` with a fallback"
    )


@dataclass(frozen=True)
class RenderCalls:
    """The names a module calls react-dom's root functions by."""

    root: frozenset[str]
    hydrate: frozenset[str]
    legacy: frozenset[str]


def _render_calls(source_text: str) -> RenderCalls:
    root, hydrate, legacy = set(ROOT_CALLS), set(HYDRATE_CALLS), set(LEGACY_RENDER)
    for clause in (a or b for a, b in REACT_DOM.findall(source_text)):
        named = BRACES.search(clause)
        for part in named.group(1).split(",") if named else ():
            # ``createRoot as mount`` (import) or ``createRoot: mount`` (require)
            words = re.findall(r"\w+", part)
            if not words:
                continue
            imported, local = words[0], words[-1]
            if imported == "createRoot":
                root.add(local)
            elif imported == "hydrateRoot":
                hydrate.add(local)
            elif imported in ("render", "hydrate"):
                legacy.add(local)
        for module in re.findall(r"\w+", BRACES.sub("", clause)):
            if module not in ("as", "type"):
                root.add(f"{module}.createRoot")
                hydrate.add(f"{module}.hydrateRoot")
                legacy.update((f"{module}.render", f"{module}.hydrate"))
    return RenderCalls(frozenset(root), frozenset(hydrate), frozenset(legacy))


def _local_imports(source_text: str) -> dict[str, str]:
    """Local names of the module's relative imports, default and named (``{ App as Shell }``),
    with the specifier each comes from."""
    imports = dict(IMPORT.findall(source_text))
    for names, specifier in NAMED_IMPORT.findall(source_text):
        for part in names.split(","):
            words = re.findall(r"\w+", part)
            if words and words[0] != "type":
                imports.setdefault(words[-1], specifier)
    return imports


def _renders(tree: Script, calls: RenderCalls) -> Iterator[tuple[Node, Node]]:
    """Each root render call with the JSX it renders."""
    roots = {
        text(node.child_by_field_name("name"))
        for node in tree.nodes("variable_declarator")
        if _is_root_call(node.child_by_field_name("value"), calls)
    }
    for node in tree.nodes("call_expression"):
        args = arguments(node)
        rendered: Node | None = None
        container: Node | None = None
        if method(node) == "render":
            target = receiver(node)
            if target is not None and target.type == "identifier" and text(target) in roots:
                rendered, container = (args[0] if args else None), target
            elif _is_root_call(target, calls):
                root_args = arguments(target) if target is not None else []
                rendered, container = (args[0] if args else None), (root_args[0] if root_args else None)
        name = callee(node)
        if name in calls.hydrate and len(args) > 1:
            rendered, container = args[1], args[0]
        elif name in calls.legacy and len(args) > 1:
            rendered, container = args[0], args[1]
        if rendered is not None and rendered.type.startswith("jsx") and _page_root(container, roots):
            yield node, rendered


def _page_root(container: Node | None, roots: set[str]) -> bool:
    """The render fills the page (``document.getElementById("root")``, a ``root`` variable),
    not a widget (an icon rendered into a button of an editor)."""
    if container is None:
        return False
    if container.type == "identifier" and text(container) in roots:
        return True
    return PAGE_CONTAINER.search(text(container)) is not None


def _is_root_call(node: Node | None, calls: RenderCalls) -> bool:
    return node is not None and node.type == "call_expression" and callee(node) in calls.root


def _has_boundary(rendered: Node, path: str, imports: dict[str, str], ctx: Context) -> bool:
    """A boundary in the JSX, or possibly in a component it renders (unread counts as possibly)."""
    for node in walk(rendered):
        if node.type not in ("jsx_opening_element", "jsx_self_closing_element"):
            continue
        name = text(node.child_by_field_name("name"))
        if "Boundary" in name:
            return True
        specifier = imports.get(name)
        if specifier is None:
            # A capitalised component from an alias import or of this file: unknown.
            if name[:1].isupper() and "." not in name and not _imported_from_package(name, ctx, path):
                return True
            continue
        files = [ctx.source(candidate) for candidate in _candidates(path, specifier)]
        found = next((source for source in files if source is not None), None)
        if found is None or any(mark in found.data for mark in BOUNDARY_MARKS):
            return True
    return False


def _imported_from_package(name: str, ctx: Context, path: str) -> bool:
    source = ctx.source(path)
    if source is None:
        return False
    return (
        re.search(rf"""import\s[^;]*\b{re.escape(name)}\b[^;]*from\s+['"][^.@][^'"]*['"]""", source.text)
        is not None
    )


def _candidates(path: str, specifier: str) -> list[str]:
    base = posixpath.normpath(posixpath.join(posixpath.dirname(path), specifier))
    if base.endswith(SUFFIXES):
        return [base]
    return [base + suffix for suffix in SUFFIXES] + [f"{base}/index{suffix}" for suffix in SUFFIXES]
