"""FL003 coverage-gate: CI runs the tests but nothing fails it when coverage drops."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import ClassVar

from faultline.analyzers.core.context import Context
from faultline.analyzers.core.findings import Hit, Severity
from faultline.analyzers.core.rule import Invalid, Rule, Valid
from faultline.analyzers.core.source import ParseError, SourceFile
from faultline.analyzers.lib.github_actions.workflows import WORKFLOW_FOLDER, repo_path
from faultline.analyzers.rules.ci.coverage_config import (
    CODECOV_PATHS,
    CODECOV_UPLOAD,
    CONFIG_NAMES,
    Gate,
    config_text,
    find_gate,
    has_config,
    threshold_change_line,
    threshold_values,
    thresholds_in,
    validate_config,
)
from faultline.analyzers.rules.ci.test_runs import TestRun, find_test_runs, runs_enforced_before

MISSING = "`{command}` (job `{job}`) runs the tests with no coverage threshold{hint}"
MISSING_HINT = "; add `--cov-fail-under=N`, or `fail_under` under {section}"
# ``--cov-fail-under`` does nothing where nothing measures coverage.
UNMEASURED_HINT = (
    "; measure coverage and gate it: `--cov=<package> --cov-fail-under=N` "
    "(or `--cov=<package>` with `fail_under` under {section})"
)
UNGATED = "`{command}` (job `{job}`): this change removes {what}"
REMOVED_BOTH = "coverage measurement and the upload that gated it"
REMOVED_UPLOAD = "the codecov upload that gated coverage"
REMOVED_MEASUREMENT = "coverage measurement, and with it the gate"
REMOVED_GATE = "the coverage gate"
MEASURES = re.compile(r"--cov\b(?!-)|\bcoverage\s+run\b")
MISSING_TOX = " in the workflow or in the coverage config"
ZERO = "`{token}` never fails: coverage can drop to nothing"
LOWERED = "coverage threshold lowered from {old} to {new}"
REMOVED = "coverage threshold removed (was {old}); nothing else enforces one"
REMOVED_UNKNOWN = "coverage threshold removed; nothing else enforces one"
# Where a repository keeps coverage's settings: the file, what shows it is used, the section.
CONFIG_SECTIONS = (
    (".coveragerc", None, "[report]"),
    ("setup.cfg", "[coverage:", "[coverage:report]"),
    ("tox.ini", "[coverage:", "[coverage:report]"),
    ("pyproject.toml", "[tool.coverage", "[tool.coverage.report]"),
    ("setup.cfg", "[tool:pytest]", "[coverage:report]"),
)
SWALLOWED = "`{what}` on `{command}` (job `{job}`): failing tests no longer fail CI"


class CoverageGate(Rule):
    """
    ## What it does
    Checks GitHub Actions workflows (`.github/workflows/*.yml`) whose jobs run the
    tests (`pytest`, `python -m pytest`, `coverage run -m pytest`, through `uv run`,
    `poetry run` and the like; `tox` and `nox` sessions that run pytest as a
    notice) while no coverage threshold applies anywhere: not `--cov-fail-under` or
    `coverage report --fail-under` in a workflow, not `fail_under` in the coverage
    config (`[tool.coverage.report]` of `pyproject.toml`, `.coveragerc`,
    `[coverage:report]` of `setup.cfg` or `tox.ini`, the `covdefaults` plugin), not
    `--cov-fail-under` in pytest's `addopts` or tox's commands, not a codecov status
    check that can fail. Also reports a change that lowers or removes a threshold
    (on the changed line, old → new), a threshold of 0, and a test step whose
    failure is ignored (`continue-on-error: true` on the step or job, or
    `pytest || true`).

    ## Why is this risky?
    Without a threshold, a pull request that adds untested code (or deletes the
    tests) passes CI exactly like one that is covered: coverage erodes one green
    build at a time and nobody decides it. A lowered threshold is that decision
    taken silently in a config file. A test step allowed to fail is worse: red
    tests no longer block the merge.

    Not reported: a repository that gates coverage in any workflow or config (a
    separate `coverage report --fail-under` job covers every test job) or through
    codecov (a workflow uploads to it and codecov.yml does not make its status
    checks informational); workflows that no push or pull request triggers; jobs
    that lint, type-check, build or document; integration, end-to-end,
    benchmark, nightly and downstream suites (by name, or a job that checks out
    another repository); steps that run only after a failure, or whose outcome a
    later step reads (a retry); and `continue-on-error` set by an expression (the
    usual "experimental Python version" matrix entry). Tests run through a script
    or `make` are not followed. Only a change that lets an existing test run fail
    quietly is an error: a new job allowed to fail is a notice.

    ## Example
    ```yaml
    - name: Test
      run: poetry run pytest
    ```

    ## Use instead
    ```yaml
    - name: Test
      run: poetry run pytest --cov=app --cov-fail-under=80
    ```
    or set `fail_under = 80` under `[tool.coverage.report]` in `pyproject.toml`.
    """

    code = "FL003"
    slug = "coverage-gate"
    severity = Severity.WARNING
    summary = "CI runs the tests without a coverage threshold"
    patterns = (f"{WORKFLOW_FOLDER}*.yml", f"{WORKFLOW_FOLDER}*.yaml", *CONFIG_NAMES)
    production_only = False
    context_paths = (WORKFLOW_FOLDER, *CONFIG_NAMES, *CODECOV_PATHS)

    VALID: ClassVar[list[Valid]] = [
        Valid(
            "jobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - run: pytest --cov=app --cov-fail-under=85\n",
            path=".github/workflows/ci.yml",
        ),
        Valid(
            # The gate lives in another job: tests upload data, one job combines it.
            "jobs:\n  tests:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - run: python -m pytest --cov\n"
            "  coverage:\n    needs: tests\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - run: |\n          coverage combine\n          coverage report --fail-under=100\n",
            path=".github/workflows/ci.yml",
        ),
        Valid(
            "jobs:\n  lint:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - run: pip install pytest ruff\n      - run: ruff check .\n"
            "      - run: echo 'pytest runs in tests.yml'\n",
            path=".github/workflows/lint.yml",
        ),
        Valid(
            "jobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - run: uv run coverage run -m pytest\n",
            path=".github/workflows/ci.yml",
            files={"pyproject.toml": "[tool.coverage.report]\nfail_under = 90\nshow_missing = true\n"},
        ),
        Valid(
            "jobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest -q\n",
            path=".github/workflows/ci.yml",
            files={"setup.cfg": "[tool:pytest]\naddopts = --cov=pkg --cov-fail-under=75\n"},
        ),
        Valid(
            # An experimental matrix entry may fail: an expression, not `true`.
            "jobs:\n  test:\n    runs-on: ubuntu-latest\n"
            "    continue-on-error: ${{ matrix.experimental }}\n    steps:\n"
            "      - run: tox -e py\n",
            path=".github/workflows/ci.yml",
            files={
                "tox.ini": "[testenv]\ncommands = pytest --cov {posargs}\n",
                ".coveragerc": "[report]\nfail_under = 95\n",
            },
        ),
        Valid(
            "[tool.coverage.report]\nfail_under = 92\n",
            path="pyproject.toml",
            base="[tool.coverage.report]\nfail_under = 90\n",
        ),
        Valid(
            # Moved from pyproject.toml to the workflow: still gated at 90.
            '[tool.pytest.ini_options]\naddopts = "-ra"\n',
            path="pyproject.toml",
            base='[tool.pytest.ini_options]\naddopts = "-ra --cov-fail-under=90"\n',
            files={
                ".github/workflows/ci.yml": "jobs:\n  t:\n    steps:\n"
                "      - run: pytest --cov-fail-under=90\n"
            },
        ),
        Valid(
            # Codecov's status check fails the pull request when coverage drops.
            "jobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest --cov\n"
            "      - uses: codecov/codecov-action@v5\n",
            path=".github/workflows/ci.yml",
            files={
                "codecov.yml": "coverage:\n  status:\n    project:\n      default:\n        target: 90%\n"
            },
        ),
        Valid(
            "on: [push, pull_request]\njobs:\n  integration:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - run: pytest tests/integration\n",
            path=".github/workflows/integration.yml",
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        Invalid(
            "name: CI\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - uses: actions/checkout@v4\n      - name: Test with pytest\n"
            "        run: poetry run pytest\n",
            path=".github/workflows/deploy-staging.yml",
            line=9,
            message="`poetry run pytest` (job `test`) runs the tests with no coverage threshold",
        ),
        Invalid(
            "jobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n"
            "          pip install -e .[test]\n          python -m pytest -x tests/\n",
            path=".github/workflows/ci.yml",
            line=7,
            files={"pyproject.toml": "[tool.coverage.run]\nbranch = true\n"},
        ),
        Invalid(
            "jobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: tox -e py311\n",
            path=".github/workflows/ci.yml",
            line=5,
            severity=Severity.NOTICE,
            files={"tox.ini": "[testenv]\ncommands = pytest {posargs}\n"},
        ),
        Invalid(
            "jobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - run: pytest --cov=app --cov-fail-under=0\n",
            path=".github/workflows/ci.yml",
            line=5,
            message="`--cov-fail-under=0` never fails",
        ),
        Invalid(
            "jobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - name: Tests\n"
            "        continue-on-error: true\n        run: pytest --cov --cov-fail-under=80\n",
            path=".github/workflows/ci.yml",
            base="jobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - name: Tests\n"
            "        run: pytest --cov --cov-fail-under=80\n",
            line=6,
            severity=Severity.ERROR,
            message="`continue-on-error: true` on `pytest --cov --cov-fail-under=80` (job `test`)",
        ),
        Invalid(
            "jobs:\n  test:\n    steps:\n      - run: pytest --cov-fail-under=80 || true\n",
            path=".github/workflows/ci.yml",
            base="jobs:\n  test:\n    steps:\n      - run: pytest --cov-fail-under=80\n",
            line=4,
            severity=Severity.ERROR,
            message="`|| true`",
        ),
        Invalid(
            "[tool.coverage.report]\nfail_under = 60\nshow_missing = true\n",
            path="pyproject.toml",
            base="[tool.coverage.report]\nfail_under = 80\nshow_missing = true\n",
            files={".github/workflows/ci.yml": "jobs:\n  t:\n    steps:\n      - run: pytest --cov\n"},
            line=2,
            message="lowered from 80 to 60",
        ),
        Invalid(
            "[run]\nbranch = True\n\n[report]\nshow_missing = True\n",
            path=".coveragerc",
            base="[run]\nbranch = True\n\n[report]\nfail_under = 95\nshow_missing = True\n",
            files={".github/workflows/ci.yml": "jobs:\n  t:\n    steps:\n      - run: pytest --cov\n"},
            line=5,
            message="removed (was 95)",
        ),
        # The parent commit measured coverage and uploaded it to codecov, which gated it.
        Invalid(
            "jobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest\n",
            path=".github/workflows/ci.yml",
            base="jobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest --cov=app\n"
            "      - uses: codecov/codecov-action@v5\n",
            files={"setup.cfg": "[coverage:run]\nbranch = True\n"},
            line=5,
            severity=Severity.WARNING,
            message="`pytest` (job `test`): this change removes coverage measurement and the upload "
            "that gated it; measure coverage and gate it: `--cov=<package> --cov-fail-under=N` "
            "(or `--cov=<package>` with `fail_under` under `[coverage:report]` in `setup.cfg`)",
        ),
        Invalid(
            "jobs:\n  test:\n    steps:\n      - run: pytest --cov --cov-fail-under=70\n",
            path=".github/workflows/ci.yml",
            base="jobs:\n  test:\n    steps:\n      - run: pytest --cov --cov-fail-under=85\n",
            line=4,
            message="lowered from 85 to 70",
        ),
    ]

    def more_context(self, ctx: Context) -> Iterator[str]:
        """The coverage configs in the folders the workflows' test runs use."""
        for path in ctx.listing(WORKFLOW_FOLDER):
            source = ctx.source(path) if path.endswith((".yml", ".yaml")) else None
            if source is None:
                continue
            try:
                directories = {run.directory for run in find_test_runs(source, ctx)}
            except ParseError:
                continue  # reported as FL000 when the run reads it
            for directory in directories - {""}:
                yield from (repo_path(directory, name) for name in CONFIG_NAMES)

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        if source.path.startswith(WORKFLOW_FOLDER):
            yield from self._check_workflow(source, ctx)
        else:
            yield from self._check_config(source, ctx)

    def _check_workflow(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        runs = list(find_test_runs(source, ctx))
        yield from _swallowed_hits(runs, runs_enforced_before(source, ctx, runs))
        # One finding per test step: a lowered or zero threshold says it all.
        lowered = self._lowered(source, ctx, {run.directory for run in runs})
        if lowered is not None:
            yield lowered
            return
        zeros = [t for t in thresholds_in(source.path, source.text) if t.value == 0]
        for zero in zeros:
            yield Hit(zero.line, ZERO.format(token=zero.token))
        if not zeros:
            yield from self._missing(source, ctx, [run for run in runs if not run.allowed_to_fail])

    def _missing(self, source: SourceFile, ctx: Context, runs: list[TestRun]) -> Iterator[Hit]:
        """One hit per workflow, on the first test command the change added."""
        # In a folder with no config that could be read, a threshold may still be
        # there (the App fetches only the root's): say nothing rather than guess.
        runs = [run for run in runs if not run.directory or has_config(ctx, run.directory)]
        added = [run for run in runs if _counts(ctx, source.path, run.line, run.end_line)]
        if not runs or (not added and ctx.whole_files):
            return
        configs = tuple(path for run in runs for path in run.config_files)
        gate = find_gate(ctx, {run.directory for run in runs}, extra=configs)
        if gate.exists and not _status_without_upload(source, ctx, gate):
            return
        removed = _removed(source, ctx, runs, configs)
        if removed is None and not added:
            return
        direct = [run for run in (added or runs) if run.command.kind == "pytest"]
        run = (direct or added or runs)[0]
        notice = not direct
        if removed is not None:
            # The removed lines may be all the change did there: the finding is the change's.
            message = UNGATED.format(command=_short(run.command.text), job=run.job, what=removed)
            message += _hint(ctx, run)
            yield Hit(
                run.line,
                message,
                end_line=run.line,
                statement=(run.line, run.end_line),
                from_change=True,
                fingerprint_key=f"ungated:{removed}",
            )
            return
        yield Hit(
            run.line,
            MISSING.format(
                command=_short(run.command.text),
                job=run.job,
                hint=MISSING_TOX if notice else _hint(ctx, run),
            ),
            end_line=run.line,
            statement=(run.line, run.end_line),
            severity=Severity.NOTICE if notice else None,
        )

    def _lowered(self, source: SourceFile, ctx: Context, directories: set[str]) -> Hit | None:
        base = ctx.base_source(source.path)
        if base is None:
            return None
        if threshold_values(source.path, base.text) == threshold_values(source.path, source.text):
            return None
        directories = directories | {"", posixpath.dirname(source.path)}
        old = find_gate(ctx, directories, override=(source.path, base.text))
        new = find_gate(ctx, directories)
        message = _weakening(old, new)
        if message is None:
            return None
        line = threshold_change_line(source, ctx, base.text)
        return Hit(line, message, from_change=True, fingerprint_key=f"lowered:{message}")

    def _check_config(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        validate_config(source)
        hit = self._lowered(source, ctx, set())
        if hit is not None:
            yield hit


def _removed(source: SourceFile, ctx: Context, runs: list[TestRun], configs: tuple[str, ...]) -> str | None:
    """What the change took away, when the workflow's parent version was gated
    (a threshold, or a codecov upload) and this one is not."""
    base = None if ctx.whole_files else ctx.base_source(source.path)
    if base is None:
        return None
    directories = {run.directory for run in runs}
    old = find_gate(ctx, directories, extra=configs, override=(source.path, base.text))
    if not old.exists:
        return None
    uploaded = bool(CODECOV_UPLOAD.search(base.text)) and not CODECOV_UPLOAD.search(source.text)
    measured = bool(MEASURES.search(base.text)) and not MEASURES.search(source.text)
    if uploaded and measured:
        return REMOVED_BOTH
    if uploaded:
        return REMOVED_UPLOAD
    return REMOVED_MEASUREMENT if measured else REMOVED_GATE


def _status_without_upload(source: SourceFile, ctx: Context, gate: Gate) -> bool:
    """codecov.yml's status checks are the only gate left, and this change removed the
    last upload that fed them: they will never report again."""
    if any(t.enforces and t.token != "codecov status" for t in gate.thresholds):
        return False
    base = None if ctx.whole_files else ctx.base_source(source.path)
    if base is None or not CODECOV_UPLOAD.search(base.text) or CODECOV_UPLOAD.search(source.text):
        return False
    others = [path for path in ctx.listing(WORKFLOW_FOLDER) if path != source.path]
    return not any(CODECOV_UPLOAD.search(config_text(ctx, path) or "") for path in others)


def _hint(ctx: Context, run: TestRun) -> str:
    """What to add, valid for what the command runs, in the config file the repository uses."""
    section = _config_section(ctx, run.directory)
    template = MISSING_HINT if MEASURES.search(run.command.text) else UNMEASURED_HINT
    return template.format(section=section)


def _config_section(ctx: Context, directory: str) -> str:
    """``[report]` in `.coveragerc``, ``[coverage:report]` in `setup.cfg``, or pyproject's table."""
    for name, marker, section in CONFIG_SECTIONS:
        text = config_text(ctx, repo_path(directory, name))
        if text is not None and (marker is None or marker in text):
            return f"`{section}` in `{repo_path(directory, name)}`"
    return f"`[tool.coverage.report]` in `{repo_path(directory, 'pyproject.toml')}`"


def _weakening(old: Gate, new: Gate) -> str | None:
    """The message when ``new`` is weaker than ``old``, else None."""
    if not old.exists:
        return None
    if not new.exists and any(t.value == 0 for t in new.thresholds):
        return LOWERED.format(old=_number(old.best), new=0)
    if not new.exists:
        return REMOVED.format(old=_number(old.best)) if old.best is not None else REMOVED_UNKNOWN
    if old.best is not None and new.best is not None and new.best < old.best:
        return LOWERED.format(old=_number(old.best), new=_number(new.best))
    return None


def _swallowed_hits(runs: list[TestRun], enforced_before: set[tuple[str, str]]) -> Iterator[Hit]:
    """Test steps whose failure is ignored, once per ``continue-on-error`` line.

    An error when the change lets an existing test run fail quietly; a new job
    allowed to fail (an experimental platform) is a notice, a new step a warning.
    """
    seen: set[int] = set()
    for run in runs:
        if run.continue_on_error_line:
            what, line, end = (
                "continue-on-error: true",
                run.continue_on_error_line,
                run.continue_on_error_line,
            )
        elif run.command.swallowed:
            what, line, end = "|| true", run.line, run.end_line
        else:
            continue
        if line in seen:
            continue
        seen.add(line)
        message = SWALLOWED.format(what=what, command=_short(run.command.text), job=run.job)
        if run.key in enforced_before:
            severity = Severity.ERROR
        else:
            severity = Severity.NOTICE if run.job_level else Severity.WARNING
        yield Hit(line, message, severity=severity, statement=(line, end))


def _counts(ctx: Context, path: str, first: int, last: int) -> bool:
    if ctx.whole_files:
        return True
    change = ctx.changes.get(path)
    return change is not None and change.any_added(first, last)


def _number(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if value == int(value) else str(value)


def _short(command: str) -> str:
    text = " ".join(command.split())
    return text if len(text) <= 60 else text[:57] + "..."
