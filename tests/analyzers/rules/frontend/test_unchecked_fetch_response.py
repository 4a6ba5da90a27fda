"""FL013 unchecked-fetch-response beyond its examples (near-misses, real-code cases)."""

from __future__ import annotations

from faultline.analyzers.core.rule import Valid
from faultline.analyzers.core.testing import run_example
from faultline.analyzers.rules.frontend.unchecked_fetch_response import UncheckedFetchResponse

AVATAR = (
    "export const Avatar = ({ url }: Props) => {\n  useEffect(() => {\n{comment}"
    "    fetch(url).then((r) => r.blob()).then(setImage);\n  }, [url]);\n"
    "  return <img src={image} />;\n};\n"
)


def test_the_comment_is_what_silences_it() -> None:
    bare = run_example(UncheckedFetchResponse, Valid(AVATAR.replace("{comment}", ""), path="src/Avatar.tsx"))
    assert [finding.line for finding in bare] == [3]
    jsx = AVATAR.replace("{comment}", "    {/* faultline: ignore[FL013] */}\n")
    assert run_example(UncheckedFetchResponse, Valid(jsx, path="src/Avatar.tsx")) == []


def test_a_status_read_after_the_body_still_counts_as_looked_at() -> None:
    code = (
        "async function load() {\n  const res = await fetch(u);\n  const body = await res.json();\n"
        "  if (res.status !== 200) throw new Error(body.detail);\n  return body;\n}\n"
    )
    assert run_example(UncheckedFetchResponse, Valid(code, path="src/api.ts")) == []


def test_only_added_lines_count() -> None:
    base = "async function load() {\n  const res = await fetch(u);\n  return res.json();\n}\n"
    code = "// the documents\n" + base
    assert run_example(UncheckedFetchResponse, Valid(code, path="src/api.ts", base=base)) == []


def test_a_fetch_moved_into_an_if_is_not_new() -> None:
    base = (
        "async function download(src) {\n  const image = await fetch(src);\n  blob = await image.blob();\n}\n"
    )
    code = (
        "async function download(src) {\n  if (internal(src)) {\n    const image = await fetch(src);\n"
        "    blob = await image.blob();\n  }\n}\n"
    )
    assert run_example(UncheckedFetchResponse, Valid(code, path="src/dl.ts", base=base)) == []
