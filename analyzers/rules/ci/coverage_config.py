"""Coverage thresholds: where a repository makes CI fail below a coverage
figure (``fail_under`` in the coverage config, ``--cov-fail-under`` in pytest's
options or a command, a coverage action's minimum, codecov's status checks)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from faultline.analyzers.core.context import Context
from faultline.analyzers.core.source import ParseError, SourceFile, split_lines
from faultline.analyzers.languages import yaml
from faultline.analyzers.lib.github_actions.workflows import WORKFLOW_FOLDER, repo_path

# Files where a coverage threshold or the test command may live, per folder.
CONFIG_NAMES = (
    "pyproject.toml",
    "setup.cfg",
    "tox.ini",
    "tox.toml",
    ".coveragerc",
    "pytest.ini",
    "noxfile.py",
)
# Configs whose `[report]` section is not coverage's.
SHARED_CONFIG_NAMES = ("setup.cfg", "tox.ini", "pyproject.toml", "pytest.ini", "tox.toml")
# A workflow that uploads to codecov gets its status checks, which fail on a drop.
CODECOV_PATHS = ("codecov.yml", ".codecov.yml", ".github/codecov.yml", ".github/.codecov.yml")

THRESHOLD = re.compile(r"(?:--)?(cov-fail-under|fail[-_]under)\b\s*[=:]?\s*[\"']?([0-9.]*)", re.IGNORECASE)
# Other tools call their own score a "fail-under": these are not coverage.
OTHER_SCORES = re.compile(r"pylint|interrogate|docstr|pydocstyle|mutmut|radon|xenon", re.IGNORECASE)
COVERAGE_WORD = re.compile(r"cov|diff.cover", re.IGNORECASE)
SECTION = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+\s*(?:[#;].*)?$")
CODECOV_UPLOAD = re.compile(r"codecov", re.IGNORECASE)  # the action, its CLI, a make target
# An action that reports coverage and takes a minimum fails the job below it.
ACTION_GATE_INPUT = re.compile(r"min|threshold|fail.?under|fail.?below", re.IGNORECASE)


@dataclass(frozen=True)
class Threshold:
    """One place that makes CI fail below a coverage figure; ``value`` is None
    when it is a variable, a plugin default or a codecov status."""

    path: str
    line: int
    value: float | None
    token: str = ""

    @property
    def enforces(self) -> bool:
        return self.value is None or self.value > 0


@dataclass(frozen=True)
class Gate:
    """Every threshold that applies, summed up."""

    thresholds: tuple[Threshold, ...]

    @property
    def exists(self) -> bool:
        return any(threshold.enforces for threshold in self.thresholds)

    @property
    def best(self) -> float | None:
        values = [t.value for t in self.thresholds if t.value is not None]
        return max(values) if values else None


def find_gate(
    ctx: Context,
    directories: Iterable[str],
    extra: Iterable[str] = (),
    override: tuple[str, str] | None = None,
) -> Gate:
    """Every threshold found in the workflows, the configs of ``directories``
    (the root always), ``extra`` files and codecov's config. ``override`` replaces
    one file's text (the base version, to compare before and after)."""

    def text(path: str) -> str | None:
        if override is not None and path == override[0]:
            return override[1]
        return config_text(ctx, path)

    paths = [p for p in ctx.listing(WORKFLOW_FOLDER) if p.endswith((".yml", ".yaml"))]
    if override is not None and override[0].startswith(WORKFLOW_FOLDER) and override[0] not in paths:
        paths.append(override[0])
    for directory in {"", *directories}:
        paths.extend(repo_path(directory, name) for name in CONFIG_NAMES)
    paths.extend(extra)
    thresholds: list[Threshold] = []
    for path in dict.fromkeys(paths):
        content = text(path)
        if content is not None:
            thresholds.extend(thresholds_in(path, content))
            if path.startswith(WORKFLOW_FOLDER):
                thresholds.extend(_action_gates(path, content))
    thresholds.extend(_codecov(paths, text))
    return Gate(tuple(thresholds))


def config_text(ctx: Context, path: str) -> str | None:
    """A file's text; None when it is missing, "" when it cannot be decoded."""
    found = ctx.source(path)
    if found is None:
        return None
    try:
        return found.text
    except ParseError:
        return ""


def has_config(ctx: Context, directory: str) -> bool:
    """Whether a folder has a file where a threshold could be set."""
    return any(ctx.source(repo_path(directory, name)) is not None for name in CONFIG_NAMES)


@lru_cache(maxsize=512)
def thresholds_in(path: str, text: str) -> tuple[Threshold, ...]:
    """The coverage thresholds written in one file, with their lines."""
    name = posixpath.basename(path)
    if name.endswith((".toml", ".cfg", ".ini")) or name.startswith(".coveragerc"):
        return tuple(_scan_config(path, text, rc=name not in SHARED_CONFIG_NAMES))
    # A call spread over lines (`session.run("coverage", "report",\n "--fail-under=100")`).
    window = 4 if name.endswith(".py") else 2
    return tuple(_scan_commands(path, text, window))


def threshold_values(path: str, text: str) -> list[float]:
    """The thresholds one file sets, to skip files whose thresholds did not change."""
    found = list(thresholds_in(path, text))
    if path.startswith(WORKFLOW_FOLDER):
        found.extend(_action_gates(path, text))
    return sorted(-1.0 if t.value is None else t.value for t in found)


def threshold_change_line(source: SourceFile, ctx: Context, base_text: str) -> int:
    """Where the change touched a threshold: an added line that holds one, else
    the place in the new file where a removed one was."""
    change = ctx.changes.get(source.path)
    for threshold in thresholds_in(source.path, source.text):
        if change is not None and change.is_added(threshold.line):
            return threshold.line
    old_lines = split_lines(base_text)
    new_lines = source.lines
    removed = [t.line - 1 for t in thresholds_in(source.path, base_text)]
    import difflib  # here, not at the top: most runs read no coverage config

    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for old in removed:
            if tag != "equal" and i1 <= old < i2:
                target = j1 + min(old - i1, max(j2 - j1 - 1, 0))
                return max(1, min(target + 1, len(new_lines)))
    return 1


def validate_config(source: SourceFile) -> None:
    """A config file that its own tool cannot read is reported as FL000."""
    # The parsers are imported here, not at the top: most runs read no config file.
    import configparser
    import tomllib

    name = posixpath.basename(source.path)
    if name.endswith(".toml"):
        try:
            tomllib.loads(source.text)
        except tomllib.TOMLDecodeError as err:
            line = int(getattr(err, "lineno", 0) or _line_of(str(err)))
            raise ParseError(f"invalid TOML: {str(err).split(' (at ')[0]}", line) from None
    elif name.endswith((".cfg", ".ini")) or name.startswith(".coveragerc"):
        parser = configparser.RawConfigParser(strict=False, interpolation=None)
        try:
            parser.read_string(source.text)
        except (configparser.MissingSectionHeaderError, configparser.ParsingError) as err:
            line = getattr(err, "lineno", None) or _line_of(str(err))
            raise ParseError(f"invalid INI: {str(err).splitlines()[0]}", int(line)) from None


def _scan_config(path: str, text: str, rc: bool) -> Iterator[Threshold]:
    """``fail_under`` in a coverage section (``[report]`` only in a .coveragerc),
    and threshold options in commands and ``addopts`` anywhere."""
    section = ""
    for number, line in _content_lines(text):
        header = SECTION.match(line)
        if header:
            section = header.group(1).strip().strip("\"'").lower()
            continue
        if "covdefaults" in line:  # the plugin's default is fail_under = 100
            yield Threshold(path, number, None, "covdefaults")
        key = re.match(r"^\s*([\w.\"'-]*?)fail[-_]under\s*[=:]", line)
        full_key = f"{section}.{key.group(1)}" if key else section
        in_coverage = "coverage" in full_key or (rc and section == "report" and key is not None)
        for match in THRESHOLD.finditer(line):
            if _cov_option(match) or in_coverage or (key is None and _mentions_coverage(line)):
                yield _threshold(path, number, match)


def _scan_commands(path: str, text: str, window: int) -> Iterator[Threshold]:
    lines = split_lines(text)
    for number, line in _content_lines(text):
        context = "\n".join(lines[max(0, number - window) : number])
        for match in THRESHOLD.finditer(line):
            if _cov_option(match) or _mentions_coverage(context):
                yield _threshold(path, number, match)


def _content_lines(text: str) -> Iterator[tuple[int, str]]:
    """Numbered lines without comments."""
    for number, line in enumerate(split_lines(text), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", ";")):
            yield number, line.split(" #")[0]


def _cov_option(match: re.Match[str]) -> bool:
    return match.group(1).lower() == "cov-fail-under"


def _mentions_coverage(text: str) -> bool:
    """Coverage's ``--fail-under``, not pylint's or interrogate's score."""
    return bool(COVERAGE_WORD.search(text)) and not OTHER_SCORES.search(text)


def _threshold(path: str, line: int, match: re.Match[str]) -> Threshold:
    return Threshold(path, line, _value(match.group(2)), match.group(0).strip("\"' "))


def _value(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _action_gates(path: str, text: str) -> list[Threshold]:
    """Coverage-report actions given a minimum (``minimum_coverage: 80``)."""
    found = []
    lines = split_lines(text)
    for number, line in enumerate(lines, start=1):
        if re.match(r"^\s*-?\s*uses:\s*\S*cov", line, re.IGNORECASE):
            indent = len(line) - len(line.lstrip(" -"))
            for offset, following in enumerate(lines[number : number + 25], start=1):
                if following.strip() and len(following) - len(following.lstrip(" -")) < indent:
                    break
                key = following.strip().split(":", 1)[0]
                value = following.split(":", 1)[1].strip().lower() if ":" in following else ""
                if ACTION_GATE_INPUT.search(key) and value not in ("", "false", "0", "'0'", '"0"'):
                    found.append(Threshold(path, number + offset, None, key))
                    break
    return found


def _codecov(paths: list[str], text: Callable[[str], str | None]) -> list[Threshold]:
    """Codecov as the gate: a codecov.yml that declares a status check that can
    fail, or (by codecov's defaults) a workflow that uploads to it."""
    config = next(((path, content) for path in CODECOV_PATHS if (content := text(path)) is not None), None)
    declared = _codecov_status(config[1]) if config else None
    if declared is not None:
        return [Threshold(config[0], 1, None, "codecov status")] if config and declared else []
    return [
        t for path in paths if path.startswith(WORKFLOW_FOLDER) for t in _codecov_uploads(path, text(path))
    ]


def _codecov_uploads(path: str, text: str | None) -> list[Threshold]:
    if text is None or "codecov" not in text:
        return []
    return [
        Threshold(path, number, None, "codecov")
        for number, line in _content_lines(text)
        if CODECOV_UPLOAD.search(line)
    ]


def _codecov_status(text: str) -> bool | None:
    """Whether codecov.yml declares a status check that can fail (True), turns
    them off or makes them informational (False), or leaves codecov's default
    project and patch checks (None)."""
    try:
        document = yaml.document(SourceFile("codecov.yml", text.encode()))
    except ParseError:
        return None
    coverage = document.get("coverage") if isinstance(document, dict) else None
    status = coverage.get("status") if isinstance(coverage, dict) else None
    if status is None:
        return None
    if not isinstance(status, dict):
        return _switched_on(status)
    return any(_status_can_fail(status.get(kind, True)) for kind in ("project", "patch"))


def _status_can_fail(value: Any) -> bool:
    if not isinstance(value, dict):
        return _switched_on(value)
    checks = [check for check in value.values() if isinstance(check, dict)] or [value]
    return any(not check.get("informational", False) for check in checks)


def _switched_on(value: Any) -> bool:
    return value not in (False, None, "off", "no", "false")


def _line_of(message: str) -> int:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else 1
