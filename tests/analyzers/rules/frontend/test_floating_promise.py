"""FL014 floating-promise beyond its examples (near-misses, real-code cases)."""

from __future__ import annotations

from faultline.analyzers.core.rule import Valid
from faultline.analyzers.core.testing import run_example
from faultline.analyzers.rules.frontend.floating_promise import FloatingPromise


def test_a_name_also_bound_to_a_plain_function_is_not_known_async() -> None:
    code = (
        "async function save() {\n  await api.put();\n}\n"
        "export const A = ({ save }: Props) => <button onClick={() => { save(); }} />;\n"
    )
    assert run_example(FloatingPromise, Valid(code, path="src/A.tsx")) == []


def test_an_async_callback_hook_called_bare_in_a_handler_is_reported() -> None:
    code = (
        "export function A() {\n  const save = useCallback(async () => {\n    await api.put();\n  }, []);\n"
        "  return <button onClick={() => { save(); }} />;\n}\n"
    )
    findings = run_example(FloatingPromise, Valid(code, path="src/A.tsx"))
    assert [finding.line for finding in findings] == [5]


def test_a_chain_of_a_function_of_this_file_that_catches_is_quiet() -> None:
    code = (
        "function saveAll() {\n  return api.put().catch((e) => setError(e));\n}\n"
        "export const onDone = () => {\n  saveAll().then(() => close());\n};\n"
    )
    assert run_example(FloatingPromise, Valid(code, path="src/done.ts")) == []


def test_a_chain_only_reformatted_is_not_new() -> None:
    base = "useEffect(() => {\n  getTags(url).then(tags => {\n    setTags(tags)\n  })\n}, [])\n"
    code = "useEffect(() => {\n  getTags(url).then((tags) => {\n    setTags(tags);\n  });\n}, []);\n"
    assert run_example(FloatingPromise, Valid(code, path="src/tags.js", base=base)) == []
    assert run_example(FloatingPromise, Valid(code, path="src/tags.js"))
