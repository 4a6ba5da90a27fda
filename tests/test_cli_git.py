"""``faultline check`` on what real repositories hold: odd file names, damaged
objects, committed work (``--base``) against the work tree, and its own failures."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from faultline.app.cli import check as cli
from faultline.app.cli.main import EXIT_CRASH, main
from tests.conftest import GitRepo
from tests.test_cli import AUTH_BASE, AUTH_RISKY, FAULTLINE

SWALLOW = "try:\n    db.execute(q)\nexcept Exception:\n    raise HTTPException(401)\n"
ODD_NAMES = ["my file.py", "two  spaces .py", "tab\there.py", "new\nline.py", 'quo"te.py', "back\\slash.py"]
LOST = "# lost\n"
NOT_UTF8 = os.fsdecode(b"caf\xe9.py")  # Latin-1 bytes: held as a surrogate escape


def check(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, list[dict[str, str]]], str]:
    monkeypatch.chdir(repo.root)
    code = main(["check", "--format", "json", *args])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def places(document: dict[str, list[dict[str, str]]]) -> set[tuple[str, str]]:
    return {(finding["path"], finding["code"]) for finding in document["findings"]}


# Line splitting.


def test_form_feed_above_a_hunk_does_not_make_a_moved_handler_new(
    based: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # --diff rebuilds the base from the diff: a form feed line above the hunk must not shift it.
    body = "try:\n    db.execute(q)\nexcept Exception:\n    pass\n"
    indented = "".join(f"    {line}\n" for line in body.splitlines())
    based.write("app/jobs.py", f"import db\n\x0c\n\ndef run(db, q):\n{indented}")
    based.commit("jobs")
    wrapped = "".join(f"        {line}\n" for line in body.splitlines())
    based.write("app/jobs.py", f"import db\n\x0c\n\ndef run(db, q):\n    with lock:\n{wrapped}")
    (based.root / "change.diff").write_bytes(based.git("diff").encode())
    for args in ([], ["--diff", "change.diff"]):
        _, document, _ = check(based, monkeypatch, capsys, *args)
        assert document["findings"] == [], args


# File names git writes quoted, or with spaces.


@pytest.mark.parametrize("name", [*ODD_NAMES, NOT_UTF8])
def test_odd_file_names_are_checked_untracked_modified_and_committed(
    based: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    based.write(name, AUTH_RISKY)  # untracked: its base is asked of git, and is not there
    code, document, err = check(based, monkeypatch, capsys)
    assert (code, places(document), err) == (1, {(name, "FL001")}, "")
    based.write(name, AUTH_BASE)
    based.commit("add it")
    based.write(name, AUTH_RISKY)  # modified in the work tree
    code, document, _ = check(based, monkeypatch, capsys)
    assert (code, places(document)) == (1, {(name, "FL001")})
    based.commit("change it")
    code, document, _ = check(based, monkeypatch, capsys, "--base", "HEAD~1")  # read from git
    assert (code, places(document)) == (1, {(name, "FL001")})
    assert [finding["line"] for finding in document["findings"]] == [8]


@pytest.mark.parametrize("committed", [False, True])
def test_a_repository_of_its_own_inside_the_work_tree_is_not_part_of_the_change(
    based: GitRepo,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    committed: bool,
) -> None:
    # A clone in a subfolder (a dependency, a scratch checkout): git lists it as "vendor/lib/".
    inner = GitRepo(based.root / "vendor" / "lib")
    inner.write("lib.py", AUTH_RISKY)
    if committed:
        inner.commit("its own history")
    based.write("app/auth.py", AUTH_RISKY)
    code, document, err = check(based, monkeypatch, capsys)
    assert (code, places(document), err) == (1, {("app/auth.py", "FL001")}, "")


def test_a_new_file_with_a_space_in_its_name_as_a_process(based: GitRepo) -> None:
    based.write("my file.py", AUTH_RISKY)
    proc = subprocess.run([FAULTLINE, "check"], cwd=based.root, capture_output=True, text=True, check=False)
    assert (proc.returncode, proc.stderr) == (1, "")
    assert proc.stdout.startswith("my file.py:8:5: FL001 [broad-except]")


# Crashes.


def test_a_crash_exits_3_with_one_line_and_the_traceback_on_demand(
    based: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("something Faultline did not expect")

    monkeypatch.setattr(cli, "_workspace", broken)
    monkeypatch.chdir(based.root)
    assert main(["check"]) == EXIT_CRASH == 3
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "faultline: internal error: RuntimeError: something Faultline did not expect"
        " (the traceback: --debug or FAULTLINE_DEBUG=1)\n"
    )
    for args, env in ((["check", "--debug"], None), (["--debug", "check"], None), (["check"], "1")):
        if env:
            monkeypatch.setenv("FAULTLINE_DEBUG", env)
        assert main(args) == 3
        err = capsys.readouterr().err
        assert err.startswith("Traceback (most recent call last):") and "in broken" in err, args
        assert err.endswith("faultline: internal error: RuntimeError: something Faultline did not expect\n")


# Objects git cannot read.


def _object_file(repo: GitRepo, rev_path: str) -> Path:
    oid = repo.git("rev-parse", rev_path).strip()
    return repo.root / ".git" / "objects" / oid[:2] / oid[2:]


def _damage(repo: GitRepo, rev_path: str, how: str) -> str:
    found = _object_file(repo, rev_path)
    if how == "deleted":
        found.unlink()
    else:
        found.chmod(0o644)
        found.write_bytes(b"not a zlib stream")
    return found.parent.name + found.name


@pytest.mark.parametrize("how", ["deleted", "corrupted"])
def test_a_file_whose_base_git_cannot_read_is_skipped_and_the_rest_checked(
    based: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    based.write("app/lost.py", LOST + AUTH_BASE)  # its own blob: not shared with auth.py
    based.write("app/auth.py", AUTH_BASE)
    based.commit("two files")
    oid = _damage(based, "HEAD:app/lost.py", how)
    based.write("app/lost.py", LOST + AUTH_RISKY)
    based.write("app/auth.py", AUTH_RISKY)
    code, document, err = check(based, monkeypatch, capsys)
    assert (code, places(document)) == (1, {("app/auth.py", "FL001")})
    reason = f"git cannot read it: object {oid[:12]} is missing or damaged"
    assert document["skipped"] == [{"path": "app/lost.py", "reason": reason}]
    assert err == ""  # the JSON says it; SARIF cannot, so then stderr does
    monkeypatch.chdir(based.root)
    assert main(["check", "--format", "sarif"]) == 1
    assert capsys.readouterr().err == f"faultline: skipped app/lost.py: {reason}\n"


def test_a_commit_git_cannot_read_part_of_is_checked_for_the_rest(
    based: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    based.git("checkout", "-q", "-b", "feature")
    based.write("app/lost.py", LOST + AUTH_RISKY)
    based.write("app/auth.py", AUTH_RISKY)
    based.commit("two risky files")
    _damage(based, "HEAD:app/lost.py", "deleted")
    code, document, _ = check(based, monkeypatch, capsys, "--base", "main")
    assert (code, places(document)) == (1, {("app/auth.py", "FL001")})
    assert [entry["path"] for entry in document["skipped"]] == ["app/lost.py"]
    _damage(based, "HEAD:app/auth.py", "corrupted")  # a second one, found by git's own message
    code, document, _ = check(based, monkeypatch, capsys, "--base", "main")
    assert (code, document["findings"]) == (0, [])
    assert [entry["path"] for entry in document["skipped"]] == ["app/auth.py", "app/lost.py"]


def test_a_damaged_tree_is_still_a_one_line_error(
    based: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    based.git("checkout", "-q", "-b", "feature")
    based.write("app/auth.py", AUTH_RISKY)
    based.commit("a folder")
    _object_file(based, "HEAD:app").unlink()  # no file to leave out: the folder is gone
    monkeypatch.chdir(based.root)
    assert main(["check", "--base", "main"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("faultline: fatal:") and err.count("\n") == 1


# --base: committed work only, as the App sees a pull request; --work-tree: all of it.


@pytest.fixture
def branch_with_work(based: GitRepo) -> GitRepo:
    based.write("app/auth.py", AUTH_BASE)
    based.write("app/store.py", AUTH_BASE)
    based.commit("code")
    based.git("checkout", "-q", "-b", "feature")
    based.write("app/auth.py", AUTH_RISKY)
    based.commit("catch everything")
    based.git("checkout", "-q", "main")
    based.write("app/other.py", "x = 1\n")  # main moves on: the merge base stays behind
    based.commit("main moves on")
    based.git("checkout", "-q", "feature")
    based.write("app/store.py", AUTH_RISKY)  # not committed
    based.write("app/scratch.py", SWALLOW)  # not even added
    return based


def test_base_checks_the_commits_only(
    branch_with_work: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, document, _ = check(branch_with_work, monkeypatch, capsys, "--base", "main")
    assert places(document) == {("app/auth.py", "FL001")}
    # The committed version is checked, whatever the work tree holds now.
    branch_with_work.write("app/auth.py", AUTH_BASE)
    _, document, _ = check(branch_with_work, monkeypatch, capsys, "--base", "main")
    assert places(document) == {("app/auth.py", "FL001")}
    assert [finding["line"] for finding in document["findings"]] == [8]
    monkeypatch.chdir(branch_with_work.root)
    assert main(["check", "--base", "main"]) == 1
    assert capsys.readouterr().out.split("\n")[1] == "    except (JWTError, Exception):"  # the line committed


def test_work_tree_flag_and_the_default_include_uncommitted_work(
    branch_with_work: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    everything = {("app/auth.py", "FL001"), ("app/store.py", "FL001"), ("app/scratch.py", "FL001")}
    _, document, _ = check(branch_with_work, monkeypatch, capsys, "--base", "main", "--work-tree")
    assert places(document) == everything
    _, document, _ = check(branch_with_work, monkeypatch, capsys)  # against HEAD: not the commit
    assert places(document) == everything - {("app/auth.py", "FL001")}
    _, document, _ = check(branch_with_work, monkeypatch, capsys, "--work-tree")
    assert places(document) == everything - {("app/auth.py", "FL001")}


def test_base_agrees_with_a_diff_of_the_branch(
    branch_with_work: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    branch_with_work.git("stash", "-q")
    (branch_with_work.root.parent / "pr.diff").write_text(branch_with_work.git("diff", "main...feature"))
    _, from_diff, _ = check(branch_with_work, monkeypatch, capsys, "--diff", "../pr.diff")
    branch_with_work.git("stash", "pop", "-q")
    _, from_base, _ = check(branch_with_work, monkeypatch, capsys, "--base", "main")
    assert from_base["findings"] == from_diff["findings"] != []


@pytest.mark.parametrize("other", [["--all"], ["--diff", "-"]])
def test_work_tree_with_all_or_diff_is_a_usage_error(
    based: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], other: list[str]
) -> None:
    monkeypatch.chdir(based.root)
    assert main(["check", "--work-tree", *other]) == 2
    assert "--work-tree goes with --base" in capsys.readouterr().err
