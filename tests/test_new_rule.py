"""``scripts/new_rule.py`` on a copy of the repository: a new rule gets the next code, its
skeleton, test file, docs page and README row, and its INVALID example fails until the rule
is written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from faultline.analyzers.core.registry import all_rules

ROOT = Path(__file__).resolve().parent.parent
COPIED = ("analyzers", "app", "faultline", "scripts", "docs", "tests", "README.md", "pyproject.toml")


def copy_of_repository(target: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", ".mypy_cache")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy(source, target / name)
    return target


def run(root: Path, *args: str, path: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root) if path else ""}
    return subprocess.run(
        [sys.executable, *args], cwd=root, env=env, capture_output=True, text=True, check=False, timeout=300
    )


def test_new_rule_writes_a_rule_that_the_suite_picks_up(tmp_path: Path) -> None:
    root = copy_of_repository(tmp_path / "repo")
    made = run(
        root, "scripts/new_rule.py", "timeouts", "task-without-timeout", "--summary", "A task has no timeout"
    )
    assert made.returncode == 0, made.stderr
    new_code = f"FL{max(int(rule.code[2:]) for rule in all_rules()) + 1:03d}"
    module = root / "analyzers" / "rules" / "timeouts" / "task_without_timeout.py"
    assert f'code = "{new_code}"' in module.read_text()
    assert (root / "analyzers" / "rules" / "timeouts" / "__init__.py").is_file()
    assert (root / "tests" / "analyzers" / "rules" / "timeouts" / "test_task_without_timeout.py").is_file()
    assert (root / "docs" / "rules" / "task-without-timeout.md").read_text().startswith(f"# {new_code}")
    assert f"| {new_code} | [task-without-timeout]" in (root / "README.md").read_text()
    assert run(root, "scripts/docs.py", "--check").returncode == 0
    # Run as the README says, with whatever `faultline` the venv has: the checkout's own rules count.
    assert run(root, "scripts/docs.py", "--check", path=False).returncode == 0

    examples = run(
        root, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/analyzers/rules/test_rule_examples.py"
    )
    assert examples.returncode == 1
    failed = [line for line in examples.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 2 and all(f"test_invalid_example[{new_code}" in line for line in failed)


def test_new_rule_refuses_a_rule_that_exists(tmp_path: Path) -> None:
    root = copy_of_repository(tmp_path / "repo")
    assert run(root, "scripts/new_rule.py", "errors", "broad-except").returncode != 0
    assert run(root, "scripts/new_rule.py", "errors", "Not_A_Slug").returncode == 2
