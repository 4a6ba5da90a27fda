"""The pre-commit hook run by the real ``pre-commit``, offline, in a temporary repository: a
``repo: local`` hook with the settings of ``.pre-commit-hooks.yaml`` (a test keeps the two
the same), entry this environment's ``faultline``. pre-commit runs it three ways: at commit
time, on pushed commits (``--from-ref``/``--to-ref``) and on all files."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from faultline.analyzers.languages import all_languages
from tests.conftest import GIT_ENV, GitRepo
from tests.test_cli import AUTH_BASE, AUTH_RISKY, FAULTLINE

ROOT = Path(__file__).resolve().parent.parent
PRE_COMMIT = str(Path(sys.executable).with_name("pre-commit"))
LEGACY = "try:\n    db.execute(q)\nexcept Exception:\n    raise HTTPException(401)\n"
# FL010, a warning: below the default fail level.
NETWORK = "import requests\n\n\ndef fetch(url):\n    return requests.get(url)\n"
# What the local hook shares with the published one (.pre-commit-hooks.yaml).
HOOK: dict[str, Any] = {
    "id": "faultline",
    "name": "faultline",
    "description": "Reliability risks in the lines this commit adds",
    "pass_filenames": True,
    "files": r"(\.(py|pyi|ya?ml|toml|cfg|ini|sql|[cm]?ts|tsx|[cm]?js|jsx)"
    r"|(^|/)\.(coveragerc|pylintrc|flake8))$",
    "require_serial": True,
}


def local_config(**more: Any) -> str:
    hook = {**HOOK, "entry": f"{FAULTLINE} check", "language": "system", **more}
    lines = ["repos:", "  - repo: local", "    hooks:", "      - " + _yaml_item(hook)]
    return "\n".join(lines) + "\n"


def _yaml_item(hook: dict[str, Any]) -> str:
    # JSON is YAML: one flow mapping, every value quoted as it must be.
    return json.dumps(hook)


@pytest.fixture
def repo(git_repo: GitRepo, tmp_path: Path) -> GitRepo:
    """main: app/auth.py without a risk, app/legacy.py with one committed long ago."""
    git_repo.write(".pre-commit-config.yaml", local_config())
    git_repo.write("app/auth.py", AUTH_BASE)
    git_repo.write("app/legacy.py", LEGACY)
    git_repo.write("README.md", "x\n")
    git_repo.commit("start")
    return git_repo


def pre_commit(repo: GitRepo, *args: str) -> tuple[int, str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(repo.root.parent),
        "PRE_COMMIT_HOME": str(repo.root.parent / "pre-commit-cache"),
        **GIT_ENV,
    }
    proc = subprocess.run(
        [PRE_COMMIT, *args], cwd=repo.root, env=env, capture_output=True, text=True, check=False, timeout=300
    )
    return proc.returncode, proc.stdout + proc.stderr


def reported(output: str) -> set[str]:
    """path:line CODE of every finding in the hook's output."""
    return {f"{m[0]}:{m[1]} {m[2]}" for m in re.findall(r"^(\S+?):(\d+):\d+: (FL\d+)", output, re.MULTILINE)}


def test_committed_commits_are_checked_from_ref_to_ref(repo: GitRepo) -> None:
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("app/auth.py", AUTH_RISKY)
    repo.commit("auth: a catch-all")
    repo.write("notes.md", "x\n")
    repo.commit("notes")
    code, output = pre_commit(repo, "run", "--from-ref", "main", "--to-ref", "HEAD")
    assert code == 1, output
    assert "faultline" in output and "Failed" in output
    assert reported(output) == {"app/auth.py:8 FL001"}  # not legacy.py's: it is not in the change
    # The work tree against HEAD is empty: what the hook saw before it read the refs.
    code, output = pre_commit(repo, "run", "--from-ref", "HEAD~1", "--to-ref", "HEAD")
    assert code == 0 and "(no files to check)" in output, output


def test_to_ref_is_read_from_its_commit(repo: GitRepo) -> None:
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("app/auth.py", AUTH_RISKY)
    risky = repo.commit("auth: a catch-all")
    repo.git("checkout", "-q", "main")  # pre-push of another branch than the one checked out
    repo.git("checkout", "-q", "-b", "other")
    repo.write("app/auth.py", AUTH_RISKY + "\n\n# the work tree's own version\n")
    code, output = pre_commit(repo, "run", "--from-ref", "main", "--to-ref", risky)
    assert (code, reported(output)) == (1, {"app/auth.py:8 FL001"}), output


def test_all_files_are_checked_whole(repo: GitRepo) -> None:
    code, output = pre_commit(repo, "run", "--all-files")
    assert (code, reported(output)) == (1, {"app/legacy.py:3 FL001"}), output
    code, output = pre_commit(repo, "run", "--files", "app/legacy.py")
    assert (code, reported(output)) == (1, {"app/legacy.py:3 FL001"}), output
    code, output = pre_commit(repo, "run", "--files", "app/auth.py")
    assert code == 0 and "Passed" in output, output


def test_at_commit_time_the_staged_change_only_is_checked(repo: GitRepo) -> None:
    repo.write("app/auth.py", AUTH_RISKY)
    repo.git("add", "app/auth.py")
    repo.write(
        "app/legacy.py",
        LEGACY + "\n\ndef more():\n" + "".join(f"    {line}\n" for line in LEGACY.splitlines()),
    )
    code, output = pre_commit(repo, "run")
    assert (code, reported(output)) == (1, {"app/auth.py:8 FL001"}), output  # legacy.py's edit is not staged
    code, output = pre_commit(repo, "install")
    assert code == 0, output
    proc = subprocess.run(
        ["git", "commit", "-q", "-m", "auth"],
        cwd=repo.root,
        env={**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(repo.root.parent / "pre-commit-cache")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1 and "app/auth.py:8:" in proc.stdout + proc.stderr
    assert repo.git("log", "--format=%s").split("\n")[0] == "start"  # the commit was stopped


def test_warnings_show_with_verbose_or_fail_with_fail_on_warning(repo: GitRepo) -> None:
    repo.write("app/net.py", NETWORK)
    repo.git("add", "app/net.py")
    code, output = pre_commit(repo, "run")
    assert code == 0 and "Passed" in output and "FL010" not in output, output  # hidden
    repo.write(".pre-commit-config.yaml", local_config(verbose=True))
    repo.git("add", ".pre-commit-config.yaml")
    code, output = pre_commit(repo, "run")
    assert (code, reported(output)) == (0, {"app/net.py:5 FL010"}), output
    repo.write(".pre-commit-config.yaml", local_config(args=["--fail-on", "warning"]))
    repo.git("add", ".pre-commit-config.yaml")
    code, output = pre_commit(repo, "run")
    assert (code, reported(output)) == (1, {"app/net.py:5 FL010"}), output
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "# verbose: true" in readme and "# args: [--fail-on, warning]" in readme


def test_the_published_hook_is_the_one_tested() -> None:
    published = YAML(typ="safe").load(ROOT / ".pre-commit-hooks.yaml")
    assert len(published) == 1
    hook = dict(published[0])
    assert hook.pop("entry") == "faultline check"
    assert hook.pop("language") == "python"
    assert hook == HOOK


def test_the_hook_is_given_every_file_a_language_reads() -> None:
    files = re.compile(HOOK["files"])
    for language in all_languages():
        for suffix in language.suffixes:
            assert files.search(f"src/module{suffix}"), suffix
        for name in language.filenames:
            assert files.search(name) and files.search(f"sub/{name}"), name
    assert not files.search("README.md") and not files.search("src/xpy")


def test_a_push_of_committed_work_is_stopped_by_the_pre_push_hook(repo: GitRepo, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True, env={**os.environ, **GIT_ENV})
    repo.git("remote", "add", "origin", str(remote))
    repo.git("push", "-q", "origin", "main")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("app/auth.py", AUTH_RISKY)
    repo.commit("auth: a catch-all")
    code, output = pre_commit(repo, "install", "--hook-type", "pre-push")
    assert code == 0, output
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-cache")}
    env.pop("PRE_COMMIT", None)
    proc = subprocess.run(
        ["git", "push", "-q", "origin", "feature"],
        cwd=repo.root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert reported(proc.stdout + proc.stderr) == {"app/auth.py:8 FL001"}
