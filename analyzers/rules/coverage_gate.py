"""FL003 coverage-gate: CI runs the tests but nothing fails it when coverage drops."""

from __future__ import annotations

import ast
import configparser
import difflib
import posixpath
import re
import shlex
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

from ruamel.yaml.comments import CommentedMap

from analyzers.context import Context
from analyzers.findings import Hit, Severity
from analyzers.rule import Invalid, Rule, Valid
from analyzers.source import ParseError, SourceFile


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


WORKFLOWS = ".github/workflows/"
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
# A workflow that uploads to codecov gets its status checks, which fail on a drop.
CODECOV_PATHS = ("codecov.yml", ".codecov.yml", ".github/codecov.yml", ".github/.codecov.yml")

MISSING = "`{command}` (job `{job}`) runs the tests with no coverage threshold{hint}"
MISSING_HINT = "; add `--cov-fail-under=N` or `fail_under` to `[tool.coverage.report]`"
MISSING_TOX = " in the workflow or in the coverage config"
ZERO = "`{token}` never fails: coverage can drop to nothing"
LOWERED = "coverage threshold lowered from {old} to {new}"
REMOVED = "coverage threshold removed (was {old}); nothing else enforces one"
REMOVED_UNKNOWN = "coverage threshold removed; nothing else enforces one"
SWALLOWED = "`{what}` on `{command}` (job `{job}`): failing tests no longer fail CI"

# Shell words that only prefix the real command.
PREFIXES = frozenset({"sudo", "time", "exec", "env", "nice", "command", "then", "do", "else", "!", "{"})
# Tools that run another command given later on their line (`uv run --with x pytest`).
RUNNERS = _words(
    "poetry pdm pipenv hatch rye uv pipx pixi conda mamba micromamba docker docker-compose podman"
)
RUN_SUBCOMMANDS = frozenset({"run", "exec"})  # `uv tool install tox` installs, `uv run tox` runs
WRAPPERS = frozenset({"uvx", "xvfb-run", "timeout"})
PYTHON = re.compile(r"^(?:python|pypy)(?:\d+(?:\.\d+)*)?(?:\.exe)?$|^py$")
PROGRAMS = frozenset({"pytest", "py.test", "coverage", "tox", "nox"})
# pytest invocations that do not run the test suite (or run benchmarks only).
NOT_A_TEST_RUN = _words(
    "--version -V --help -h --collect-only --co --fixtures --markers --benchmark-only --codspeed"
)
# tox environments and nox sessions that lint, type-check, build or document.
NOT_TESTS = re.compile(
    r"(?:^|[-_:.])(?:lint|linters?|docs?|docset|doctests?|typing|types?|mypy|pyright|pytype|flake8|pylint"
    r"|ruff|black|isort|style|format|fmt|pre-?commit|build|pkg|package|packaging|release|publish|dist"
    r"|readme|manifest|spell|codespell|bandit|safety|audit|changelog|towncrier|schema|generate|fuzz"
    r"|bench(?:mark)?s?|clean|upgrade|deps|compile|i18n|vulture|coverage|cov|report|combine|checks?"
    r"|docset|sphinx|mkdocs|translations?|twine\w*)(?:$|[-_:.])",
    re.IGNORECASE,
)
TOX_OTHER_SUBCOMMANDS = frozenset(
    {"list", "l", "config", "c", "devenv", "d", "depends", "de", "exec", "e", "quickstart", "q"}
)
TOX_VALUE_FLAGS = frozenset({"-e", "--env", "-f", "--factor", "-m", "--labels"})
NOX_VALUE_FLAGS = frozenset({"-s", "--session", "--sessions", "-e", "-k", "--keywords", "-t", "--tags"})
ALL_VALUE_FLAGS = TOX_VALUE_FLAGS | NOX_VALUE_FLAGS | {"-p", "--parallel", "-x", "--override", "-c", "--conf"}
NOT_A_SESSION_RUN = _words(
    "--notest -l --list --list-sessions --listenvs -a --listenvs-all --version --help -h"
)
SWALLOWING = frozenset({"true", ":", "echo", "printf"})

THRESHOLD = re.compile(r"(?:--)?(cov-fail-under|fail[-_]under)\b\s*[=:]?\s*[\"']?([0-9.]*)", re.IGNORECASE)
# Other tools call their own score a "fail-under": these are not coverage.
OTHER_SCORES = re.compile(r"pylint|interrogate|docstr|pydocstyle|mutmut|radon|xenon", re.IGNORECASE)
COVERAGE_WORD = re.compile(r"cov|diff.cover", re.IGNORECASE)
SECTION = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+\s*(?:[#;].*)?$")
CODECOV_UPLOAD = re.compile(r"codecov", re.IGNORECASE)  # the action, its CLI, a make target
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}")
MATRIX_REF = re.compile(r"\$\{\{\s*matrix\.([\w.-]+)\s*\}\}")
PR_EVENTS = frozenset({"push", "pull_request", "pull_request_target", "merge_group", "workflow_call"})
# Suites nobody gates on coverage, by workflow, job or step name.
OTHER_SUITE = re.compile(
    r"integration|e2e|end.to.end|smoke|compat|bench|codspeed|perf|downstream|third.?party|upstream"
    r"|markdown|\bdocs?\b|doctest|example|nightly|canary|daily|weekly|fuzz|mutation|stress|profil|eval",
    re.IGNORECASE,
)
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

    def lowered_from(self, old: Gate) -> str | None:
        """The message when this gate is weaker than ``old``, else None."""
        if not old.exists:
            return None
        if not self.exists and any(t.value == 0 for t in self.thresholds):
            return LOWERED.format(old=_number(old.best), new=0)
        if not self.exists:
            return REMOVED.format(old=_number(old.best)) if old.best is not None else REMOVED_UNKNOWN
        if old.best is not None and self.best is not None and self.best < old.best:
            return LOWERED.format(old=_number(old.best), new=_number(self.best))
        return None


@dataclass(frozen=True)
class Command:
    """A test command found in a step's shell text; ``index`` and ``last`` are
    the first and last line of its logical line inside the script."""

    kind: str  # "pytest", "tox" or "nox"
    text: str
    index: int
    last: int
    swallowed: bool
    tool: str = ""
    args: tuple[str, ...] = ()
    directory: str = ""

    @property
    def envs(self) -> tuple[str, ...]:
        return _named_sessions(self.kind, self.args)

    @property
    def config_files(self) -> tuple[str, ...]:
        return _config_files(self.args)


@dataclass(frozen=True)
class TestRun:
    job: str
    command: Command
    line: int
    end_line: int
    directory: str
    continue_on_error_line: int = 0
    # `continue-on-error` on the whole job: GitHub's way to mark an allowed failure.
    job_level: bool = False


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
    patterns = (
        ".github/workflows/*.yml",
        ".github/workflows/*.yaml",
        "pyproject.toml",
        "setup.cfg",
        "tox.ini",
        "tox.toml",
        ".coveragerc",
        "pytest.ini",
        "noxfile.py",
    )
    production_only = False
    context_paths = (WORKFLOWS, *CONFIG_NAMES, *CODECOV_PATHS)

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
        Invalid(
            "jobs:\n  test:\n    steps:\n      - run: pytest --cov --cov-fail-under=70\n",
            path=".github/workflows/ci.yml",
            base="jobs:\n  test:\n    steps:\n      - run: pytest --cov --cov-fail-under=85\n",
            line=4,
            message="lowered from 85 to 70",
        ),
    ]

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        if source.path.startswith(WORKFLOWS):
            yield from self._check_workflow(source, ctx)
        else:
            yield from self._check_config(source, ctx)

    def _check_workflow(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        runs = list(_test_runs(source, _test_config_reader(ctx)))
        yield from _swallowed_hits(runs, _enforced_before(source, ctx, runs))
        # One finding per test step: a lowered or zero threshold says it all.
        lowered = self._lowered(source, ctx, {run.directory for run in runs})
        if lowered is not None:
            yield lowered
            return
        zeros = [t for t in _scan(source.path, source.text) if t.value == 0]
        for zero in zeros:
            yield Hit(zero.line, ZERO.format(token=zero.token))
        if not zeros:
            yield from self._missing(source, ctx, [run for run in runs if not _is_swallowed(run)])

    def _missing(self, source: SourceFile, ctx: Context, runs: list[TestRun]) -> Iterator[Hit]:
        """One hit per workflow, on the first test command the change added."""
        # In a folder with no config that could be read, a threshold may still be
        # there (the App fetches only the root's): say nothing rather than guess.
        runs = [run for run in runs if not run.directory or _has_config(ctx, run.directory)]
        added = [run for run in runs if _counts(ctx, source.path, run.line, run.end_line)]
        if not added:
            return
        if _gate(ctx, {run.directory for run in runs}, extra=_config_refs(runs)).exists:
            return
        direct = [run for run in added if run.command.kind == "pytest"]
        run = (direct or added)[0]
        notice = not direct
        yield Hit(
            run.line,
            MISSING.format(
                command=_short(run.command.text),
                job=run.job,
                hint=MISSING_TOX if notice else MISSING_HINT,
            ),
            end_line=run.line,
            statement=(run.line, run.end_line),
            severity=Severity.NOTICE if notice else None,
        )

    def _lowered(self, source: SourceFile, ctx: Context, directories: set[str]) -> Hit | None:
        base = ctx.base_source(source.path)
        if base is None:
            return None
        if _own_values(source.path, base.text) == _own_values(source.path, source.text):
            return None
        directories = directories | {"", posixpath.dirname(source.path)}
        old = _gate(ctx, directories, override=(source.path, base.text))
        new = _gate(ctx, directories)
        message = new.lowered_from(old)
        if message is None:
            return None
        line = _change_line(source, ctx, base.text)
        return Hit(line, message, from_change=True, fingerprint_key=f"lowered:{message}")

    def _check_config(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        _validate(source)
        hit = self._lowered(source, ctx, set())
        if hit is not None:
            yield hit


# ---------------------------------------------------------------- workflows


@dataclass(frozen=True)
class Scope:
    """What a step's commands need from around them: the tox config reader, the
    job (for its matrix), the environments that name tox envs or nox sessions."""

    read: Callable[[str, str], str]
    job: Any
    envs: tuple[Any, ...]
    directory: str


def _test_runs(source: SourceFile, read: Callable[[str, str], str]) -> Iterator[TestRun]:
    document = source.yaml
    if not isinstance(document, CommentedMap) or not _runs_on_changes(document):
        return
    if OTHER_SUITE.search(posixpath.basename(source.path)) or _other_suite(document):
        return
    jobs = document.get("jobs")
    if not isinstance(jobs, CommentedMap):
        return
    for job_id, job in jobs.items():
        if not isinstance(job, CommentedMap) or not isinstance(job.get("steps"), list):
            continue
        if OTHER_SUITE.search(str(job_id)) or _other_suite(job) or _checks_out_another_repo(job):
            continue
        job_coe = _literal_true_line(job, "continue-on-error")
        directory = _working_directory(job) or _working_directory(document)
        for step in job["steps"]:
            if not isinstance(step, CommentedMap) or _other_suite(step):
                continue
            scope = Scope(read, job, (step.get("env"), job.get("env"), document.get("env")), directory)
            yield from _step_runs(source, str(job_id), step, scope, job_coe)


def _runs_on_changes(document: CommentedMap) -> bool:
    """False for workflows that only run on a schedule, by hand or on release:
    no pull request waits on them."""
    triggers = document.get("on", document.get(True))
    if not isinstance(triggers, str | list | dict):
        return True
    names = [triggers] if isinstance(triggers, str) else list(triggers)
    return any(str(name) in PR_EVENTS for name in names)


def _other_suite(node: CommentedMap) -> bool:
    """Integration, end-to-end, benchmark, docs or downstream tests: no
    project puts a coverage threshold on those."""
    return bool(OTHER_SUITE.search(str(node.get("name") or "")))


def _checks_out_another_repo(job: CommentedMap) -> bool:
    """A job that tests another project against this one (downstream tests):
    it checks out a named repository or runs ``git clone``."""
    for step in job["steps"]:
        if not isinstance(step, dict):
            continue
        inputs = step.get("with") if str(step.get("uses", "")).startswith("actions/checkout") else None
        repository = str(inputs.get("repository", "")) if isinstance(inputs, dict) else ""
        # `${{ github.event.pull_request.head.repo.full_name }}` is this project.
        if "/" in repository and "${{" not in repository:
            return True
        if "git clone " in str(step.get("run", "")):
            return True
    return False


def _step_runs(
    source: SourceFile, job: str, step: CommentedMap, scope: Scope, job_coe: int
) -> Iterator[TestRun]:
    if not isinstance(step.get("run"), str):
        return
    if "failure()" in str(step.get("if", "")) or str(step.get("shell", "")).startswith("python"):
        return
    script = step["run"]
    directory = str(step.get("working-directory") or scope.directory)
    if "${{" in directory:
        directory = ""
    lines = _locate(source, step.lc.value("run")[0], script.splitlines())
    coe = 0 if _failure_handled(scope.job, step) else _literal_true_line(step, "continue-on-error")
    for command in _commands(script):
        if command.kind != "pytest" and not _session_runs_tests(command, directory, scope):
            continue
        where = _join(directory, command.directory)
        first, last = lines[command.index], lines[command.last]
        yield TestRun(job, command, first, last, where, coe or job_coe, job_level=not coe and bool(job_coe))


def _failure_handled(job: CommentedMap, step: CommentedMap) -> bool:
    """A later step reads this step's outcome (a retry, a status check): its
    ``continue-on-error`` does not let failing tests pass."""
    step_id = step.get("id")
    if not step_id:
        return False
    pattern = re.compile(rf"steps\.{re.escape(str(step_id))}\.(?:outcome|conclusion)")
    return any(
        other is not step
        and isinstance(other, dict)
        and pattern.search(f"{other.get('if', '')} {other.get('run', '')}")
        for other in job["steps"]
    )


def _matrix_values(job: Any, reference: str) -> list[Any]:
    """The values ``${{ matrix.a.b }}`` takes in the job's matrix and includes."""
    match = MATRIX_REF.fullmatch(reference.strip())
    strategy = job.get("strategy")
    matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
    if match is None or not isinstance(matrix, dict):
        return []
    first, *rest = match.group(1).split(".")
    values: list[Any] = list(matrix[first]) if isinstance(matrix.get(first), list) else []
    values += [
        entry[first] for entry in matrix.get("include") or [] if isinstance(entry, dict) and first in entry
    ]
    for key in rest:
        values = [value.get(key) for value in values if isinstance(value, dict)]
    return [value for value in values if value is not None]


def _locate(source: SourceFile, value_line: int, script: list[str]) -> list[int]:
    """The file line (1-based) of each script line: block scalars start below
    the ``run:`` key and folded ones join lines, so search for the text."""
    found = []
    cursor = value_line
    for text in script:
        needle = text.strip()[:40]
        line = cursor
        if needle:
            for number in range(cursor, min(cursor + 200, len(source.lines))):
                if needle in source.lines[number]:
                    line = number
                    break
        found.append(line + 1)
        cursor = max(cursor, line + 1 if needle else cursor)
    found.append(found[-1] if found else value_line + 1)
    return found


def _literal_true_line(node: Any, key: str) -> int:
    """The line of ``key: true`` (a literal, not an expression), else 0."""
    if node.get(key) is True:
        return int(node.lc.key(key)[0]) + 1
    return 0


def _working_directory(node: Any) -> str:
    defaults = node.get("defaults")
    if isinstance(defaults, dict) and isinstance(defaults.get("run"), dict):
        directory = str(defaults["run"].get("working-directory") or "")
        return "" if "${{" in directory else directory
    return ""


def _enforced_before(source: SourceFile, ctx: Context, runs: list[TestRun]) -> set[tuple[str, str]]:
    """(job, command) of the test runs whose failure failed CI before the change."""
    base = ctx.base_source(source.path)
    if base is None or not any(_is_swallowed(run) for run in runs):
        return set()
    try:
        before = list(_test_runs(base, _test_config_reader(ctx)))
    except ParseError:
        return set()
    return {(run.job, _unswallowed(run.command.text)) for run in before if not _is_swallowed(run)}


def _unswallowed(command: str) -> str:
    return " ".join(command.split("||", maxsplit=1)[0].split())


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
        if (run.job, _unswallowed(run.command.text)) in enforced_before:
            severity = Severity.ERROR
        else:
            severity = Severity.NOTICE if run.job_level else Severity.WARNING
        yield Hit(line, message, severity=severity, statement=(line, end))


def _is_swallowed(run: TestRun) -> bool:
    return bool(run.continue_on_error_line) or run.command.swallowed


def _counts(ctx: Context, path: str, first: int, last: int) -> bool:
    if ctx.whole_files:
        return True
    change = ctx.changes.get(path)
    return change is not None and change.any_added(first, last)


def _has_config(ctx: Context, directory: str) -> bool:
    return any(ctx.source(_join(directory, name)) is not None for name in CONFIG_NAMES)


def _config_refs(runs: list[TestRun]) -> tuple[str, ...]:
    return tuple(
        _join(run.directory, name) for run in runs for name in run.command.config_files if "$" not in name
    )


# ------------------------------------------------------------ shell commands


def _commands(script: str) -> Iterator[Command]:
    """The test commands of a shell script, one per logical line at most."""
    cwd = ""
    for index, last, text in _logical_lines(script):
        # `${{ matrix.tox }}` as one word.
        compact = EXPRESSION.sub(lambda match: "${{" + "".join(match.group(1).split()) + "}}", text)
        for words, operator_after, following in _simple_commands(_tokens(compact)):
            if words[:1] == ["cd"] and len(words) == 2 and "$" not in words[1]:
                cwd = _join(cwd, words[1])
                continue
            found = _classify(words)
            if found is None:
                continue
            kind, args, tool = found
            yield Command(
                kind=kind,
                text=text.strip(),
                index=index,
                last=last,
                swallowed=operator_after == "||" and _succeeds(following),
                tool=tool,
                args=tuple(args),
                directory=cwd,
            )
            break


def _logical_lines(script: str) -> Iterator[tuple[int, int, str]]:
    lines = script.splitlines()
    index = 0
    while index < len(lines):
        first = index
        text = lines[index]
        while text.rstrip().endswith("\\") and index + 1 < len(lines):
            index += 1
            text = text.rstrip()[:-1] + " " + lines[index]
        yield first, index, text
        index += 1


def _tokens(text: str) -> list[str]:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:  # an unbalanced quote: a string spread over several lines
        return re.sub(r"(^|\s)#.*", "", text).split()


def _simple_commands(tokens: list[str]) -> Iterator[tuple[list[str], str, list[str]]]:
    """(words, the operator after them, the words of the next command)."""
    groups: list[tuple[list[str], str]] = [([], "")]
    for token in tokens:
        if token and all(char in "&|;()<>" for char in token):
            groups[-1] = (groups[-1][0], token)
            groups.append(([], ""))
        else:
            groups[-1][0].append(token)
    for number, (words, operator) in enumerate(groups):
        following = groups[number + 1][0] if number + 1 < len(groups) else []
        if words:
            yield words, operator, following


def _classify(words: list[str]) -> tuple[str, list[str], str] | None:
    """("pytest" | "tox" | "nox", the arguments, how it was called) or None."""
    index = 0
    while index < len(words):
        word = words[index]
        name = posixpath.basename(word)
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", word) or word in PREFIXES or word == "--":
            index += 1
        elif name in WRAPPERS:
            index = _next_program(words, index + 1)
        elif name in RUNNERS:
            if not RUN_SUBCOMMANDS & set(words[index + 1 : index + 4]):
                return None
            index = _next_program(words, index + 1)
        elif name in ("bash", "sh") and words[index + 1 : index + 2] == ["-c"] and len(words) > index + 2:
            return _classify(_tokens(words[index + 2]))
        elif PYTHON.match(name):
            module = _python_module(words, index + 1)
            if module is None:
                return None
            index = module
        elif name in ("pytest", "py.test", "pytest-3"):
            args = words[index + 1 :]
            return None if _not_the_suite(args) else ("pytest", args, "pytest")
        elif name == "coverage":
            return _coverage_run(words[index + 1 :])
        elif name in ("tox", "nox"):
            return name, words[index + 1 :], name
        else:
            return None
    return None


def _next_program(words: list[str], start: int) -> int:
    for index in range(start, len(words)):
        name = posixpath.basename(words[index])
        if name in PROGRAMS or PYTHON.match(name) or name in ("bash", "sh"):
            return index
    return len(words)


def _python_module(words: list[str], start: int) -> int | None:
    """The index of the module name after ``-m`` (``-Im`` too), else None."""
    index = start
    while index < len(words):
        word = words[index]
        if re.fullmatch(r"-[A-Za-z]*m", word):
            return index + 1 if index + 1 < len(words) else None
        if word in ("-W", "-X"):
            index += 2
        elif word.startswith("-") and word != "-c":
            index += 1
        else:
            return None
    return None


def _coverage_run(args: list[str]) -> tuple[str, list[str], str] | None:
    if not args or args[0] != "run" or "-m" not in args:
        return None
    module = args.index("-m") + 1
    if module < len(args) and args[module] in ("pytest", "py.test"):
        rest = args[module + 1 :]
        return None if _not_the_suite(rest) else ("pytest", args, "coverage")
    return None


def _not_the_suite(args: list[str]) -> bool:
    """pytest asked for its version, or run on integration or e2e paths only."""
    if NOT_A_TEST_RUN & set(args):
        return True
    paths = [arg for arg in args if not arg.startswith("-") and ("/" in arg or arg.endswith(".py"))]
    return bool(paths) and all(OTHER_SUITE.search(path) for path in paths)


def _succeeds(words: list[str]) -> bool:
    """True for the right side of ``||`` that always succeeds."""
    if not words:
        return False
    return words[0] in SWALLOWING or words[:2] == ["exit", "0"]


def _named_sessions(kind: str, args: Iterable[str]) -> tuple[str, ...]:
    if kind == "pytest":
        return ()
    flags = TOX_VALUE_FLAGS if kind == "tox" else NOX_VALUE_FLAGS
    names: list[str] = []
    args = list(args)
    for index, arg in enumerate(args):
        if arg == "--":
            break
        if arg in flags and index + 1 < len(args):
            names.extend(args[index + 1].split(","))
        elif "=" in arg and arg.split("=", 1)[0] in flags:
            names.extend(arg.split("=", 1)[1].split(","))
        elif re.fullmatch(r"-[ef]\w.*", arg) and kind == "tox":
            names.extend(arg[2:].split(","))
    return tuple(name for name in names if name)


def _config_files(args: Iterable[str]) -> tuple[str, ...]:
    found = []
    args = list(args)
    for index, arg in enumerate(args):
        for flag in ("--cov-config", "--rcfile", "-c", "--config-file"):
            if arg == flag and index + 1 < len(args):
                found.append(args[index + 1])
            elif arg.startswith(flag + "="):
                found.append(arg.split("=", 1)[1])
    return tuple(found)


def _session_runs_tests(command: Command, directory: str, scope: Scope) -> bool:
    """Whether a tox or nox call runs pytest, judged by its arguments and config."""
    args = list(command.args[: command.args.index("--")] if "--" in command.args else command.args)
    if NOT_A_SESSION_RUN & set(args):
        return False
    positional = [
        a
        for i, a in enumerate(args)
        if not a.startswith("-") and (i == 0 or args[i - 1] not in ALL_VALUE_FLAGS)
    ]
    if command.kind == "tox" and positional[:1] and positional[0] in TOX_OTHER_SUBCOMMANDS:
        return False
    names = [name for name in _session_names(command, scope) if "$" not in name]
    if names and all(NOT_TESTS.search(name) for name in names):
        return False
    if command.kind == "nox":
        return _nox_sessions_run_pytest(scope.read(directory, "noxfile.py"), names)
    tox_ini = scope.read(directory, "tox.ini")
    if tox_ini:
        return _tox_ini_runs_pytest(tox_ini, names)
    return any(
        "pytest" in scope.read(directory, name) for name in ("tox.toml", "pyproject.toml", "setup.cfg")
    )


def _session_names(command: Command, scope: Scope) -> list[str]:
    """The tox envs or nox sessions a call runs, from its arguments or from
    TOXENV / NOXSESSION, with matrix references resolved; [] for the defaults."""
    names = list(command.envs)
    if not names:
        keys = ("TOXENV", "TOX_ENV") if command.kind == "tox" else ("NOXSESSION",)
        names = _env_values(scope, keys)
    resolved: list[str] = []
    for name in names:
        values = _matrix_values(scope.job, name) if MATRIX_REF.fullmatch(name) else [name]
        resolved.extend(part for value in values or [name] for part in str(value).split(","))
    return [name.strip() for name in resolved if name.strip()]


def _env_values(scope: Scope, keys: tuple[str, ...]) -> list[str]:
    for env in scope.envs:
        mappings = _matrix_values(scope.job, env) if isinstance(env, str) else [env]
        found = [str(m[key]) for m in mappings if isinstance(m, dict) for key in keys if key in m]
        if found:
            return found
    return []


def _nox_sessions_run_pytest(noxfile: str, names: list[str]) -> bool:
    """True when the sessions named (or all, for none) mention pytest."""
    if "pytest" not in noxfile:
        return False
    bodies = _nox_sessions(noxfile)
    for name in names or [""]:
        body = bodies.get(name, bodies.get(re.split(r"[-(]", name)[0]))
        if body is None or "pytest" in body:
            return True
    return False


@lru_cache(maxsize=64)
def _nox_sessions(noxfile: str) -> dict[str, str]:
    """Session name (the function's or ``name=``) → the function's source."""
    try:
        tree = ast.parse(noxfile)
    except (SyntaxError, ValueError):
        return {}
    sessions = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                call = decorator if isinstance(decorator, ast.Call) else None
                target = ast.unparse(call.func if call else decorator)
                if target.split(".")[-1] not in ("session", "parametrize"):
                    continue
                names = [k.value for k in call.keywords if k.arg == "name"] if call else []
                name = names[0].value if names and isinstance(names[0], ast.Constant) else node.name
                sessions[str(name)] = ast.get_source_segment(noxfile, node) or ""
    return sessions


def _tox_ini_runs_pytest(config: str, envs: list[str]) -> bool:
    """True when the tox environments named (or the default ones) call pytest."""
    if "pytest" not in config and "py.test" not in config:
        return False
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    try:
        parser.read_string(config)
    except configparser.Error:
        return True
    for env in envs:
        section = f"testenv:{env}"
        if not parser.has_option(section, "commands"):
            return True  # a generated environment (py311-django42): [testenv] applies
        commands = parser.get(section, "commands")
        if "pytest" in commands or "py.test" in commands or "{[testenv]commands}" in commands:
            return True
    return not envs


def _test_config_reader(ctx: Context) -> Callable[[str, str], str]:
    """Reads a file of a folder; "" when it is missing."""

    def read(directory: str, name: str) -> str:
        found = ctx.source(_join(directory, name))
        return "" if found is None else _safe_text(found)

    return read


def _join(directory: str, path: str) -> str:
    """A repository path: "" for the root, no "./", no trailing slash."""
    joined = posixpath.normpath(posixpath.join(directory or ".", path or "."))
    return "" if joined == "." else joined.removeprefix("./")


# ----------------------------------------------------------------- thresholds


def _gate(
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
        found = ctx.source(path)
        return None if found is None else _safe_text(found)

    paths = [p for p in ctx.listing(WORKFLOWS) if p.endswith((".yml", ".yaml"))]
    if override is not None and override[0].startswith(WORKFLOWS) and override[0] not in paths:
        paths.append(override[0])
    for directory in {"", *directories}:
        paths.extend(_join(directory, name) for name in CONFIG_NAMES)
    paths.extend(extra)
    thresholds: list[Threshold] = []
    for path in dict.fromkeys(paths):
        content = text(path)
        if content is not None:
            thresholds.extend(_scan(path, content))
            if path.startswith(WORKFLOWS):
                thresholds.extend(_action_gates(path, content))
    thresholds.extend(_codecov(paths, text))
    return Gate(tuple(thresholds))


def _codecov(paths: list[str], text: Callable[[str], str | None]) -> list[Threshold]:
    """Codecov as the gate: a codecov.yml that declares a status check that can
    fail, or (by codecov's defaults) a workflow that uploads to it."""
    config = next(((path, content) for path in CODECOV_PATHS if (content := text(path)) is not None), None)
    declared = _codecov_status(config[1]) if config else None
    if declared is not None:
        return [Threshold(config[0], 1, None, "codecov status")] if config and declared else []
    return [t for path in paths if path.startswith(WORKFLOWS) for t in _codecov_uploads(path, text(path))]


@lru_cache(maxsize=512)
def _scan(path: str, text: str) -> tuple[Threshold, ...]:
    """The coverage thresholds written in one file, with their lines."""
    name = posixpath.basename(path)
    if name.endswith((".toml", ".cfg", ".ini")) or name.startswith(".coveragerc"):
        rc = name not in ("setup.cfg", "tox.ini", "pyproject.toml", "pytest.ini", "tox.toml")
        return tuple(_scan_config(path, text, rc))
    # A call spread over lines (`session.run("coverage", "report",\n "--fail-under=100")`).
    window = 4 if name.endswith(".py") else 2
    return tuple(_scan_commands(path, text, window))


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
    lines = text.splitlines()
    for number, line in _content_lines(text):
        context = "\n".join(lines[max(0, number - window) : number])
        for match in THRESHOLD.finditer(line):
            if _cov_option(match) or _mentions_coverage(context):
                yield _threshold(path, number, match)


def _content_lines(text: str) -> Iterator[tuple[int, str]]:
    """Numbered lines without comments."""
    for number, line in enumerate(text.splitlines(), start=1):
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


def _own_values(path: str, text: str) -> list[float]:
    """The thresholds one file sets, to skip files whose thresholds did not change."""
    found = list(_scan(path, text))
    if path.startswith(WORKFLOWS):
        found.extend(_action_gates(path, text))
    return sorted(-1.0 if t.value is None else t.value for t in found)


def _value(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _action_gates(path: str, text: str) -> list[Threshold]:
    """Coverage-report actions given a minimum (``minimum_coverage: 80``)."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(r"^\s*-?\s*uses:\s*\S*cov", line, re.IGNORECASE):
            indent = len(line) - len(line.lstrip(" -"))
            for offset, following in enumerate(text.splitlines()[number : number + 25], start=1):
                if following.strip() and len(following) - len(following.lstrip(" -")) < indent:
                    break
                key = following.strip().split(":", 1)[0]
                value = following.split(":", 1)[1].strip().lower() if ":" in following else ""
                if ACTION_GATE_INPUT.search(key) and value not in ("", "false", "0", "'0'", '"0"'):
                    found.append(Threshold(path, number + offset, None, key))
                    break
    return found


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
        document = SourceFile("codecov.yml", text.encode()).yaml
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


def _change_line(source: SourceFile, ctx: Context, base_text: str) -> int:
    """Where the change touched a threshold: an added line that holds one, else
    the place in the new file where a removed one was."""
    change = ctx.changes.get(source.path)
    for threshold in _scan(source.path, source.text):
        if change is not None and change.is_added(threshold.line):
            return threshold.line
    old_lines = base_text.splitlines()
    new_lines = source.lines
    removed = [t.line - 1 for t in _scan(source.path, base_text)]
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for old in removed:
            if tag != "equal" and i1 <= old < i2:
                target = j1 + min(old - i1, max(j2 - j1 - 1, 0))
                return max(1, min(target + 1, len(new_lines)))
    return 1


def _validate(source: SourceFile) -> None:
    """A config file that its own tool cannot read is reported as FL000."""
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


def _line_of(message: str) -> int:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else 1


def _safe_text(source: SourceFile) -> str:
    try:
        return source.text
    except ParseError:
        return ""


def _number(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if value == int(value) else str(value)


def _short(command: str) -> str:
    text = " ".join(command.split())
    return text if len(text) <= 60 else text[:57] + "..."
