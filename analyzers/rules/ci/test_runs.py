"""Where CI runs the test suite: the steps of a GitHub Actions workflow whose
``run:`` script calls pytest, or a tox environment or nox session that does,
and whether each may fail without failing the build."""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from faultline.analyzers.core.context import Context
from faultline.analyzers.core.source import ParseError, SourceFile
from faultline.analyzers.languages import yaml
from faultline.analyzers.languages.python_syntax import parse_module
from faultline.analyzers.lib.github_actions.shell import (
    NOX_VALUE_FLAGS,
    OTHER_SUITE,
    TOX_VALUE_FLAGS,
    Command,
    find_test_commands,
)
from faultline.analyzers.lib.github_actions.workflows import (
    MATRIX_REFERENCE,
    checks_out_another_repo,
    continue_on_error_line,
    default_working_directory,
    is_mapping,
    jobs,
    matrix_values,
    outcome_is_read,
    repo_path,
    script_lines,
    step_working_directory,
    steps,
    triggered_by_changes,
)
from faultline.analyzers.rules.ci.coverage_config import config_text

if TYPE_CHECKING:
    from ruamel.yaml.comments import CommentedMap

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
ALL_VALUE_FLAGS = TOX_VALUE_FLAGS | NOX_VALUE_FLAGS | {"-p", "--parallel", "-x", "--override", "-c", "--conf"}
NOT_A_SESSION_RUN = frozenset(
    {
        "--notest",
        "-l",
        "--list",
        "--list-sessions",
        "--listenvs",
        "-a",
        "--listenvs-all",
        "--version",
        "--help",
        "-h",
    }
)


@dataclass(frozen=True)
class TestRun:
    """A test command of a workflow step, with its file lines and the folder it runs in."""

    job: str
    command: Command
    line: int
    end_line: int
    directory: str
    continue_on_error_line: int = 0
    # `continue-on-error` on the whole job: GitHub's way to mark an allowed failure.
    job_level: bool = False

    @property
    def allowed_to_fail(self) -> bool:
        """``continue-on-error: true`` or ``|| true``: a failure does not fail CI."""
        return bool(self.continue_on_error_line) or self.command.swallowed

    @property
    def key(self) -> tuple[str, str]:
        """(job, command without its ``|| ...``): the same run before and after a change."""
        return self.job, " ".join(self.command.text.split("||", maxsplit=1)[0].split())

    @property
    def config_files(self) -> tuple[str, ...]:
        """The config files its command names, as repository paths."""
        return tuple(repo_path(self.directory, name) for name in self.command.config_files if "$" not in name)


@dataclass(frozen=True)
class Scope:
    """What a step's commands need from around them: the repository (for tox and
    nox configs), the job (for its matrix), the environments that may name tox
    envs or nox sessions, the job's working directory."""

    ctx: Context
    job: Any
    envs: tuple[Any, ...]
    directory: str

    def read(self, directory: str, name: str) -> str:
        """A file of a folder; "" when it is missing."""
        return config_text(self.ctx, repo_path(directory, name)) or ""


def find_test_runs(source: SourceFile, ctx: Context) -> Iterator[TestRun]:
    """The unit test runs of a workflow that a pull request waits on."""
    document = yaml.document(source)
    if not is_mapping(document) or not triggered_by_changes(document):
        return
    if OTHER_SUITE.search(posixpath.basename(source.path)) or _other_suite(document):
        return
    for job_id, job in jobs(document):
        if OTHER_SUITE.search(job_id) or _other_suite(job) or checks_out_another_repo(job):
            continue
        job_coe = continue_on_error_line(job)
        directory = default_working_directory(job) or default_working_directory(document)
        for step in steps(job):
            if _other_suite(step):
                continue
            scope = Scope(ctx, job, (step.get("env"), job.get("env"), document.get("env")), directory)
            yield from _step_runs(source, job_id, step, scope, job_coe)


def runs_enforced_before(source: SourceFile, ctx: Context, runs: list[TestRun]) -> set[tuple[str, str]]:
    """The keys of the test runs whose failure failed CI before the change,
    when the change has runs allowed to fail."""
    base = ctx.base_source(source.path)
    if base is None or not any(run.allowed_to_fail for run in runs):
        return set()
    try:
        before = list(find_test_runs(base, ctx))
    except ParseError:
        return set()
    return {run.key for run in before if not run.allowed_to_fail}


def _other_suite(node: CommentedMap) -> bool:
    """Integration, end-to-end, benchmark, docs or downstream tests: no
    project puts a coverage threshold on those."""
    return bool(OTHER_SUITE.search(str(node.get("name") or "")))


def _step_runs(
    source: SourceFile, job: str, step: CommentedMap, scope: Scope, job_coe: int
) -> Iterator[TestRun]:
    if not isinstance(step.get("run"), str):
        return
    if "failure()" in str(step.get("if", "")) or str(step.get("shell", "")).startswith("python"):
        return
    directory = step_working_directory(step, scope.directory)
    lines = script_lines(source, step)
    coe = 0 if outcome_is_read(scope.job, step) else continue_on_error_line(step)
    for command in find_test_commands(step["run"]):
        if command.kind != "pytest" and not _session_runs_tests(command, directory, scope):
            continue
        where = repo_path(directory, command.directory)
        first, last = lines[command.index], lines[command.last]
        yield TestRun(job, command, first, last, where, coe or job_coe, job_level=not coe and bool(job_coe))


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
        values = matrix_values(scope.job, name) if MATRIX_REFERENCE.fullmatch(name) else [name]
        resolved.extend(part for value in values or [name] for part in str(value).split(","))
    return [name.strip() for name in resolved if name.strip()]


def _env_values(scope: Scope, keys: tuple[str, ...]) -> list[str]:
    for env in scope.envs:
        mappings = matrix_values(scope.job, env) if isinstance(env, str) else [env]
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
        tree = parse_module(noxfile, "noxfile.py")  # any Python from 3.8 to 3.14, as a rule reads it
    except (SyntaxError, ValueError, RecursionError, MemoryError):
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
    import configparser  # here, not at the top: most runs read no tox.ini

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
