"""The layout's promises, checked on the code itself: the engine is pure, the web process
does not load the engine, the CLI does not load the App's server stack, and every import
goes through the one ``faultline`` package."""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from faultline import __version__
from faultline.analyzers.languages.python_syntax import parse_module

ROOT = Path(__file__).resolve().parent.parent
# What "pure" rules out: talking to the network, running programs, the App.
IMPURE = ("faultline.app", "subprocess", "socket", "http", "urllib.request", "requests", "httpx", "asyncio")
# The reference folder beside a checkout, which a clone does not have (spelt in two parts so
# that this file does not name it).
BESIDE = "../" + "shared"
SERVER_STACK = ("fastapi", "uvicorn", "githubkit", "huey", "cryptography", "structlog", "pydantic_settings")


def imports_of(path: Path) -> Iterator[tuple[int, str]]:
    tree = parse_module(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def python_files(*folders: str) -> list[Path]:
    """Faultline's own modules under ``folders``: not the sample projects in tests/fixtures."""
    fixtures = ROOT / "tests" / "fixtures"
    found = (path for folder in folders for path in (ROOT / folder).rglob("*.py"))
    return sorted(path for path in found if not path.is_relative_to(fixtures))


def is_under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == prefix or module.startswith(f"{prefix}.") for prefix in prefixes)


def test_the_engine_is_pure() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in python_files("analyzers")
        for line, module in imports_of(path)
        if is_under(module, IMPURE)
    ]
    assert found == []


def test_every_import_goes_through_the_faultline_package() -> None:
    # A bare `import app` would load a second copy of the module, or a user's own `app`.
    found = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in python_files("analyzers", "app", "faultline", "tests", "bench")
        for line, module in imports_of(path)
        if is_under(module, ("app", "analyzers"))
    ]
    assert found == []


def test_the_repository_reads_nothing_beside_it() -> None:
    found = [
        str(path.relative_to(ROOT))
        for path in [*python_files("analyzers", "app", "tests", "bench"), ROOT / "scripts" / "test.sh"]
        if BESIDE in path.read_text(encoding="utf-8")
    ]
    assert found == []


# Where the docs say what to run or read: a module given to ``python -m`` or ``import``, and
# a file of the repository (the docs' examples of output name a user's files, not ours).
DOCS = ("README.md", "bench/README.md", "docs/deploy.md", "Dockerfile", ".pre-commit-hooks.yaml")
MODULE_IN_DOCS = re.compile(r"(?:python3?(?: -[A-Z])* -m|import) ([A-Za-z_][\w.]*)")
FILE_IN_DOCS = re.compile(r"(?<![\w/.-])(?:analyzers|app|bench|docs|faultline|scripts|tests)/[\w/.-]*\w")


def test_the_docs_name_modules_and_files_that_exist() -> None:
    missing = []
    for name in DOCS:
        text = (ROOT / name).read_text(encoding="utf-8")
        for module in MODULE_IN_DOCS.findall(text):
            top = module.split(".")[0]
            gone = top == "faultline" and importlib.util.find_spec(module) is None
            if top in ("app", "analyzers") or gone:
                missing.append(f"{name}: module {module}")
        for path in FILE_IN_DOCS.findall(text):
            if not (ROOT / path).exists():
                missing.append(f"{name}: file {path}")
    assert missing == []


def test_the_readme_pins_the_version_it_describes() -> None:
    # The pre-commit example: an older tag has another layout and another package name.
    revs = re.findall(r"rev: v(\S+)", (ROOT / "README.md").read_text(encoding="utf-8"))
    assert revs == [__version__]


def loaded_after(code: str, cwd: Path) -> set[str]:
    """The modules loaded by a fresh interpreter that runs ``code``."""
    script = f"{code}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, check=False, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split())


def test_the_receiver_does_not_load_the_engine(tmp_path: Path) -> None:
    loaded = loaded_after("import faultline.app.web.server, faultline.app.web.webhooks", tmp_path)
    assert "faultline.app.web.server" in loaded
    # Small pure modules (path checks) may be shared; the engine, rules and parsers may not.
    engine = ("faultline.analyzers.core.engine", "faultline.analyzers.core.registry", "faultline.app.review")
    engine += ("faultline.analyzers.rules", "faultline.analyzers.lib", "faultline.analyzers.languages")
    assert not {m for m in loaded if is_under(m, engine)}


@pytest.mark.parametrize("argv", [["rules"], ["check", "--all", "."]])
def test_the_cli_does_not_load_the_server_stack(tmp_path: Path, argv: list[str]) -> None:
    (tmp_path / "x.py").write_text("try:\n    db.commit()\nexcept Exception:\n    pass\n")
    code = (
        "import contextlib, io\nfrom faultline.app.cli.main import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n    main({argv!r})"
    )
    loaded = loaded_after(code, tmp_path)
    assert "faultline.analyzers.core.engine" in loaded or argv == ["rules"]
    assert not {m for m in loaded if is_under(m, SERVER_STACK)}
