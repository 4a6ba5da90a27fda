"""FL016 missing-error-boundary beyond its examples (near-misses, real-code cases)."""

from __future__ import annotations

from faultline.analyzers.core.changes import ChangeSet, diff_texts
from faultline.analyzers.core.config import Config
from faultline.analyzers.core.context import Context
from faultline.analyzers.core.engine import Engine
from faultline.analyzers.core.repo import MemoryRepoView
from faultline.analyzers.core.rule import Valid
from faultline.analyzers.core.testing import run_example
from faultline.analyzers.rules.frontend.missing_error_boundary import MissingErrorBoundary

MAIN = (
    "import { createRoot } from 'react-dom/client';\nimport App from './App';\n\n"
    "createRoot(root).render(<App />);\n"
)


def test_a_global_error_file_is_a_boundary_too() -> None:
    layout = "export default function RootLayout({ children }) {\n  return <html>{children}</html>;\n}\n"
    files = {"app/global-error.jsx": "'use client';\nexport default function GlobalError() {}\n"}
    assert run_example(MissingErrorBoundary, Valid(layout, path="app/layout.jsx", files=files)) == []


def test_a_change_elsewhere_in_the_root_file_is_not_reported() -> None:
    base = MAIN
    code = "import './index.css';\n" + MAIN
    files = {"src/App.tsx": "export default () => <Routes />;\n"}
    assert run_example(MissingErrorBoundary, Valid(code, path="src/main.tsx", base=base, files=files)) == []


def test_the_app_reads_the_rendered_component_and_the_layout_folder() -> None:
    layout = "export default function RootLayout({ children }) {\n  return <html>{children}</html>;\n}\n"
    change = ChangeSet(
        {
            "src/main.tsx": diff_texts("src/main.tsx", None, MAIN),
            "web/app/layout.tsx": diff_texts("web/app/layout.tsx", None, layout),
        }
    )
    repo = MemoryRepoView({"src/main.tsx": MAIN.encode(), "web/app/layout.tsx": layout.encode()})
    wanted = set(MissingErrorBoundary().more_context(Context(repo, change)))
    assert {"src/App.tsx", "src/App/index.tsx", "web/app/"} <= wanted
    assert Engine(Config(), [MissingErrorBoundary]).more_context_paths(change, repo)
