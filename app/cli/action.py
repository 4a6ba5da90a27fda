"""The GitHub Action's step (``action.yml``): find what the workflow run's event changes,
fetch the history a shallow clone lacks, and run ``faultline check`` on it.

    python -m faultline.app.cli.action

It reads what GitHub Actions sets (``GITHUB_EVENT_NAME``, ``GITHUB_EVENT_PATH``,
``GITHUB_BASE_REF``, ``GITHUB_STEP_SUMMARY``) and the action's inputs as ``INPUT_FAIL_ON``,
``INPUT_CONFIG``, ``INPUT_SARIF``. The base of the change:
- a pull request: its base branch (``github.base_ref``), as the pull request's diff shows it;
- a merge queue group: the group's base commit;
- a push: the commit before it (``before``); a new branch (``before`` all zeros, or
  missing) is checked against the default branch, as a pull request into it would be;
- the default branch's first push, and any other event (schedule, workflow_dispatch):
  no base, whole files (``--all``).
The exit code is ``faultline check``'s.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faultline.app.cli.git import GitError, git
from faultline.app.cli.workspace import find_root, is_shallow

REMOTE = "origin"  # the remote actions/checkout sets up
ZERO_SHA = "0" * 40
# Commits fetched on a shallow clone, round after round, until the merge base is there:
# 1,550 in all, then the step says to clone with the whole history.
DEEPEN = (50, 100, 200, 400, 800)
PULL_REQUEST_EVENTS = (
    "pull_request",
    "pull_request_target",
    "pull_request_review",
    "pull_request_review_comment",
)

TOO_SHALLOW = (
    "the merge base of {base} and HEAD is not in the last {depth} commits this shallow clone fetched: "
    "set `fetch-depth: 0` on actions/checkout"
)
NO_FETCH = "cannot fetch {what} from {remote} ({said}): set `fetch-depth: 0` on actions/checkout"
NO_EVENT = "GITHUB_EVENT_PATH is not set: this runs in a GitHub Actions step"
BAD_EVENT = "cannot read the event payload {path}: {error}"
WHOLE_FILES = "faultline: {why}: checking whole files"
GONE_BEFORE = "faultline: the commit before the push ({sha}) cannot be fetched ({said}): {instead}"


class ActionError(Exception):
    """The step cannot find or fetch the change; the message says what to do."""


class FetchError(ActionError):
    def __init__(self, what: str, said: str) -> None:
        super().__init__(NO_FETCH.format(what=what, remote=REMOTE, said=said))
        self.said = said


@dataclass(frozen=True)
class Base:
    """What the change is compared with: ``rev`` for ``--base``, fetched with ``refspec``."""

    rev: str
    refspec: str
    described: str  # for messages: the branch name or the short commit
    is_commit: bool = False


@dataclass(frozen=True)
class Event:
    name: str
    payload: Mapping[str, Any]
    base_ref: str = ""


def read_event(environ: Mapping[str, str]) -> Event:
    path = environ.get("GITHUB_EVENT_PATH")
    if not path:
        raise ActionError(NO_EVENT)
    try:
        payload = json.loads(Path(path).read_bytes())
    except (OSError, ValueError) as err:
        raise ActionError(BAD_EVENT.format(path=path, error=err)) from None
    if not isinstance(payload, dict):
        raise ActionError(BAD_EVENT.format(path=path, error="not a JSON object"))
    return Event(environ.get("GITHUB_EVENT_NAME", ""), payload, environ.get("GITHUB_BASE_REF", ""))


def branch_base(branch: str) -> Base:
    return Base(
        f"refs/remotes/{REMOTE}/{branch}", f"+refs/heads/{branch}:refs/remotes/{REMOTE}/{branch}", branch
    )


def commit_base(sha: str) -> Base:
    return Base(sha, sha, sha[:7], is_commit=True)


def find_base(event: Event) -> Base | None:
    """The base of the event's change, or None for whole files (a note on stderr says why)."""
    payload = event.payload
    if event.name in PULL_REQUEST_EVENTS:
        branch = event.base_ref or _field(payload, "pull_request", "base", "ref")
        if branch:
            return branch_base(branch)
    if event.name == "merge_group" and (sha := _field(payload, "merge_group", "base_sha")):
        return commit_base(sha)
    if event.name == "push":
        before = _field(payload, "before")
        if before and before.strip("0"):
            return commit_base(before)
        if (base := _new_branch_base(payload)) is not None:
            return base
        print(WHOLE_FILES.format(why="the push has no commit before it"), file=sys.stderr)
        return None
    print(WHOLE_FILES.format(why=f"a {event.name or 'workflow'} event has no base"), file=sys.stderr)
    return None


def _new_branch_base(payload: Mapping[str, Any]) -> Base | None:
    """A branch pushed for the first time: what a pull request into the default branch would show."""
    default = _field(payload, "repository", "default_branch")
    if default and _field(payload, "ref") != f"refs/heads/{default}":
        return branch_base(default)
    return None  # the default branch's first push


def _field(payload: Mapping[str, Any], *keys: str) -> str:
    value: Any = payload
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value if isinstance(value, str) else ""


def fetch_history(root: Path, base: Base, deepen: Sequence[int] = DEEPEN) -> None:
    """Make the merge base of ``base`` and HEAD readable: fetch the base, and on a shallow
    clone deepen both sides round after round, at most ``sum(deepen)`` commits."""
    if _merge_base(root, base.rev):
        return  # a full clone (fetch-depth: 0) has it already
    shallow = is_shallow(root)
    _fetch(root, base, *(["--depth", str(deepen[0])] if shallow else []))
    head = git(root, "rev-parse", "HEAD").strip()
    fetched = deepen[0]
    for depth in deepen[1:]:
        if _merge_base(root, base.rev) or not is_shallow(root):
            return
        _fetch(root, base, "--deepen", str(depth), extra=(head,))
        fetched += depth
    if not _merge_base(root, base.rev) and is_shallow(root):
        raise ActionError(TOO_SHALLOW.format(base=base.described, depth=fetched))


def _merge_base(root: Path, rev: str) -> bool:
    try:
        git(root, "merge-base", rev, "HEAD")
    except GitError:
        return False
    return True


def _fetch(root: Path, base: Base, *options: str, extra: Sequence[str] = ()) -> None:
    try:
        git(root, "fetch", "--quiet", "--no-tags", *options, REMOTE, base.refspec, *extra)
    except GitError as err:
        raise FetchError(base.described, str(err)) from None


def check_argv(base: Base | None, environ: Mapping[str, str]) -> list[str]:
    argv = ["check", "--format", "github", *(["--base", base.rev] if base else ["--all"])]
    argv += _input_options(environ)
    if environ.get("GITHUB_STEP_SUMMARY"):
        argv += ["--summary", environ["GITHUB_STEP_SUMMARY"]]
    if base is None and environ.get("INPUT_SARIF"):
        argv += ["--sarif", environ["INPUT_SARIF"]]  # whole files already: the same run
    return argv


def sarif_argv(environ: Mapping[str, str]) -> list[str]:
    """Code scanning takes a result missing from the next upload as fixed: the SARIF file holds
    every finding of the whole files, on every event, never the change's alone."""
    config = ["--config", environ["INPUT_CONFIG"]] if environ.get("INPUT_CONFIG") else []
    output = ["--output", environ["INPUT_SARIF"]]
    return ["check", "--all", "--format", "sarif", "--fail-on", "never", *config, *output]


def _input_options(environ: Mapping[str, str]) -> list[str]:
    options: list[str] = []
    if environ.get("INPUT_FAIL_ON"):
        options += ["--fail-on", environ["INPUT_FAIL_ON"]]
    if environ.get("INPUT_CONFIG"):
        options += ["--config", environ["INPUT_CONFIG"]]
    return options


def run(environ: Mapping[str, str] = os.environ) -> int:
    from faultline.app.cli.main import EXIT_USAGE, main

    root, in_git = find_root(Path.cwd())
    try:
        if not in_git:
            raise ActionError("not inside a git repository: run actions/checkout before this action")
        event = read_event(environ)
        base = find_base(event)
        if base is not None:
            base = _fetched_or_fallback(root, base, event.payload)
    except ActionError as err:
        print(f"::error title=Faultline::faultline: {_escape(str(err))}")
        return EXIT_USAGE
    code = main(check_argv(base, environ))
    if base is not None and environ.get("INPUT_SARIF"):
        whole = main(sarif_argv(environ))
        code = whole if whole > 1 else code  # a failed SARIF run fails the step; its findings do not
    return code


def _fetched_or_fallback(root: Path, base: Base, payload: Mapping[str, Any]) -> Base | None:
    """The push's ``before`` may be gone (a force push, then a gc): the default branch instead."""
    try:
        fetch_history(root, base)
    except FetchError as err:
        if not base.is_commit:
            raise
        fallback = _new_branch_base(payload)
        instead = f"checking against {fallback.described}" if fallback else "checking whole files"
        print(GONE_BEFORE.format(sha=base.described, said=err.said, instead=instead), file=sys.stderr)
        if fallback is not None:
            fetch_history(root, fallback)
        return fallback
    return base


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


if __name__ == "__main__":
    sys.exit(run())
