"""The .github/faultline.yml model: valid files, and errors that name the key."""

from __future__ import annotations

import pytest

from faultline.analyzers.core.changes import ChangeSet
from faultline.analyzers.core.config import Config, ConfigError, matches_any, parse_config
from faultline.analyzers.core.engine import Engine, _EndingMatcher, _matcher, _plain_endings
from faultline.analyzers.core.findings import Severity


def test_empty_file_is_the_default() -> None:
    assert parse_config("") == Config()
    assert parse_config("# only a comment\n").fail_on == "error"


def test_full_config() -> None:
    config = parse_config(
        "fail_on: warning\nmax_comments: 10\nexclude: vendor/**\ndisable: [FL003]\n"
        "rules:\n  broad-except:\n    severity: notice\n    include: ['tests/**']\n"
    )
    assert config.fail_level() is Severity.WARNING
    assert config.exclude == ("vendor/**",)
    assert config.rules["broad-except"].include == ("tests/**",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fail_on: sometimes\n", "fail_on: Input should be 'error', 'warning', 'notice' or 'never'"),
        ("max_comments: lots\n", "max_comments: Input should be a valid integer"),
        ("max_comments: 1000\n", "max_comments: Input should be less than or equal to 100"),
        ("colour: red\n", "colour: unknown key"),
        ("rules:\n  broad-except:\n    severity: fatal\n", "rules.broad-except.severity"),
        ("- a\n- b\n", "expected a mapping at the top level"),
        ("fail_on: [\n", "invalid YAML"),
        ("a: b\na: c\n", "invalid YAML"),
    ],
)
def test_errors_name_the_key(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_non_utf8_config() -> None:
    with pytest.raises(ConfigError, match="not UTF-8"):
        parse_config(b"fail_on: \xff\n")


def test_unknown_rule_is_named() -> None:
    with pytest.raises(ConfigError, match="unknown rule 'no-such-rule'"):
        Engine(parse_config("disable: [no-such-rule]\n"))


@pytest.mark.parametrize(
    ("path", "patterns", "matched"),
    [
        ("vendor/lib/x.py", ["vendor/**"], True),
        ("src/vendor/x.py", ["vendor/**"], False),
        ("src/vendor/x.py", ["**/vendor/**"], True),
        ("tests/test_a.py", ["tests/"], True),
        ("pkg/tests/test_a.py", ["tests"], True),
        ("pkg/test_a.py", ["test_*.py"], True),
        ("pkg/contest.py", ["test_*.py"], False),
        ("a/b/c.sql", ["*.sql"], True),
        ("a/b/c.sql", ["a/*.sql"], False),
        ("migrations/0001_init.py", ["migrations/[0-9]*.py"], True),
    ],
)
def test_globs(path: str, patterns: list[str], matched: bool) -> None:
    assert matches_any(path, patterns) is matched


def test_globs_match_names_with_newlines_as_git_stores_them() -> None:
    assert matches_any("\n/app.py", ["*.py"]) and matches_any("docs/\n/x.py", ["docs/**"])
    assert not matches_any("app.py\n", ["*.py"])  # "$" would have let a trailing newline through


def test_globs_match_names_with_a_newline_alone_or_together() -> None:
    from faultline.analyzers.core.config import matches_any

    path = "odd\nname/tests/test_x.py"
    assert matches_any(path, ("**/tests/**",))
    assert matches_any(path, ("docs/**", "**/tests/**"))
    assert not matches_any(path, ("docs/**", "src/**"))


def test_rules_with_the_same_globs_still_follow_their_own_paths() -> None:
    # FL001 and FL009 share their globs; the config moves each its own way.
    config = parse_config(
        "rules:\n  broad-except:\n    exclude: ['app/legacy/**']\n"
        "  error-cause-dropped:\n    include: ['tests/**']\n"
    )
    engine = Engine(config)

    def codes(path: str) -> set[str]:
        change = ChangeSet.whole([path]).get(path)
        assert change is not None
        return {active.rule.code for active in engine.rules_for(change)}

    legacy, test, plain = codes("app/legacy/x.py"), codes("tests/test_x.py"), codes("app/x.py")
    assert "FL001" not in legacy and "FL009" in legacy
    assert "FL009" in test and "FL001" not in test
    assert {"FL001", "FL009"} <= plain


ENDING_PATHS = (
    *("a.py", "a/b.py", ".py", "x.py/y.txt", "a/x.py/y", "a.pyc", "apy"),
    *("b.tsx", "c.d.ts", "a.PY", "n\n.py"),
)


@pytest.mark.parametrize("patterns", [("*.py",), ("*.py", "*.sql"), ("*.ts", "*.tsx", "*.js"), ("*.py/",)])
def test_plain_endings_match_what_their_globs_match(patterns: tuple[str, ...]) -> None:
    endings = _plain_endings(patterns)
    assert endings is not None
    fast, glob = _EndingMatcher(endings), _matcher(patterns)
    assert [bool(fast(path)) for path in ENDING_PATHS] == [bool(glob(path)) for path in ENDING_PATHS]


@pytest.mark.parametrize(
    "patterns", [("/*.py",), ("src/*.py",), ("**/*.py",), ("*.p?",), ("setup.cfg",), ("*",)]
)
def test_globs_that_say_more_than_an_ending_keep_their_expression(patterns: tuple[str, ...]) -> None:
    assert _plain_endings(patterns) is None
