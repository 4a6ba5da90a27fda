"""``faultline check --summary FILE --sarif FILE``: the App's check-run summary and SARIF
written in the same run as the report; and ``--base`` on a shallow clone."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from faultline.app.cli.main import main
from tests.conftest import GIT_ENV, GitRepo
from tests.test_cli import AUTH_BASE, AUTH_RISKY
from tests.test_layout import SERVER_STACK, is_under, loaded_after

LEGACY = "try:\n    db.execute(q)\nexcept Exception:\n    raise HTTPException(401)\n"


@pytest.fixture
def branch(git_repo: GitRepo) -> GitRepo:
    git_repo.write("app/auth.py", AUTH_BASE)
    git_repo.write("app/legacy.py", LEGACY)
    git_repo.commit("start")
    git_repo.git("checkout", "-q", "-b", "feature")
    git_repo.write("app/auth.py", AUTH_RISKY)
    git_repo.commit("auth")
    return git_repo


def test_the_summary_and_sarif_come_from_the_same_run(
    branch: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(branch.root)
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.example")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/shop")
    summary, sarif = tmp_path / "summary.md", tmp_path / "out.sarif"
    summary.write_text("before\n")
    argv = ["check", "--base", "main", "--format", "json", "--summary", str(summary), "--sarif", str(sarif)]
    assert main([*argv, "--fail-on", "warning"]) == 1
    report = json.loads(capsys.readouterr().out)
    head = branch.git("rev-parse", "HEAD").strip()
    text = summary.read_text()
    assert text.startswith("before\n## Faultline: 1 risk found (1 error)\n\nFaultline checked 1 file in ")
    assert f"`{head[:7]}`." in text
    assert "This check fails on a finding of severity **warning** or above (`--fail-on warning`)." in text
    assert f"[`app/auth.py` line 8](https://github.example/acme/shop/blob/{head}/app/auth.py#L8)" in text
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == [f["code"] for f in report["findings"]] == ["FL001"]
    # Appended, as $GITHUB_STEP_SUMMARY expects: a second run adds its own.
    assert main(argv) == 1
    assert summary.read_text().count("## Faultline: ") == 2


def test_the_summary_of_uncommitted_work_names_no_commit(
    branch: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(branch.root)
    branch.write("app/new.py", LEGACY)
    summary = tmp_path / "summary.md"
    assert main(["check", "--summary", str(summary), "--fail-on", "never"]) == 0
    capsys.readouterr()
    text = summary.read_text()
    assert "Faultline checked 1 file.\n" in text
    assert "This check does not fail on findings (`--fail-on never`)." in text
    assert "### Findings\n\n- **error** FL001 broad-except, `app/new.py` line 3: " in text


def test_the_summary_needs_none_of_the_apps_stack(branch: GitRepo, tmp_path: Path) -> None:
    code = (
        "import contextlib, io\nfrom faultline.app.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main(['check', '--base', 'main', '--summary', {str(tmp_path / 's.md')!r}])"
    )
    loaded = loaded_after(code, branch.root)
    assert "faultline.app.render.check_run" in loaded
    assert not {m for m in loaded if is_under(m, (*SERVER_STACK, "githubkit_schemas"))}
    assert (tmp_path / "s.md").read_text().startswith("## Faultline: 1 risk found")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**GIT_ENV, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_base_on_a_shallow_clone_says_to_fetch_more_history(
    branch: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for number in range(2):
        branch.write(f"notes/{number}.md", "x\n")
        branch.commit("notes")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", "--no-single-branch", branch.root.as_uri(), str(clone))
    monkeypatch.chdir(clone)
    assert main(["check", "--base", "origin/main"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "faultline: --base: this shallow clone holds no commit common to 'origin/main' and HEAD: fetch more "
        "history (`git fetch --unshallow`, or `fetch-depth: 0` on actions/checkout)\n"
    )
    assert main(["check", "--base", "origin/release"]) == 2
    assert "unknown revision 'origin/release': this clone is shallow; " in capsys.readouterr().err
    git(clone, "fetch", "-q", "--unshallow")
    assert main(["check", "--base", "origin/main", "--format", "json"]) == 1
