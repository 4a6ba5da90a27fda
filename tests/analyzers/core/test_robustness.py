"""Bad input gets a clear error or a finding, never a crash: property tests."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faultline.analyzers.core.changes import ChangeSet, DiffError
from faultline.analyzers.core.config import Config, ConfigError, parse_config
from faultline.analyzers.core.engine import Engine
from faultline.analyzers.core.repo import MemoryRepoView

DIFF_LINES = st.sampled_from(
    [
        "diff --git a/m.py b/m.py",
        "--- a/m.py",
        "+++ b/m.py",
        "--- /dev/null",
        "+++ /dev/null",
        "@@ -1,2 +1,3 @@",
        "@@ -0,0 +1 @@",
        "@@ -5 +5,2 @@ def f():",
        " context",
        "+added",
        "-removed",
        "\\ No newline at end of file",
        "rename from a.py",
        "rename to b.py",
        "Binary files a/x.png and b/x.png differ",
        "new file mode 100644",
        "index 123..456 100644",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(DIFF_LINES, st.text(max_size=20)), max_size=25))
def test_any_text_is_a_changeset_or_a_diff_error(lines: list[str]) -> None:
    try:
        changes = ChangeSet.from_diff("\n".join(lines) + "\n")
    except DiffError:
        return
    for change in changes:
        assert all(line > 0 for line in change.added_lines)


SOURCE_LINES = st.sampled_from(
    [
        "try:",
        "    db.execute(q)",
        "except Exception:",
        "except (JWTError, Exception) as err:",
        "    pass",
        "    return None",
        "    raise HTTPException(status_code=401)",
        "engine = create_engine(url, pool_size=20)",
        "from sqlalchemy import create_engine, ForeignKey",
        "    canvases = relationship('Canvas', cascade='all, delete-orphan')",
        "class Case(Base):",
        "DB_POOL_SIZE = 20",
        "def f(:",
        "  ",
        "jobs:",
        "  test:",
        "    steps:",
        "      - run: pytest",
        "on: [push]",
        "\t",
    ]
)
PATHS = st.sampled_from(["app/m.py", ".github/workflows/ci.yml", "pyproject.toml", "db/001.sql"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PATHS, st.lists(st.one_of(SOURCE_LINES, st.text(max_size=15)), max_size=20), st.binary(max_size=8))
def test_engine_never_crashes_on_any_file(path: str, lines: list[str], tail: bytes) -> None:
    data = ("\n".join(lines) + "\n").encode("utf-8", errors="surrogatepass") + tail
    report = Engine(Config()).run(ChangeSet.whole([path]), MemoryRepoView({path: data}))
    assert report.rule_errors == []
    assert all(finding.line >= 1 for finding in report.findings)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_config_text_parses_or_names_its_error(text: str) -> None:
    try:
        parse_config(text)
    except ConfigError as err:
        assert str(err).startswith(".github/faultline.yml")
