"""``faultline check`` and ``faultline rules`` end to end, in real git repositories."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from faultline.app.cli.main import main
from tests.conftest import GitRepo

# The installed entry point, not ``python -m app.cli.main``: a repository under test
# with its own app/ folder would shadow an editable install's package.
FAULTLINE = str(Path(sys.executable).with_name("faultline"))

AUTH_BASE = """\
from fastapi import HTTPException
from jose import JWTError, jwt


def current_user(token: str) -> dict:
    payload = jwt.decode(token, "k", algorithms=["HS256"])
    return payload
"""

AUTH_RISKY = """\
from fastapi import HTTPException
from jose import JWTError, jwt


def current_user(token: str) -> dict:
    try:
        payload = jwt.decode(token, "k", algorithms=["HS256"])
    except (JWTError, Exception):
        raise HTTPException(status_code=401, detail="Could not validate credentials")
    return payload
"""


def run(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    monkeypatch.chdir(repo.root)
    code = main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _json(out: str) -> list[dict[str, object]]:
    findings: list[dict[str, object]] = json.loads(out)["findings"]
    return findings


@pytest.fixture
def risky_branch(git_repo: GitRepo) -> GitRepo:
    git_repo.write("app/auth.py", AUTH_BASE)
    git_repo.commit("base")
    git_repo.git("checkout", "-q", "-b", "feature")
    git_repo.write("app/auth.py", AUTH_RISKY)
    git_repo.commit("catch everything")
    return git_repo


def test_base_reports_the_branch_change(
    risky_branch: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(risky_branch, monkeypatch, capsys, "--base", "main", "--format", "json")
    assert code == 1, err
    findings = _json(out)
    assert [(f["code"], f["path"], f["line"], f["severity"]) for f in findings] == [
        ("FL001", "app/auth.py", 8, "error")
    ]
    assert findings[0]["suggestion"] == {
        "start_line": 8,
        "end_line": 8,
        "replacement": "    except JWTError:",
        "safe": False,
    }


def test_text_output_and_exit_code(
    risky_branch: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(risky_branch, monkeypatch, capsys, "--base", "main")
    assert code == 1
    assert out.startswith("app/auth.py:8:5: FL001 [broad-except] ")
    assert "except (JWTError, Exception):" in out
    assert "1 risk found (1 error)" in out


def test_uncommitted_changes_against_head(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git_repo.write("app/auth.py", AUTH_BASE)
    git_repo.commit("base")
    code, out, _ = run(git_repo, monkeypatch, capsys, "--format", "json")
    assert (code, _json(out)) == (0, [])
    git_repo.write("app/auth.py", AUTH_RISKY)
    git_repo.write("app/new_module.py", "try:\n    db.execute(q)\nexcept Exception:\n    pass\n")  # untracked
    code, out, _ = run(git_repo, monkeypatch, capsys, "--format", "json")
    assert code == 1
    assert {(f["path"], f["line"]) for f in _json(out)} == {("app/auth.py", 8), ("app/new_module.py", 3)}


def test_unchanged_lines_are_not_reported(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git_repo.write("app/auth.py", AUTH_RISKY)
    git_repo.commit("base")
    git_repo.write("app/auth.py", "import os\n" + AUTH_RISKY)  # moves the risk down, adds nothing risky
    code, out, _ = run(git_repo, monkeypatch, capsys, "--format", "json")
    assert (code, _json(out)) == (0, [])
    code, out, _ = run(git_repo, monkeypatch, capsys, "--all", "--format", "json")
    assert code == 1 and [f["line"] for f in _json(out)] == [9]


def test_fail_on_and_config(
    risky_branch: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = run(risky_branch, monkeypatch, capsys, "--base", "main", "--fail-on", "never")
    assert code == 0
    risky_branch.write(".github/faultline.yml", "rules:\n  broad-except:\n    severity: notice\n")
    code, out, _ = run(risky_branch, monkeypatch, capsys, "--base", "main", "--format", "json")
    assert code == 0 and _json(out)[0]["severity"] == "notice"
    risky_branch.write(".github/faultline.yml", "disable: [FL001]\n")
    code, out, _ = run(risky_branch, monkeypatch, capsys, "--base", "main", "--format", "json")
    assert (code, _json(out)) == (0, [])


def test_suppression_comment(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git_repo.write("app/auth.py", AUTH_BASE)
    git_repo.commit("base")
    git_repo.write(
        "app/auth.py",
        AUTH_RISKY.replace(
            "    except (JWTError, Exception):",
            "    # faultline: ignore[broad-except]\n    except (JWTError, Exception):",
        ),
    )
    code, out, _ = run(git_repo, monkeypatch, capsys, "--format", "json")
    assert (code, _json(out)) == (0, [])


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("fail_on: sometimes\n", "fail_on"),
        ("rules:\n  nonsense: {}\n", "unknown rule 'nonsense'"),
        ("rules: [\n", "invalid YAML"),
    ],
)
def test_invalid_config_is_exit_2_with_one_line(
    git_repo: GitRepo,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    config: str,
    message: str,
) -> None:
    git_repo.write(".github/faultline.yml", config)
    git_repo.commit("base")
    code, out, err = run(git_repo, monkeypatch, capsys)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_bad_files_give_parse_error_notices(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git_repo.write("app/keep.py", "x = 1\n")
    git_repo.commit("base")
    git_repo.write("app/broken.py", "def f(:\n    try:\n        pass\n    except Exception:\n        pass\n")
    latin = (
        "# -*- coding: latin-1 -*-\nname = 'caf\xe9'\ntry:\n    db.execute(q)\nexcept Exception:\n    pass\n"
    )
    git_repo.write(
        "app/latin.py",
        latin.encode("latin-1"),
    )
    git_repo.write(
        "app/garbage.py", b"x = '\xff\xfe\xfd'\ntry:\n    db.execute(q)\nexcept Exception:\n    pass\n"
    )
    code, out, err = run(git_repo, monkeypatch, capsys, "--format", "json")
    findings = {(f["path"], f["code"], f["line"]) for f in _json(out)}
    assert ("app/broken.py", "FL000", 1) in findings
    assert ("app/garbage.py", "FL000", 1) in findings
    assert ("app/latin.py", "FL001", 5) in findings  # decoded by its coding cookie and checked
    assert code == 0 and "Traceback" not in err  # notices and warnings: below the default fail level


def test_empty_diff_from_stdin(git_repo: GitRepo) -> None:
    git_repo.write("a.py", "x = 1\n")
    git_repo.commit("base")
    proc = subprocess.run(
        [FAULTLINE, "check", "--diff", "-", "--format", "json"],
        cwd=git_repo.root,
        input="",
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["findings"] == []


def test_diff_file_mode(
    risky_branch: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    diff = risky_branch.git("diff", "main...feature")
    patch = tmp_path / "change.diff"
    patch.write_text(diff)
    code, out, _ = run(risky_branch, monkeypatch, capsys, "--diff", str(patch), "--format", "json")
    assert code == 1 and [(f["code"], f["line"]) for f in _json(out)] == [("FL001", 8)]
    patch.write_text("")
    code, out, _ = run(risky_branch, monkeypatch, capsys, "--diff", str(patch), "--format", "json")
    assert (code, _json(out)) == (0, [])
    patch.write_text("not a diff at all\n")
    code, out, err = run(risky_branch, monkeypatch, capsys, "--diff", str(patch))
    assert code == 2 and "not a unified diff" in err


def test_unknown_base_is_a_usage_error(
    risky_branch: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(risky_branch, monkeypatch, capsys, "--base", "no-such-branch")
    assert code == 2 and "unknown revision 'no-such-branch'" in err


def test_sarif_and_github_formats(
    risky_branch: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(risky_branch, monkeypatch, capsys, "--base", "main", "--format", "sarif")
    assert json.loads(out)["runs"][0]["results"][0]["ruleId"] == "FL001"
    _, out, _ = run(risky_branch, monkeypatch, capsys, "--base", "main", "--format", "github")
    assert out.startswith("::error file=app/auth.py,line=8,")


def test_all_outside_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "db.py").write_text(AUTH_RISKY)
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--all", "svc", "--format", "json"]) == 1
    assert [(f["path"], f["line"]) for f in _json(capsys.readouterr().out)] == [("svc/db.py", 8)]
    assert main(["check"]) == 2
    assert "not inside a git repository" in capsys.readouterr().err


def test_rules_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    table = capsys.readouterr().out
    assert "FL001" in table and "broad-except" in table
    assert main(["rules", "FL001"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("# FL001 broad-except") and "## Why is this risky?" in page
    assert main(["rules", "FL999"]) == 2


def test_docs_and_the_readme_table_are_up_to_date() -> None:
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, str(root / "scripts" / "docs.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"{proc.stdout}{proc.stderr}: run `python scripts/docs.py`"


def test_a_stale_readme_table_is_caught(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    shutil.copytree(root / "docs", tmp_path / "docs")
    readme = (root / "README.md").read_text().replace("| FL001 |", "| FL001 (old) |")
    (tmp_path / "README.md").write_text(readme)
    command = [sys.executable, str(root / "scripts" / "docs.py"), "--root", str(tmp_path)]
    check = subprocess.run([*command, "--check"], capture_output=True, text=True, check=False)
    assert (check.returncode, check.stdout) == (1, "stale: README.md\n")
    subprocess.run(command, check=True, capture_output=True)
    assert (tmp_path / "README.md").read_text() == (root / "README.md").read_text()


def test_entry_point_runs_as_a_process(risky_branch: GitRepo) -> None:
    proc = subprocess.run(
        [FAULTLINE, "check", "--base", "main"],
        cwd=risky_branch.root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1 and "FL001" in proc.stdout and proc.stderr == ""


def test_handler_moved_into_a_new_block_is_not_new(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    body = "try:\n    db.execute(q)\nexcept Exception:\n    pass\n"
    git_repo.write(
        "app/jobs.py", "def run(db, q):\n" + "".join(f"    {line}\n" for line in body.splitlines())
    )
    git_repo.commit("base")
    wrapped = "".join(f"        {line}\n" for line in body.splitlines())
    git_repo.write("app/jobs.py", f"def run(db, q):\n    with lock:\n{wrapped}")
    _, out, _ = run(git_repo, monkeypatch, capsys, "--format", "json")
    assert _json(out) == []
    # A second copy of the same handler is new, and reported once.
    git_repo.write("app/jobs.py", f"def run(db, q):\n    with lock:\n{wrapped}{wrapped}")
    _, out, _ = run(git_repo, monkeypatch, capsys, "--format", "json")
    assert [f["line"] for f in _json(out)] == [9]


WORKFLOW = """\
name: ci
on: [push, pull_request]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: pip install -e . pytest
{marker}      - run: pytest
"""


def test_yaml_findings_suppression_and_broken_yaml(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git_repo.write("README.md", "x\n")
    git_repo.commit("base")
    git_repo.write(".github/workflows/ci.yml", WORKFLOW.format(marker=""))
    _, out, _ = run(git_repo, monkeypatch, capsys, "--format", "json")
    assert [(f["code"], f["line"]) for f in _json(out)] == [("FL003", 9)]
    git_repo.write(
        ".github/workflows/ci.yml", WORKFLOW.format(marker="      # faultline: ignore[coverage-gate]\n")
    )
    _, out, _ = run(git_repo, monkeypatch, capsys, "--format", "json")
    assert _json(out) == []
    git_repo.write(".github/workflows/ci.yml", "jobs:\n  test: [unclosed\n")
    code, out, err = run(git_repo, monkeypatch, capsys, "--format", "json")
    assert [(f["code"], f["severity"]) for f in _json(out)] == [("FL000", "notice")]
    assert "invalid YAML" in _json(out)[0]["message"]  # type: ignore[operator]
    assert code == 0 and "Traceback" not in err


SWALLOW = (
    "def {name}(db, q):\n    try:\n        return db.execute(q)\n    except Exception:\n        return None\n"
)


def test_a_new_handler_like_an_old_one_is_reported(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git_repo.write("app/store.py", SWALLOW.format(name="get_user"))
    git_repo.commit("base")
    git_repo.write(
        "app/store.py", SWALLOW.format(name="get_user") + "\n\n" + SWALLOW.format(name="get_order")
    )
    _, out, _ = run(git_repo, monkeypatch, capsys, "--format", "json")
    assert [f["line"] for f in _json(out)] == [11]


def test_fingerprint_survives_a_renamed_function_and_lines_above(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git_repo.write("app/store.py", SWALLOW.format(name="get_user"))
    _, out, _ = run(git_repo, monkeypatch, capsys, "--all", "--format", "json")
    (before,) = _json(out)
    git_repo.write("app/store.py", "import db\n\n\n" + SWALLOW.format(name="fetch_user"))
    _, out, _ = run(git_repo, monkeypatch, capsys, "--all", "--format", "json")
    (after,) = _json(out)
    assert (after["line"], after["fingerprint"]) == (7, before["fingerprint"])


def test_like_handlers_get_fingerprints_in_file_order(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Only order tells identical statements apart; the App keeps its comments'
    # identities across pushes by GitHub's positions (app/github/identities.py).
    git_repo.write("app/store.py", SWALLOW.format(name="get_user"))
    _, out, _ = run(git_repo, monkeypatch, capsys, "--all", "--format", "json")
    (before,) = _json(out)
    git_repo.write(
        "app/store.py", SWALLOW.format(name="load_order") + "\n\n" + SWALLOW.format(name="get_user")
    )
    _, out, _ = run(git_repo, monkeypatch, capsys, "--all", "--format", "json")
    after = {f["line"]: f["fingerprint"] for f in _json(out)}
    assert after[4] == before["fingerprint"] and after[11] not in (after[4], "")


def test_config_severity_equal_to_the_rules_default_still_overrides(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git_repo.write(".github/faultline.yml", "rules:\n  broad-except:\n    severity: error\n")
    git_repo.commit("base")
    git_repo.write("app/store.py", SWALLOW.format(name="get_user"))  # a warning by the rule's grading
    code, out, _ = run(git_repo, monkeypatch, capsys, "--format", "json")
    assert code == 1 and [f["severity"] for f in _json(out)] == ["error"]


def test_a_rule_configured_under_code_and_slug_is_an_error(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git_repo.write(
        ".github/faultline.yml", "rules:\n  FL001: {severity: notice}\n  broad-except: {enabled: false}\n"
    )
    git_repo.commit("base")
    code, _, err = run(git_repo, monkeypatch, capsys)
    assert code == 2 and "FL001 and broad-except are the same rule" in err


def test_form_feed_does_not_shift_lines(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git_repo.write(
        "app/auth.py",
        "\x0c\n"
        + AUTH_RISKY.replace(
            "    except (JWTError, Exception):",
            "    except (JWTError, Exception):  # faultline: ignore[fl001]",
        ),
    )
    _, out, _ = run(git_repo, monkeypatch, capsys, "--all", "--format", "json")
    assert _json(out) == []  # the suppression on line 9 is found, in any case
    git_repo.write("app/auth.py", "x = 1  # \x0c\n" + AUTH_RISKY)
    _, out, _ = run(git_repo, monkeypatch, capsys, "--all", "--format", "json")
    (finding,) = _json(out)
    assert finding["line"] == 9
    assert finding["suggestion"] == {
        "start_line": 9,
        "end_line": 9,
        "replacement": "    except JWTError:",
        "safe": False,
    }


@pytest.mark.parametrize("comment", ["# faultline: ignore [broad-except]", "# FAULTLINE: ignore[Fl001]"])
def test_suppression_spelling(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], comment: str
) -> None:
    git_repo.write(
        "app/auth.py",
        AUTH_RISKY.replace(
            "    except (JWTError, Exception):", f"    except (JWTError, Exception):  {comment}"
        ),
    )
    _, out, _ = run(git_repo, monkeypatch, capsys, "--all", "--format", "json")
    assert _json(out) == []


def test_a_suppression_naming_another_rule_does_not_silence_this_one(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git_repo.write(
        "app/auth.py",
        AUTH_RISKY.replace(
            "    except (JWTError, Exception):",
            "    except (JWTError, Exception):  # faultline: ignore [FL004]",
        ),
    )
    _, out, _ = run(git_repo, monkeypatch, capsys, "--all", "--format", "json")
    assert [f["code"] for f in _json(out)] == ["FL001"]


def test_non_ascii_paths(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git_repo.write("café/auth.py", AUTH_BASE)
    git_repo.commit("base")
    git_repo.write("café/auth.py", AUTH_RISKY)
    _, out, _ = run(git_repo, monkeypatch, capsys, "--format", "json")
    assert [(f["path"], f["line"]) for f in _json(out)] == [("café/auth.py", 8)]
    diff = git_repo.git("diff", "HEAD")  # quoted by git: "a/caf\303\251/auth.py"
    assert '"a/caf\\303\\251/auth.py"' in diff
    (git_repo.root / "change.diff").write_text(diff.replace("\n", "\r\n"))  # and saved with CRLF
    _, out, _ = run(git_repo, monkeypatch, capsys, "--diff", "change.diff", "--format", "json")
    assert [(f["path"], f["line"]) for f in _json(out)] == [("café/auth.py", 8)]


@pytest.mark.parametrize(
    "args", [["--diff", "no-such.patch"], ["--diff", "."], ["--all", "-o", "no/such/dir/out.txt"]]
)
def test_file_errors_are_usage_errors(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, _, err = run(git_repo, monkeypatch, capsys, *args)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err


def test_pre_commit_skips_untracked_files_and_all_skips_symlinks(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    git_repo.write("README.md", "x\n")
    git_repo.commit("base")
    git_repo.write("scratch.py", AUTH_RISKY)  # untracked: pre-commit does not stash it, nor commit it
    monkeypatch.setenv("PRE_COMMIT", "1")
    _, out, _ = run(git_repo, monkeypatch, capsys, "--format", "json")
    assert _json(out) == []
    monkeypatch.delenv("PRE_COMMIT")
    outside = tmp_path / "outside.py"
    outside.write_text(AUTH_RISKY)
    (git_repo.root / "linked.py").symlink_to(outside)
    _, out, _ = run(git_repo, monkeypatch, capsys, "--all", "--format", "json")
    assert [f["path"] for f in _json(out)] == ["scratch.py"]


def test_diff_of_a_branch_not_checked_out_is_refused(
    risky_branch: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (risky_branch.root / "change.diff").write_text(risky_branch.git("diff", "main...feature"))
    risky_branch.git("checkout", "-q", "main")
    code, out, err = run(risky_branch, monkeypatch, capsys, "--diff", "change.diff")
    assert (code, out) == (2, "")
    assert "app/auth.py line 6 is not what the diff says" in err


def _loose_objects(repo: GitRepo) -> set[str]:
    folder = repo.root / ".git" / "objects"
    return {f"{p.parent.name}{p.name}" for p in folder.glob("??/*")}


EMPTY_BLOB = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # what an intent-to-add entry points at


def test_a_file_moved_with_plain_mv_is_a_rename(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git_repo.write("app/auth.py", AUTH_RISKY)
    git_repo.commit("base")
    (git_repo.root / "app" / "auth.py").rename(git_repo.root / "app" / "login.py")  # not staged
    objects_before = _loose_objects(git_repo)
    code, out, _ = run(git_repo, monkeypatch, capsys, "--format", "json")
    assert (code, _json(out)) == (0, [])
    assert git_repo.git("status", "--porcelain") == " D app/auth.py\n?? app/login.py\n"  # index untouched
    assert _loose_objects(git_repo) - objects_before <= {EMPTY_BLOB}  # no copy of the user's files
