"""FL003 coverage-gate beyond its examples: shell parsing, threshold scanning,
suites that are not the unit tests, and changes seen as diffs."""

from __future__ import annotations

import pytest

from faultline.analyzers.core.engine import PARSE_ERROR_CODE
from faultline.analyzers.core.findings import Finding, Severity
from faultline.analyzers.core.rule import Valid
from faultline.analyzers.core.testing import run_example
from faultline.analyzers.lib.github_actions.shell import find_test_commands as _commands
from faultline.analyzers.rules.ci.coverage_config import thresholds_in as _scan
from faultline.analyzers.rules.ci.coverage_gate import CoverageGate

CI = ".github/workflows/ci.yml"


def workflow(run: str, job: str = "test", extra: str = "", on: str = "[push, pull_request]") -> str:
    body = "\n".join(f"          {line}" for line in run.splitlines())
    return (
        f"on: {on}\njobs:\n  {job}:\n    runs-on: ubuntu-latest\n{extra}    steps:\n"
        f"      - uses: actions/checkout@v4\n      - run: |\n{body}\n"
    )


def findings(
    code: str, path: str = CI, base: str | None = None, files: dict[str, str] | None = None
) -> list[Finding]:
    return run_example(CoverageGate, Valid(code, path=path, base=base, files=files or {}))


@pytest.mark.parametrize(
    ("script", "kind"),
    [
        ("pytest", "pytest"),
        ("py.test -x", "pytest"),
        ("python -m pytest tests", "pytest"),
        ("python3.12 -Im pytest", "pytest"),
        (".venv/bin/python -m pytest", "pytest"),
        ("coverage run --parallel -m pytest", "pytest"),
        ("poetry run pytest --cov", "pytest"),
        ("uv run --frozen --with pytest-xdist pytest -n auto", "pytest"),
        ("pdm run python -m pytest", "pytest"),
        ("xvfb-run -a pytest", "pytest"),
        ("DJANGO_SETTINGS_MODULE=app.settings pytest", "pytest"),
        ("bash -c 'pytest -q'", "pytest"),
        ("docker compose run --rm app pytest", "pytest"),
        ("tox -e py312", "tox"),
        ("uvx --with tox-uv tox run", "tox"),
        ("python -m nox -s tests", "nox"),
    ],
)
def test_test_commands_are_found(script: str, kind: str) -> None:
    commands = list(_commands(script))
    assert [command.kind for command in commands] == [kind]


@pytest.mark.parametrize(
    "script",
    [
        "pip install pytest pytest-cov",
        "python -m pip install -U pytest",
        "echo pytest",
        "# pytest -x",
        "pytest --version",
        "pytest --collect-only -q",
        "pytest benchmarks/ --benchmark-only",
        "pytest tests/integration/",
        "uv tool install --with tox-uv tox",
        "poetry add --group dev pytest",
        "python -c 'import pytest'",
        "coverage report",
        "make test",
        "hatch run test:all",
    ],
)
def test_other_commands_are_not_test_runs(script: str) -> None:
    assert list(_commands(script)) == []


def test_command_details() -> None:
    (first, second, third) = _commands(
        "cd backend && pytest \\\n  --cov=app\npytest || true\npytest --lf || pytest --lf -vv\n"
    )
    assert (first.directory, first.index, first.last, first.swallowed) == ("backend", 0, 1, False)
    assert second.swallowed
    assert not third.swallowed


@pytest.mark.parametrize(
    ("path", "text", "values"),
    [
        ("pyproject.toml", "[tool.coverage.report]\nfail_under = 85\n", [85.0]),
        ("pyproject.toml", "[tool.coverage]\nreport.fail_under = 88\n", [88.0]),
        ("pyproject.toml", "[tool.interrogate]\nfail-under = 95\n", []),
        ("pyproject.toml", "[tool.pylint.main]\nfail-under = 9.5\n", []),
        ("pyproject.toml", '[tool.pytest.ini_options]\naddopts = "--cov=app --cov-fail-under=70"\n', [70.0]),
        ("pyproject.toml", '[tool.coverage.run]\nplugins = ["covdefaults"]\n', [None]),
        ("pyproject.toml", "[tool.coverage.report]\n# fail_under = 85\n", []),
        ("setup.cfg", "[coverage:report]\nfail_under = 90\n", [90.0]),
        ("setup.cfg", "[report]\nfail_under = 90\n", []),
        (".coveragerc", "[report]\nfail_under = 93.5\n", [93.5]),
        ("tox.ini", "[testenv]\ncommands =\n    coverage report --fail-under=100\n", [100.0]),
        ("noxfile.py", 'session.run(\n    "coverage",\n    "report",\n    "--fail-under=97",\n)\n', [97.0]),
        (CI, "      - run: coverage report --fail-under=${{ inputs.minimum }}\n", [None]),
        (CI, "      - run: interrogate --fail-under 80 src\n", []),
        (CI, "      - run: diff-cover coverage.xml --fail-under=100\n", [100.0]),
    ],
)
def test_thresholds_are_scanned(path: str, text: str, values: list[float | None]) -> None:
    assert [threshold.value for threshold in _scan(path, text)] == values


def test_schedule_only_workflows_are_not_checked() -> None:
    nightly = workflow("pytest", on="{schedule: [{cron: '0 3 * * *'}], workflow_dispatch: {}}")
    assert findings(nightly) == []


def test_downstream_tests_are_not_checked() -> None:
    code = (
        "on: [pull_request]\njobs:\n  flask:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n        with:\n          repository: pallets/flask\n"
        "      - run: pytest\n"
    )
    assert findings(code) == []


def test_steps_that_run_after_a_failure_are_not_checked() -> None:
    code = (
        "on: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: pytest --cov --cov-fail-under=90\n"
        "      - if: failure()\n        run: pytest --lf -vv\n"
    )
    assert findings(code) == []


def test_tox_lint_environments_are_not_test_runs() -> None:
    tox = "[testenv]\ncommands = pytest\n[testenv:lint]\ncommands = ruff check .\n"
    assert findings(workflow("tox -e lint,typing"), files={"tox.ini": tox}) == []


def test_tox_environment_from_the_matrix() -> None:
    extra = (
        "    strategy:\n      matrix:\n        include:\n"
        "          - env: {TOXENV: pylint}\n          - env: {TOXENV: docs}\n"
    )
    code = workflow("uvx --with tox-uv tox", extra=extra).replace(
        "      - run: |", "      - env: ${{ matrix.env }}\n        run: |"
    )
    assert findings(code, files={"tox.ini": "[testenv]\ncommands = pytest\n"}) == []
    tests = extra.replace("pylint", "py312")
    found = findings(code.replace(extra, tests), files={"tox.ini": "[testenv]\ncommands = pytest\n"})
    assert [(f.line, f.severity) for f in found] == [(14, Severity.NOTICE)]


def test_nox_sessions_without_pytest_are_not_test_runs() -> None:
    noxfile = (
        "import nox\n\n@nox.session\ndef tests(session):\n    session.run('pytest')\n\n"
        "@nox.session\ndef vendoring(session):\n    session.run('vendoring', 'sync')\n"
    )
    assert findings(workflow("nox -s vendoring"), files={"noxfile.py": noxfile}) == []
    assert len(findings(workflow("nox -s tests-3.12"), files={"noxfile.py": noxfile})) == 1


def test_a_noxfile_in_newer_python_syntax_is_read() -> None:
    noxfile = (
        "import nox\n\ntype Session = nox.Session\n\n"
        "@nox.session\ndef tests(session: Session):\n    session.run('pytest')\n\n"
        "@nox.session\ndef vendoring(session: Session):\n"
        '    session.log(f"{session.posargs[0]} {"sync"}")\n'
    )
    assert findings(workflow("nox -s vendoring"), files={"noxfile.py": noxfile}) == []
    assert len(findings(workflow("nox -s tests"), files={"noxfile.py": noxfile})) == 1


def test_configs_in_the_working_directory_count() -> None:
    code = workflow("pytest", extra="    defaults:\n      run:\n        working-directory: backend\n")
    assert findings(code, files={"backend/pyproject.toml": "[tool.coverage.report]\nfail_under = 80\n"}) == []
    assert (
        findings(
            workflow("cd backend\npytest"),
            files={"backend/setup.cfg": "[coverage:report]\nfail_under = 80\n"},
        )
        == []
    )
    assert len(findings(code, files={"backend/pyproject.toml": "[tool.coverage.run]\nbranch = true\n"})) == 1
    # Nothing readable in the folder: its config may just not have been fetched.
    assert findings(code) == []


def test_informational_codecov_is_no_gate() -> None:
    code = workflow("pytest --cov\n") + "      - uses: codecov/codecov-action@v5\n"
    informational = "coverage:\n  status:\n    project:\n      default:\n        informational: true\n"
    patch_off = informational + "    patch: false\n"
    assert findings(code, files={"codecov.yml": informational}) == []  # the default patch status still fails
    assert len(findings(code, files={"codecov.yml": patch_off})) == 1
    assert findings(code) == []


def test_one_finding_per_workflow() -> None:
    code = (
        workflow("pytest tests/unit\npytest tests/api")
        + "  windows:\n    runs-on: windows-latest\n    steps:\n      - run: pytest\n"
    )
    assert [f.line for f in findings(code)] == [8]


def test_diff_mode_reports_only_an_added_test_command() -> None:
    base = workflow("pip install .\npytest")
    assert findings(workflow("pip install .[test]\npytest"), base=base) == []
    assert [f.line for f in findings(workflow("pip install .\npytest -x"), base=base)] == [9]


def test_a_new_allowed_failure_job_is_a_notice() -> None:
    code = workflow("pytest --cov-fail-under=90", job="experimental", extra="    continue-on-error: true\n")
    assert [(f.line, f.severity) for f in findings(code)] == [(5, Severity.NOTICE)]


def test_continue_on_error_with_a_retry_is_fine() -> None:
    code = (
        "on: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - id: first\n        continue-on-error: true\n        run: pytest --cov-fail-under=90\n"
        "      - if: steps.first.outcome == 'failure'\n        run: pytest --cov-fail-under=90\n"
    )
    assert findings(code) == []


def test_codecov_config_with_a_target_is_a_gate_without_an_upload_step() -> None:
    target = "coverage:\n  status:\n    project:\n      default:\n        target: '100'\n"
    assert findings(workflow("pytest"), files={"codecov.yml": target}) == []


def test_continue_on_error_by_expression_is_fine() -> None:
    extra = "    continue-on-error: ${{ matrix.python == '3.14' }}\n"
    assert findings(workflow("pytest --cov-fail-under=90", extra=extra)) == []


def test_removing_the_coverage_job_is_reported_where_it_was() -> None:
    tests = workflow("pytest --cov")
    base = (
        tests
        + "  coverage:\n    runs-on: ubuntu-latest\n    steps:\n"
        + "      - run: coverage report --fail-under=95\n"
    )
    (finding,) = findings(tests, base=base)
    assert finding.line == 8  # the last line: the job was below it
    assert "removed (was 95)" in finding.message


def test_moving_the_threshold_between_configs_is_fine() -> None:
    pyproject = "[tool.coverage.report]\nshow_missing = true\n"
    base = "[tool.coverage.report]\nfail_under = 90\nshow_missing = true\n"
    assert (
        findings(
            pyproject, path="pyproject.toml", base=base, files={".coveragerc": "[report]\nfail_under = 90\n"}
        )
        == []
    )


def test_lowering_to_zero_names_zero() -> None:
    (finding,) = findings(workflow("pytest --cov-fail-under=0"), base=workflow("pytest --cov-fail-under=80"))
    assert "lowered from 80 to 0" in finding.message


def test_config_that_does_not_parse_is_reported_once() -> None:
    found = findings("[tool.coverage.report\nfail_under = 80\n", path="pyproject.toml", base="")
    assert [(f.code, f.line) for f in found] == [(PARSE_ERROR_CODE, 1)]


def test_unchanged_thresholds_need_no_other_file() -> None:
    base = "[tool.coverage.report]\nfail_under = 80\n\n[tool.ruff]\nline-length = 100\n"
    assert findings(base.replace("100", "110"), path="pyproject.toml", base=base) == []


@pytest.mark.parametrize("separator", ["\x0c", "\x1e", "\x85", "\u2028"])
def test_threshold_lines_count_as_git_does(separator: str) -> None:
    # str.splitlines would count a line break at the separator in the comment.
    text = f"# a comment {separator} that goes on\n[tool.coverage.report]\nfail_under = 85\n"
    assert [threshold.line for threshold in _scan("pyproject.toml", text)] == [3]


WORKFLOW = "jobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: {command}\n{upload}"
UPLOAD = "      - uses: codecov/codecov-action@v5\n"
STATUS = "coverage:\n  status:\n    project:\n      default:\n        target: 90%\n"


def removal(command: str, upload: str, files: dict[str, str]) -> list[str]:
    example = Valid(
        WORKFLOW.format(command=command, upload=upload),
        path=".github/workflows/ci.yml",
        base=WORKFLOW.format(command="pytest --cov=app", upload=UPLOAD),
        files=files,
    )
    return [finding.message for finding in run_example(CoverageGate, example)]


def test_removing_the_upload_that_fed_codecov_status_checks_is_reported() -> None:
    (message,) = removal(
        "pytest --cov=app", "", {"codecov.yml": STATUS, ".coveragerc": "[run]\nbranch = True\n"}
    )
    assert "this change removes the codecov upload that gated coverage" in message
    # Still measured: the plain hint is valid, in the file the repository uses.
    assert message.endswith("add `--cov-fail-under=N`, or `fail_under` under `[report]` in `.coveragerc`")


def test_removing_measurement_and_upload_names_both_and_tox_ini() -> None:
    (message,) = removal("pytest", "", {"tox.ini": "[coverage:report]\nshow_missing = true\n"})
    assert "removes coverage measurement and the upload that gated it" in message
    assert "`fail_under` under `[coverage:report]` in `tox.ini`" in message


def test_an_upload_kept_in_another_workflow_still_gates() -> None:
    files = {".github/workflows/coverage.yml": "jobs:\n  c:\n    steps:\n" + UPLOAD, "codecov.yml": STATUS}
    assert removal("pytest --cov=app", "", files) == []
