"""TypeScript and JavaScript files: which grammar reads them, what is a parse error, what is skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from faultline.analyzers.core.changes import ChangeSet
from faultline.analyzers.core.config import Config
from faultline.analyzers.core.engine import PARSE_ERROR_CODE, Engine
from faultline.analyzers.core.repo import MemoryRepoView
from faultline.analyzers.core.rule import is_production
from faultline.analyzers.core.source import SourceFile
from faultline.analyzers.languages import fence_for, language_for
from faultline.analyzers.languages.typescript import BUNDLE_HEAD_CHARS, bundle, script
from faultline.analyzers.rules.frontend.console_only_catch import ConsoleOnlyCatch
from tests.test_layout import loaded_after

JSX = "export const A = () => <div>{items.map((i) => <b key={i}>{i}</b>)}</div>;\n"


@pytest.mark.parametrize(
    ("path", "name", "fence"),
    [
        ("a.ts", "typescript", "ts"),
        ("a.tsx", "tsx", "tsx"),
        ("a.js", "javascript", "js"),
        ("a.jsx", "javascript", "js"),
        ("a.mjs", "javascript", "js"),
        ("a.cjs", "javascript", "js"),
    ],
)
def test_each_suffix_has_its_grammar(path: str, name: str, fence: str) -> None:
    language = language_for(path)
    assert language is not None and language.name == name
    assert fence_for(path) == fence


@pytest.mark.parametrize("path", ["a.tsx", "a.jsx", "a.js"])
def test_jsx_parses_where_the_grammar_reads_it(path: str) -> None:
    root = script(SourceFile(path, JSX.encode())).root
    assert root is not None and not root.has_error


def test_a_ts_file_is_read_with_the_typescript_grammar() -> None:
    # That grammar reads ``<div>`` as a type assertion: JSX in a .ts file does not parse cleanly.
    root = script(SourceFile("a.ts", JSX.encode())).root
    assert root is not None and root.has_error


def test_a_broken_expression_inside_a_function_is_not_a_parse_error() -> None:
    code = b"function f() {\n  const x = (1 + ;\n  return x;\n}\n"
    root = script(SourceFile("a.ts", code)).root
    assert root is not None and root.has_error


def test_a_file_that_does_not_parse_is_fl000_in_the_summary() -> None:
    code = b"try {\n  a();\n} catch (e) {\n  console.error(e);\n}\n}}} )( ]\n"
    repo = MemoryRepoView({"src/a.ts": code})
    report = Engine(Config(), [ConsoleOnlyCatch]).run(ChangeSet.whole(["src/a.ts"]), repo)
    assert [(f.code, f.line) for f in report.findings] == [(PARSE_ERROR_CODE, 6)]


def test_not_utf8_is_a_parse_error_not_a_crash() -> None:
    repo = MemoryRepoView({"src/a.js": b"console.error('\xff');\n"})
    report = Engine(Config(), [ConsoleOnlyCatch]).run(ChangeSet.whole(["src/a.js"]), repo)
    assert [f.code for f in report.findings] == [PARSE_ERROR_CODE]


@pytest.mark.parametrize(
    "path",
    [
        "web/dist/app.js",
        "web/build/static/js/main.js",
        "node_modules/react/index.js",
        "public/lib/jquery.min.js",
        "src/App.test.tsx",
        "src/__tests__/App.tsx",
        "src/types.d.ts",
        "vite.config.ts",
    ],
)
def test_built_vendored_and_test_files_are_not_production(path: str) -> None:
    assert not is_production(path)


def test_a_minified_file_is_read_as_empty() -> None:
    code = ("try{a()}catch(e){console.error(e)};" * 100).encode()
    assert script(SourceFile("src/app.js", code)).root is None


def test_a_bundler_chunk_with_short_lines_is_read_as_empty() -> None:
    # A built chunk of a few hundred characters a line: dense statements, hardly a space.
    body = "function r(a){const t=u(a);t.then(c=>{c.x=1});return t}"
    chunk = 'import{a as u}from"./index.94b01c79.js";' + body * 6
    assert 300 < len(chunk) < 1000
    assert script(SourceFile("static/assets/clipboard.26e62f1b.js", chunk.encode())).root is None


def test_a_long_string_in_written_code_does_not_make_a_bundle() -> None:
    data = "iVBORw0KGgo" * 60
    code = f'const logo = "data:image/png;base64,{data}";\nexport function f() {{ return logo; }}\n'
    assert script(SourceFile("src/logo.ts", code.encode())).root is not None


def test_a_long_line_of_written_code_with_spaces_is_read() -> None:
    columns = ", ".join(f'{{ key: "c{i}", label: "Column {i}" }}' for i in range(12))
    line = f"const columns = [{columns}];\n"
    assert len(line) > 300
    assert script(SourceFile("src/columns.ts", line.encode())).root is not None


BUNDLE_LINE = "try{a()}catch(e){console.error(e)};" * 100 + "\n"


def _run(path: str, data: bytes) -> tuple[int, list[str]]:
    report = Engine(Config()).run(ChangeSet.whole([path]), MemoryRepoView({path: data}))
    return report.files_checked, [finding.code for finding in report.findings]


def test_no_rule_reads_a_minified_bundle() -> None:
    # Hand-written, the handler that only logs and the suppression of an unknown rule are findings.
    written = "try { a(); } catch (e) { console.error(e); } // faultline: ignore[no-such-rule]\n"
    assert {"FL015", "FL090"} <= set(_run("src/app.js", written.encode())[1])
    assert _run("src/app.js", (written + BUNDLE_LINE).encode()) == (1, [])


def test_a_bundle_is_told_from_its_head_and_a_later_minified_line_still_reads_as_empty() -> None:
    head = BUNDLE_HEAD_CHARS
    late = "const x = 1;\n" * (head // 13 + 1) + BUNDLE_LINE
    source = SourceFile("src/late.js", late.encode())
    assert not bundle(source)
    assert script(source).root is None
    # A minified line cut at the end of the head is not judged on its first part.
    cut = "const x = 1;\n" * (head // 13 - 2) + BUNDLE_LINE * 3
    assert not bundle(SourceFile("src/cut.js", cut.encode()))
    assert bundle(SourceFile("src/head.js", (BUNDLE_LINE * 3).encode()))


def test_a_line_already_too_long_to_be_written_code_when_the_head_cuts_it_makes_a_bundle() -> None:
    # A webpack chunk: a licence comment, then the whole program on one line.
    chunk = "/*! For license information please see 1190.entry.js.LICENSE.txt */\n" + "x" * (
        2 * BUNDLE_HEAD_CHARS
    )
    assert bundle(SourceFile("static/1190.entry.js", chunk.encode()))
    # Cut after fewer characters than a minified line has, it is left out as before.
    short = "const x = 1;\n" * (BUNDLE_HEAD_CHARS // 13 - 40) + "y" * (2 * BUNDLE_HEAD_CHARS)
    assert not bundle(SourceFile("src/short.js", short.encode()))


def test_an_undecodable_bundle_is_left_to_the_rules() -> None:
    data = BUNDLE_LINE.encode() + b"\xff\n"
    assert not bundle(SourceFile("src/app.js", data))
    assert _run("src/app.js", data)[1] == [PARSE_ERROR_CODE]


CHECK_ALL = (
    "import contextlib, io\nfrom faultline.app.cli.main import main\n"
    "with contextlib.redirect_stdout(io.StringIO()):\n    main(['check', '--all', '.'])"
)


def test_a_run_without_scripts_never_imports_tree_sitter(tmp_path: Path) -> None:
    (tmp_path / "x.py").write_text("try:\n    db.commit()\nexcept Exception:\n    pass\n")
    loaded = loaded_after(CHECK_ALL, tmp_path)
    assert "faultline.analyzers.rules.frontend.floating_promise" in loaded
    assert not {name for name in loaded if name.startswith("tree_sitter")}


def test_a_script_loads_its_grammar_only(tmp_path: Path) -> None:
    (tmp_path / "a.ts").write_text("async function f() {}\nf();\n")
    loaded = loaded_after(CHECK_ALL, tmp_path)
    assert "tree_sitter" in loaded
    # The compiled grammar without its package (which imports importlib.resources).
    assert "tree_sitter_typescript" not in loaded and "tree_sitter_javascript" not in loaded
