"""``faultline fix`` and ``check --fix`` in real git repositories: what is fixed, what is
left alone and why, ``--diff``, and the exit codes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from faultline.analyzers.core import fixes
from faultline.analyzers.rules.network.call_without_timeout import CallWithoutTimeout
from faultline.app.cli import fix as fix_module
from faultline.app.cli.common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from faultline.app.cli.main import main
from tests.conftest import GIT_ENV, GitRepo
from tests.test_cli import FAULTLINE

# Two safe fixes (FL006's algorithms=, FL009's from-chaining, which needs ``as exc``) and
# one that is not safe (FL010's timeout): the error (FL006) is fixed, the warning left.
RISKY = """\
import jwt
import requests


def claims(token):
    return jwt.decode(token, KEY, algorithm="HS256")  # keep this comment


def index(document):
    try:
        search.add(document)
    except SearchError:
        raise HTTPException(status_code=500, detail="Failed to index document")


def profile(url):
    return requests.get(url).json()
"""
FIXED = (
    RISKY.replace('algorithm="HS256"', 'algorithms=["HS256"]')
    .replace("except SearchError:", "except SearchError as exc:")
    .replace('"Failed to index document")', '"Failed to index document") from exc')
)
SUMMARY = "Fixed 2 findings in 1 file (1 left: not safe to fix; --unsafe-fixes applies them)\n"


def fix(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    monkeypatch.chdir(repo.root)
    code = main(["fix", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_fix_applies_the_safe_fixes_of_the_work_tree_and_keeps_the_rest(
    based: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    based.write("app/api.py", RISKY)
    code, out, err = fix(based, monkeypatch, capsys)
    assert (code, out, err) == (EXIT_OK, SUMMARY, "")
    assert (based.root / "app/api.py").read_text() == FIXED
    assert fix(based, monkeypatch, capsys) == (
        EXIT_OK,
        "No safe fix to apply (1 left: not safe to fix; --unsafe-fixes applies them)\n",
        "",
    )


def test_unsafe_fixes_and_the_exit_code_of_what_is_left(
    based: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    based.write("app/api.py", RISKY)
    code, out, _ = fix(based, monkeypatch, capsys, "--fail-on", "warning")
    assert (code, out) == (EXIT_FINDINGS, SUMMARY)  # the timeout's warning is left
    code, out, _ = fix(based, monkeypatch, capsys, "--unsafe-fixes", "--fail-on", "warning")
    assert (code, out) == (EXIT_OK, "Fixed 1 finding in 1 file\n")
    assert "requests.get(url, timeout=10).json()" in (based.root / "app/api.py").read_text()


def test_committed_code_is_left_alone_unless_all_is_given(
    based: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    based.write("app/old.py", RISKY)
    based.commit("old code")
    based.write("app/new.py", RISKY)
    fix(based, monkeypatch, capsys)
    assert (based.root / "app/old.py").read_text() == RISKY
    assert (based.root / "app/new.py").read_text() == FIXED
    code, out, _ = fix(based, monkeypatch, capsys, "--all", "app/old.py")
    assert (code, out) == (EXIT_OK, SUMMARY)
    assert (based.root / "app/old.py").read_text() == FIXED


def test_base_fixes_the_branch_in_the_work_tree(
    based: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    based.git("checkout", "-q", "-b", "feature")
    based.write("app/api.py", RISKY)
    based.commit("risky")
    assert fix(based, monkeypatch, capsys)[1].startswith("No safe fix")  # nothing uncommitted
    code, out, _ = fix(based, monkeypatch, capsys, "--base", "main")
    assert (code, out) == (EXIT_OK, SUMMARY)
    assert (based.root / "app/api.py").read_text() == FIXED


def test_diff_prints_what_fix_would_write_and_writes_nothing(
    based: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    based.write("app/api.py", RISKY)
    based.commit("risky")
    code, out, err = fix(based, monkeypatch, capsys, "--diff", "--all")
    assert code == EXIT_FINDINGS
    assert err == "Would fix 2 findings in 1 file (1 left: not safe to fix; --unsafe-fixes applies them)\n"
    assert out.startswith("--- a/app/api.py\n+++ b/app/api.py\n@@ ")
    assert (based.root / "app/api.py").read_text() == RISKY
    subprocess.run(["git", "apply"], cwd=based.root, input=out.encode(), check=True)
    assert (based.root / "app/api.py").read_text() == FIXED
    assert fix(based, monkeypatch, capsys, "--diff", "--all")[:2] == (EXIT_OK, "")


def test_check_fix_fixes_then_reports_what_is_left(
    based: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    based.write("app/api.py", RISKY)
    monkeypatch.chdir(based.root)
    code = main(["check", "--fix", "--format", "json", "--fail-on", "warning"])
    out, err = capsys.readouterr()
    assert code == EXIT_FINDINGS
    assert [finding["code"] for finding in json.loads(out)["findings"]] == ["FL010"]
    assert err == f"faultline: {SUMMARY}"
    assert (based.root / "app/api.py").read_text() == FIXED


def test_check_fix_refuses_what_it_cannot_write(
    based: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(based.root)
    based.write("change.diff", "")
    for args in (["--base", "main"], ["--diff", "change.diff"]):
        assert main(["check", "--fix", *args]) == EXIT_USAGE
        assert capsys.readouterr().err == f"faultline: {fix_module.FIX_NEEDS_WORK_TREE}\n"
    assert main(["check", "--fix", "--base", "main", "--work-tree"]) == EXIT_OK


def test_crlf_and_bom_are_kept_and_another_encoding_is_left_alone(
    based: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    crlf = b"\xef\xbb\xbf" + RISKY.replace("\n", "\r\n").encode()
    based.write("app/crlf.py", crlf)
    latin = b"# -*- coding: latin-1 -*-\n# caf\xe9\n" + RISKY.encode()
    based.write("app/latin.py", latin)
    code, out, err = fix(based, monkeypatch, capsys)
    assert err == f"faultline: app/latin.py: {fixes.NOT_UTF8}\n"
    assert out == SUMMARY.replace("1 left", "2 left")  # the two timeouts; the latin-1 file has its line
    assert (based.root / "app/crlf.py").read_bytes() == b"\xef\xbb\xbf" + FIXED.replace("\n", "\r\n").encode()
    assert (based.root / "app/latin.py").read_bytes() == latin
    assert code == EXIT_FINDINGS  # the latin-1 file's FL006 error is still there


def test_a_read_only_file_is_left_alone_but_diff_shows_its_fixes(
    based: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = based.write("app/api.py", RISKY)
    target.chmod(stat.S_IRUSR | stat.S_IRGRP)
    code, out, err = fix(based, monkeypatch, capsys)
    assert err == f"faultline: app/api.py: {fix_module.READ_ONLY}\n"
    assert out == "No safe fix to apply (1 left: not safe to fix; --unsafe-fixes applies them)\n"
    assert code == EXIT_FINDINGS and target.read_text() == RISKY
    assert fix(based, monkeypatch, capsys, "--diff")[0] == EXIT_FINDINGS


def test_a_link_to_a_file_outside_the_repository_is_left_alone(
    based: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text(RISKY)
    (based.root / "app").mkdir()
    (based.root / "app/api.py").symlink_to(outside)
    (based.root / "lib").symlink_to(tmp_path, target_is_directory=True)
    # git sees links, not what they point to: nothing to check, nothing to fix.
    assert fix(based, monkeypatch, capsys) == (EXIT_OK, "No safe fix to apply\n", "")
    assert outside.read_text() == RISKY
    # Should a finding ever land behind a link, the file is not written through it.
    assert fix_module._unfit(based.root, based.root / "lib/outside.py", write=True) == fix_module.OUTSIDE
    assert fix_module._unfit(based.root, based.root / "app/api.py", write=True) == fix_module.OUTSIDE
    assert fix(based, monkeypatch, capsys, str(tmp_path))[0] == EXIT_USAGE  # a path outside: refused


def test_a_file_changed_while_it_is_fixed_is_left_alone(
    based: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = based.write("app/api.py", RISKY)
    real_fix_file = fix_module.fix_file

    def edited_meanwhile(*args: object, **kwargs: object) -> fixes.FileFix:
        result = real_fix_file(*args, **kwargs)  # type: ignore[arg-type]
        target.write_text(RISKY + "# edited\n")
        return result

    monkeypatch.setattr(fix_module, "fix_file", edited_meanwhile)
    code, out, err = fix(based, monkeypatch, capsys)
    assert err == f"faultline: app/api.py: {fix_module.CHANGED_ON_DISK}\n"
    assert out.startswith("No safe fix to apply") and target.read_text() == RISKY + "# edited\n"
    assert code == EXIT_FINDINGS  # FL006's error is not fixed


def test_fix_outside_git_needs_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "api.py").write_text(RISKY)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert main(["fix"]) == EXIT_USAGE
    assert capsys.readouterr().err == f"faultline: {fix_module.NOT_IN_GIT}\n"
    assert main(["fix", "--all"]) == EXIT_OK
    assert (tmp_path / "api.py").read_text() == FIXED


def test_the_installed_command_fixes_and_explains_itself(based: GitRepo) -> None:
    based.write("app/api.py", RISKY)
    env = {**os.environ, **GIT_ENV}
    proc = subprocess.run(
        [FAULTLINE, "fix"], check=False, cwd=based.root, env=env, capture_output=True, text=True
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (EXIT_OK, SUMMARY, "")
    helped = subprocess.run([FAULTLINE, "fix", "--help"], capture_output=True, text=True, check=True)
    assert "--unsafe-fixes" in helped.stdout and "--diff" in helped.stdout


def test_a_rule_that_raises_is_said_and_the_other_fixes_made(
    based: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(CallWithoutTimeout, "check", broken)
    based.write("app/api.py", RISKY)
    code, out, err = fix(based, monkeypatch, capsys)
    assert err == "faultline: FL010 call-without-timeout failed on app/api.py: RuntimeError('boom')\n"
    assert (code, out) == (EXIT_OK, "Fixed 2 findings in 1 file\n")
    assert (based.root / "app/api.py").read_text() == FIXED


def test_check_fix_applies_unsafe_fixes_only_when_asked(
    based: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    based.write("app/api.py", RISKY)
    monkeypatch.chdir(based.root)
    assert main(["check", "--unsafe-fixes"]) == EXIT_USAGE
    assert capsys.readouterr().err == f"faultline: {fix_module.UNSAFE_WITHOUT_FIX}\n"
    assert main(["check", "--fix", "--unsafe-fixes", "--fail-on", "notice"]) == EXIT_OK
    assert capsys.readouterr().err == "faultline: Fixed 3 findings in 1 file\n"
    assert "requests.get(url, timeout=10).json()" in (based.root / "app/api.py").read_text()
