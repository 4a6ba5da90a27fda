"""The GitHub Action (``action.yml``) run as a workflow runs it: its shell steps with their
``${{ }}`` expressions filled in, the event payload in a file, the ``GITHUB_*`` variables,
in a clone made the way actions/checkout makes it (one commit deep) of a real repository.

The setup-python and install steps need the package index: this interpreter, which has
Faultline installed, stands in for the Python they install it into."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from faultline.app.cli import action
from tests.conftest import GIT_ENV, GitRepo
from tests.test_cli import AUTH_BASE, AUTH_RISKY

ROOT = Path(__file__).resolve().parent.parent
EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")
SWALLOW = "try:\n    db.execute(q)\nexcept Exception:\n    raise HTTPException(401)\n"
SERVER, REPOSITORY = "https://github.com", "acme/shop"
EARLIER = "An earlier step's summary.\n"
# actions/checkout's clone of a pull request: its merge commit, one commit deep.
PULL_REF = "refs/pull/7/merge"


def load_action() -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load(ROOT / "action.yml")
    return loaded


def evaluate(text: str, context: dict[str, Any]) -> str:
    """``${{ a.b.c }}`` as GitHub fills it in; only plain names are used in action.yml."""

    def value(match: re.Match[str]) -> str:
        found: Any = context
        for key in match.group(1).split("."):
            assert isinstance(found, dict) and key in found, f"unknown expression {match.group(0)}"
            found = found[key]
        return str(found)

    return EXPRESSION.sub(value, text)


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    summary: str

    def annotations(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.startswith("::")]


def run_action(
    workspace: Path,
    tmp: Path,
    event: str,
    payload: dict[str, Any],
    inputs: dict[str, str] | None = None,
    base_ref: str = "",
) -> Run:
    spec = load_action()
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "event.json").write_text(json.dumps(payload))
    summary = tmp / "summary.md"
    summary.write_text(EARLIER)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=workspace, capture_output=True, text=True, check=True
    ).stdout.strip()
    given = inputs or {}
    context = {
        "inputs": {name: given.get(name, field.get("default", "")) for name, field in spec["inputs"].items()},
        "github": {"action_path": str(ROOT)},
        "runner": {"temp": str(tmp)},
        "steps": {
            "python": {"outputs": {"python-path": sys.executable}},
            "install": {"outputs": {"python": sys.executable}},
        },
    }
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp),
        **GIT_ENV,
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(tmp / "event.json"),
        "GITHUB_BASE_REF": base_ref,
        "GITHUB_SHA": head,
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(tmp / "output"),
        "GITHUB_SERVER_URL": SERVER,
        "GITHUB_REPOSITORY": REPOSITORY,
        "RUNNER_TEMP": str(tmp),
    }
    code, stdout, stderr = 0, "", ""
    for step in spec["runs"]["steps"]:
        if "uses" in step:
            assert step["uses"].startswith("actions/setup-python@")
            continue
        if step["id"] == "install":
            continue
        script = tmp / f"{step['id']}.sh"
        script.write_text(evaluate(step["run"], context))
        step_env = {**env, **{name: evaluate(str(value), context) for name, value in step["env"].items()}}
        # How a runner runs `shell: bash`.
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workspace,
            env=step_env,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        code, stdout, stderr = proc.returncode, stdout + proc.stdout, stderr + proc.stderr
        if code:
            break
    return Run(code, stdout, stderr, summary.read_text())


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


@dataclass
class Origin:
    repo: GitRepo
    before: str  # main when the feature branch left it
    feature: str  # the feature branch's head: it adds a risk to app/auth.py
    merge: str  # the pull request's merge commit, on PULL_REF

    @property
    def url(self) -> str:
        return self.repo.root.as_uri()


@pytest.fixture
def origin(make_repo: Any) -> Origin:
    """main holds a risk of its own (app/legacy.py); a feature branch adds another; both move
    on by a few commits after the branch leaves main; the pull request's merge commit."""
    repo: GitRepo = make_repo("origin")
    repo.write("app/legacy.py", SWALLOW)
    repo.write("app/auth.py", AUTH_BASE)
    repo.commit("start")
    for number in range(3):
        repo.write(f"docs/{number}.md", f"{number}\n")
        repo.commit(f"docs {number}")
    before = repo.git("rev-parse", "HEAD").strip()
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("app/auth.py", AUTH_RISKY)
    repo.commit("auth: a catch-all")
    for number in range(3):
        repo.write(f"notes/{number}.md", f"{number}\n")
        repo.commit(f"notes {number}")
    feature = repo.git("rev-parse", "HEAD").strip()
    repo.git("checkout", "-q", "main")
    for number in range(3):
        repo.write(f"main/{number}.md", f"{number}\n")
        repo.commit(f"main {number}")
    repo.git("checkout", "-q", "--detach", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge feature into main", "feature")
    merge = repo.git("rev-parse", "HEAD").strip()
    repo.git("update-ref", PULL_REF, merge)
    repo.git("checkout", "-q", "main")
    return Origin(repo, before, feature, merge)


def checkout(origin: Origin, where: Path, sha: str, ref: str, depth: int | None = 1) -> Path:
    """What actions/checkout does: fetch the one commit (``fetch-depth: 1``), check it out."""
    where.mkdir(parents=True)
    git(where, "init", "-q")
    git(where, "remote", "add", "origin", origin.url)
    deep = ["--depth", str(depth)] if depth else []
    git(where, "fetch", "-q", "--no-tags", *deep, "origin", f"+{sha}:{ref}")
    git(where, "checkout", "-q", "--detach", sha)
    return where


def pull_request_payload(origin: Origin) -> dict[str, Any]:
    base = {"ref": "main", "sha": origin.repo.git("rev-parse", "main").strip()}
    return {"action": "synchronize", "number": 7, "pull_request": {"base": base, "head": {"ref": "feature"}}}


def push_payload(before: str, after: str, ref: str = "refs/heads/feature") -> dict[str, Any]:
    return {"ref": ref, "before": before, "after": after, "repository": {"default_branch": "main"}}


def annotated(run: Run) -> set[tuple[str, str]]:
    """(path, line) of every annotation."""
    found = (re.match(r"::\w+ file=([^,]+),line=(\d+),", line) for line in run.annotations())
    return {(match.group(1), match.group(2)) for match in found if match}


RISKY_LINE = ("app/auth.py", "8")


def test_a_pull_request_on_a_shallow_clone_is_annotated_and_summarised(
    origin: Origin, tmp_path: Path
) -> None:
    work = checkout(origin, tmp_path / "work", origin.merge, "refs/remotes/pull/7/merge")
    assert git(work, "rev-parse", "--is-shallow-repository").strip() == "true"
    run = run_action(work, tmp_path / "runner", "pull_request", pull_request_payload(origin), base_ref="main")
    assert run.code == 1, run.stderr
    # The pull request's risk, not the one main holds already.
    assert annotated(run) == {RISKY_LINE}
    assert run.annotations()[0].startswith(
        "::error file=app/auth.py,line=8,endLine=8,col=5,title=FL001 broad-except::"
    )
    # Appended after what an earlier step wrote, the App's check-run summary under its title.
    assert run.summary.startswith(EARLIER + "## Faultline: 1 risk found (1 error)\n\n")
    assert f"Faultline checked 1 file in `{origin.merge[:7]}`." in run.summary
    assert "fails on a finding of severity **error** or above" in run.summary
    assert "| Rule | Errors | Warnings | Notices |" in run.summary
    assert f"]({SERVER}/{REPOSITORY}/blob/{origin.merge}/app/auth.py#L8)" in run.summary
    assert "inline" not in run.summary  # the action comments nothing inline


def test_a_base_branch_that_moved_on_since_the_event_adds_nothing(origin: Origin, tmp_path: Path) -> None:
    work = checkout(origin, tmp_path / "work", origin.merge, "refs/remotes/pull/7/merge")
    # main moves on while the workflow waits for a runner, and fixes legacy.py: compared with
    # main's new tip instead of the merge base, the merge commit would bring the risk back.
    for number in range(3):
        origin.repo.write(f"main/later{number}.md", "x\n")
        origin.repo.commit(f"later {number}")
    origin.repo.write("app/legacy.py", "def fixed() -> int:\n    return 1\n")
    origin.repo.commit("legacy: fixed")
    run = run_action(work, tmp_path / "runner", "pull_request", pull_request_payload(origin), base_ref="main")
    assert (run.code, annotated(run)) == (1, {RISKY_LINE}), run.stderr


def test_fail_on_and_the_summary_say_the_same(origin: Origin, tmp_path: Path) -> None:
    work = checkout(origin, tmp_path / "work", origin.merge, "refs/remotes/pull/7/merge")
    payload = pull_request_payload(origin)
    run = run_action(
        work, tmp_path / "runner", "pull_request", payload, {"fail-on": "never"}, base_ref="main"
    )
    assert (run.code, annotated(run)) == (0, {RISKY_LINE})
    assert "This check does not fail on findings (`--fail-on never`)." in run.summary


def test_a_push_checks_the_commits_it_pushed(origin: Origin, tmp_path: Path) -> None:
    after = origin.feature
    work = checkout(origin, tmp_path / "work", after, "refs/remotes/origin/feature")
    before = origin.repo.git("rev-parse", f"{after}~2").strip()  # two harmless commits pushed
    run = run_action(work, tmp_path / "runner", "push", push_payload(before, after))
    assert (run.code, annotated(run)) == (0, set()), run.stderr
    assert "## Faultline: No risks found" in run.summary
    before = origin.before  # the risky commit among those pushed
    run = run_action(work, tmp_path / "again", "push", push_payload(before, after))
    assert (run.code, annotated(run)) == (1, {RISKY_LINE}), run.stderr


def test_a_new_branch_is_checked_against_the_default_branch(origin: Origin, tmp_path: Path) -> None:
    work = checkout(origin, tmp_path / "work", origin.feature, "refs/remotes/origin/feature")
    run = run_action(work, tmp_path / "runner", "push", push_payload(action.ZERO_SHA, origin.feature))
    assert (run.code, annotated(run)) == (1, {RISKY_LINE}), run.stderr


def test_a_force_pushed_away_before_falls_back_to_the_default_branch(origin: Origin, tmp_path: Path) -> None:
    work = checkout(origin, tmp_path / "work", origin.feature, "refs/remotes/origin/feature")
    gone = "1234567" * 5 + "12345"
    run = run_action(work, tmp_path / "runner", "push", push_payload(gone, origin.feature))
    assert (run.code, annotated(run)) == (1, {RISKY_LINE}), run.stderr
    assert "the commit before the push (1234567) cannot be fetched" in run.stderr
    assert "checking against main" in run.stderr


def test_the_default_branch_first_push_and_other_events_check_whole_files(
    origin: Origin, tmp_path: Path
) -> None:
    main = origin.repo.git("rev-parse", "main").strip()
    work = checkout(origin, tmp_path / "work", main, "refs/remotes/origin/main")
    run = run_action(work, tmp_path / "push", "push", push_payload(action.ZERO_SHA, main, "refs/heads/main"))
    assert (run.code, annotated(run)) == (1, {("app/legacy.py", "3")}), run.stderr
    assert "faultline: the push has no commit before it: checking whole files" in run.stderr
    sarif = tmp_path / "faultline.sarif"
    run = run_action(work, tmp_path / "dispatch", "workflow_dispatch", {}, {"sarif": str(sarif)})
    assert (run.code, annotated(run)) == (1, {("app/legacy.py", "3")})
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    assert [result["ruleId"] for result in results] == ["FL001"]


def test_the_sarif_file_holds_the_whole_files_on_a_pull_request(origin: Origin, tmp_path: Path) -> None:
    # Code scanning takes an alert missing from the next upload as fixed: never the diff's alone.
    work = checkout(origin, tmp_path / "work", origin.merge, "refs/remotes/pull/7/merge")
    sarif = tmp_path / "faultline.sarif"
    payload = pull_request_payload(origin)
    run = run_action(
        work, tmp_path / "runner", "pull_request", payload, {"sarif": str(sarif)}, base_ref="main"
    )
    assert (run.code, annotated(run)) == (1, {RISKY_LINE})
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    places = {result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for result in results}
    assert places == {"app/auth.py", "app/legacy.py"}


def test_a_clone_too_shallow_for_the_bound_says_fetch_depth_0(origin: Origin, tmp_path: Path) -> None:
    # The feature branch is 4 commits past the merge base, main 3.
    work = checkout(origin, tmp_path / "work", origin.feature, "refs/remotes/origin/feature")
    base = action.branch_base("main")
    with pytest.raises(action.ActionError) as caught:
        action.fetch_history(work, base, deepen=(1, 1))
    assert str(caught.value) == (
        "the merge base of main and HEAD is not in the last 2 commits this shallow clone fetched: "
        "set `fetch-depth: 0` on actions/checkout"
    )
    action.fetch_history(work, base, deepen=(1, 1, 2, 2))  # round after round, until it is there
    assert git(work, "merge-base", base.rev, "HEAD").strip() == origin.before
    assert git(work, "rev-parse", "--is-shallow-repository").strip() == "true"  # not the whole history


def test_a_full_clone_fetches_nothing(origin: Origin, tmp_path: Path) -> None:
    work = tmp_path / "full"
    git(tmp_path, "clone", "-q", origin.url, str(work))
    git(work, "remote", "set-url", "origin", (tmp_path / "nowhere").as_uri())  # a fetch would fail
    git(work, "checkout", "-q", "feature")
    run = run_action(work, tmp_path / "runner", "pull_request", pull_request_payload(origin), base_ref="main")
    assert (run.code, annotated(run)) == (1, {RISKY_LINE}), run.stderr


def test_a_step_that_cannot_find_the_change_fails_in_one_line(git_repo: GitRepo, tmp_path: Path) -> None:
    git_repo.commit("start")
    (tmp_path / "event.json").write_text("{")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **GIT_ENV, "GITHUB_EVENT_NAME": "push"}
    cases = [
        (
            git_repo.root,
            {"GITHUB_EVENT_PATH": str(tmp_path / "event.json")},
            "cannot read the event payload ",
        ),
        (git_repo.root, {}, "GITHUB_EVENT_PATH is not set"),
        (tmp_path, {"GITHUB_EVENT_PATH": str(tmp_path / "event.json")}, "not inside a git repository"),
    ]
    for cwd, more, said in cases:
        proc = subprocess.run(
            [sys.executable, "-m", "faultline.app.cli.action"],
            cwd=cwd,
            env={**env, **more},
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 2, proc.stderr
        assert proc.stdout.startswith(f"::error title=Faultline::faultline: {said}"), proc.stdout
        assert proc.stdout.count("\n") == 1


@pytest.mark.parametrize(
    ("event", "payload", "base_ref", "expected"),
    [
        ("pull_request", {"pull_request": {"base": {"ref": "main"}}}, "release", "release"),
        ("pull_request_target", {"pull_request": {"base": {"ref": "main"}}}, "", "main"),
        ("merge_group", {"merge_group": {"base_sha": "a" * 40, "head_sha": "b" * 40}}, "", "a" * 40),
        ("push", {"before": "c" * 40, "ref": "refs/heads/x"}, "", "c" * 40),
        (
            "push",
            {"before": action.ZERO_SHA, "ref": "refs/tags/v1", "repository": {"default_branch": "dev"}},
            "",
            "dev",
        ),
        ("push", {"ref": "refs/heads/x", "repository": {"default_branch": "main"}}, "", "main"),
        (
            "push",
            {"before": action.ZERO_SHA, "ref": "refs/heads/main", "repository": {"default_branch": "main"}},
            "",
            None,
        ),
        ("push", {"before": action.ZERO_SHA}, "", None),
        ("schedule", {}, "", None),
        ("pull_request", {"pull_request": "odd"}, "", None),
    ],
)
def test_the_base_each_event_names(
    event: str, payload: dict[str, Any], base_ref: str, expected: str | None
) -> None:
    base = action.find_base(action.Event(event, payload, base_ref))
    if expected is None:
        assert base is None
    elif len(expected) == 40:
        assert base == action.commit_base(expected)
    else:
        assert base == action.branch_base(expected)
        assert base.refspec == f"+refs/heads/{expected}:refs/remotes/origin/{expected}"


def test_the_action_takes_the_inputs_the_readme_names() -> None:
    spec = load_action()
    assert list(spec["inputs"]) == ["fail-on", "config", "sarif", "version"]
    assert spec["runs"]["using"] == "composite"
    install = next(step for step in spec["runs"]["steps"] if step.get("id") == "install")
    assert "faultline-review==$VERSION" in install["run"] and "$ACTION_PATH" in install["run"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in spec["inputs"]:
        assert f"`{name}`" in readme


def test_the_readme_pins_the_action_to_the_version_it_describes() -> None:
    from faultline import __version__

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    tags = re.findall(r"uses: faultline-dev/faultline@v(\S+)", readme)
    assert tags and set(tags) == {__version__}
