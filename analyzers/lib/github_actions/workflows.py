"""GitHub Actions workflows as ruamel round-trip trees: what triggers them, their
jobs and steps, the file line of each line of a ``run:`` script, matrix values,
working directories and the steps allowed to fail."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeGuard

from faultline.analyzers.core.source import SourceFile, split_lines

if TYPE_CHECKING:
    from ruamel.yaml.comments import CommentedMap

WORKFLOW_FOLDER = ".github/workflows/"
# Events a pull request waits on; a workflow with none of them runs on a
# schedule, by hand or on release.
CHANGE_EVENTS = frozenset({"push", "pull_request", "pull_request_target", "merge_group", "workflow_call"})
MATRIX_REFERENCE = re.compile(r"\$\{\{\s*matrix\.([\w.-]+)\s*\}\}")
# How far below a `run:` key its script lines are searched for.
SCRIPT_SEARCH_LINES = 200


def is_mapping(node: object) -> TypeGuard[CommentedMap]:
    """A mapping of a round-trip YAML tree. ruamel is imported here, not at the top: a run
    that reads no YAML file does not pay for it."""
    from ruamel.yaml.comments import CommentedMap

    return isinstance(node, CommentedMap)


def triggered_by_changes(workflow: CommentedMap) -> bool:
    """False for workflows that only run on a schedule, by hand or on release:
    no pull request waits on them."""
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    if not isinstance(triggers, str | list | dict):
        return True
    names = [triggers] if isinstance(triggers, str) else list(triggers)
    return any(str(name) in CHANGE_EVENTS for name in names)


def jobs(workflow: CommentedMap) -> Iterator[tuple[str, CommentedMap]]:
    """(id, job) of each job that has steps; a call to a reusable workflow has none."""
    found = workflow.get("jobs")
    if not is_mapping(found):
        return
    for job_id, job in found.items():
        if is_mapping(job) and isinstance(job.get("steps"), list):
            yield str(job_id), job


def steps(job: CommentedMap) -> Iterator[CommentedMap]:
    for step in job["steps"]:
        if is_mapping(step):
            yield step


def checks_out_another_repo(job: CommentedMap) -> bool:
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


def outcome_is_read(job: CommentedMap, step: CommentedMap) -> bool:
    """A later step reads this step's outcome (a retry, a status check): its
    ``continue-on-error`` does not let a failure pass unseen."""
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


def continue_on_error_line(node: Any) -> int:
    """The line of ``continue-on-error: true`` on a job or step (a literal, not
    an expression), else 0."""
    key = "continue-on-error"
    if node.get(key) is True:
        return int(node.lc.key(key)[0]) + 1
    return 0


def default_working_directory(node: Any) -> str:
    """``defaults.run.working-directory`` of a job or workflow; "" when unset
    or set by an expression."""
    defaults = node.get("defaults")
    if isinstance(defaults, dict) and isinstance(defaults.get("run"), dict):
        directory = str(defaults["run"].get("working-directory") or "")
        return "" if "${{" in directory else directory
    return ""


def step_working_directory(step: CommentedMap, default: str) -> str:
    """The folder a step runs in; "" (the root) when an expression sets it."""
    directory = str(step.get("working-directory") or default)
    return "" if "${{" in directory else directory


def matrix_values(job: Any, reference: str) -> list[Any]:
    """The values ``${{ matrix.a.b }}`` takes in the job's matrix and includes."""
    match = MATRIX_REFERENCE.fullmatch(reference.strip())
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


def script_lines(source: SourceFile, step: CommentedMap) -> list[int]:
    """The file line (1-based) of each line of the step's ``run:`` script, and
    once more the last one: block scalars start below the ``run:`` key and folded
    ones join lines, so the text is searched for."""
    value_line = step.lc.value("run")[0]
    found = []
    cursor = value_line
    for text in split_lines(step["run"]):
        needle = text.strip()[:40]
        line = cursor
        if needle:
            for number in range(cursor, min(cursor + SCRIPT_SEARCH_LINES, len(source.lines))):
                if needle in source.lines[number]:
                    line = number
                    break
        found.append(line + 1)
        cursor = max(cursor, line + 1 if needle else cursor)
    found.append(found[-1] if found else value_line + 1)
    return found


def repo_path(directory: str, path: str) -> str:
    """``path`` seen from ``directory`` as a repository path: "" for the root,
    no "./", no trailing slash."""
    joined = posixpath.normpath(posixpath.join(directory or ".", path or "."))
    return "" if joined == "." else joined.removeprefix("./")
