"""The engine's needle search: which rules a file concerns, found in one pass over its bytes."""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import given
from hypothesis import strategies as st

from faultline.analyzers.core.changes import ChangeSet
from faultline.analyzers.core.config import Config
from faultline.analyzers.core.context import Context
from faultline.analyzers.core.engine import ActiveRule, Engine, NeedleFinder, holds
from faultline.analyzers.core.findings import Hit, Severity
from faultline.analyzers.core.repo import MemoryRepoView
from faultline.analyzers.core.rule import Rule
from faultline.analyzers.core.source import SourceFile


def _rule(code: str, wanted: tuple[bytes, ...]) -> type[Rule]:
    class Needled(Rule):
        """## What it does
        Reports line 1 of a file that holds one of its needles."""

        severity = Severity.WARNING
        summary = "needled"
        needles = wanted

        def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
            yield Hit(1, f"{self.code} ran")

    Needled.code = code
    Needled.slug = f"needled-{code.lower()}"
    return Needled


def _active(*needle_sets: tuple[bytes, ...]) -> list[ActiveRule]:
    return [
        ActiveRule(_rule(f"FL9{index:02}", needles)(), None, (), ())
        for index, needles in enumerate(needle_sets)
    ]


def _small(raw: bytes) -> bytes:
    """Bytes of a five-letter alphabet: needles then overlap, share prefixes and sit inside each other."""
    return bytes(b"ab.:("[byte % 5] for byte in raw)


@given(
    data=st.binary(max_size=60).map(_small),
    needle_sets=st.lists(
        st.lists(
            st.binary(min_size=1, max_size=4).map(_small),
            max_size=4,
        ).map(tuple),
        min_size=1,
        max_size=4,
    ),
)
def test_the_one_pass_finds_what_a_scan_per_needle_finds(
    data: bytes, needle_sets: list[tuple[bytes, ...]]
) -> None:
    wanted = _active(*needle_sets)
    present = NeedleFinder().present(data, wanted)
    for active in wanted:
        expected = not active.rule.needles or any(needle in data for needle in active.rule.needles)
        assert holds(present, active.rule.needles) is expected


def test_a_needle_that_only_occurs_across_another_is_found() -> None:
    imports, calls = _rule("FL901", (b"from requests",)), _rule("FL902", (b"requests.",))
    engine = Engine(Config(), [imports, calls])
    data = b"from requests.adapters import HTTPAdapter\n"
    report = engine.run(ChangeSet.whole(["a.py"]), MemoryRepoView({"a.py": data}))
    assert [finding.code for finding in report.findings] == ["FL901", "FL902"]


def test_a_file_without_any_needle_runs_only_the_rules_without_needles() -> None:
    engine = Engine(Config(), [_rule("FL901", (b"jwt",)), _rule("FL902", ())])
    report = engine.run(ChangeSet.whole(["a.py"]), MemoryRepoView({"a.py": b"x = 1\n"}))
    assert [finding.code for finding in report.findings] == ["FL902"]
