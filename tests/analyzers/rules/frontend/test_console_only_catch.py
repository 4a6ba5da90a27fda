"""FL015 console-only-catch beyond its examples (near-misses, real-code cases)."""

from __future__ import annotations

from faultline.analyzers.core.rule import Valid
from faultline.analyzers.core.testing import run_example
from faultline.analyzers.rules.frontend.console_only_catch import ConsoleOnlyCatch


def test_an_empty_catch_is_not_console_only() -> None:
    assert run_example(ConsoleOnlyCatch, Valid("try { a() } catch {}\n", path="src/a.ts")) == []


def test_a_jsx_comment_suppresses_it() -> None:
    code = (
        "export const Item = () => (\n  <div>\n    {/* faultline: ignore[console-only-catch] */}\n"
        "    <button onClick={() => remove().catch((e) => console.log(e))}>x</button>\n  </div>\n);\n"
    )
    assert run_example(ConsoleOnlyCatch, Valid(code, path="src/Item.tsx")) == []


def test_a_minified_bundle_is_not_read() -> None:
    code = "try{a()}catch(e){console.error(e)}" + ";x()" * 400 + "\n"
    assert run_example(ConsoleOnlyCatch, Valid(code, path="src/vendor.js")) == []
