"""``faultline completion bash|zsh|fish``: scripts the shells accept, that complete what the
parser has (its commands, options and values), run in the shells themselves where they exist."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from faultline.app.cli.completion import script
from faultline.app.cli.main import _parser, main
from tests.conftest import GitRepo

RULES = ("FL001", "broad-except", "FL010", "call-without-timeout", "FL012", "query-in-loop")


def generated(shell: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["completion", shell]) == 0
    return capsys.readouterr().out


def bash_complete(path: Path, *words: str, cwd: Path | None = None) -> list[str]:
    """What the script offers for the last of ``words``, as bash's programmable completion asks."""
    quoted = " ".join(f"'{word}'" for word in words)
    program = (
        f"source '{path}'\nCOMP_WORDS=({quoted})\nCOMP_CWORD={len(words) - 1}\n"
        '_faultline\nprintf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    proc = subprocess.run(["bash", "-c", program], cwd=cwd, capture_output=True, text=True, check=True)
    return [line for line in proc.stdout.splitlines() if line]


@pytest.fixture
def bash_script(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "faultline.bash"
    path.write_text(generated("bash", capsys))
    return path


def test_bash_script_is_valid(bash_script: Path) -> None:
    subprocess.run(["bash", "-n", str(bash_script)], check=True)


def test_bash_completes_commands_options_and_values(bash_script: Path, tmp_path: Path) -> None:
    assert bash_complete(bash_script, "faultline", "c") == ["check", "config", "completion"]
    assert bash_complete(bash_script, "faultline", "check", "--f") == ["--format", "--fail-on", "--fix"]
    assert bash_complete(bash_script, "faultline", "check", "--format", "") == [
        "text",
        "json",
        "sarif",
        "github",
    ]
    assert bash_complete(bash_script, "faultline", "--debug", "check", "--color", "n") == ["never"]
    assert bash_complete(bash_script, "faultline", "config", "--format", "") == ["text", "json"]
    assert bash_complete(bash_script, "faultline", "completion", "") == ["bash", "zsh", "fish"]
    assert "FL001" in bash_complete(bash_script, "faultline", "rules", "FL0")
    assert "broad-except" in bash_complete(bash_script, "faultline", "rules", "b")
    (tmp_path / "change.diff").write_text("")
    assert bash_complete(bash_script, "faultline", "check", "--diff", "chan", cwd=tmp_path) == ["change.diff"]


def test_bash_completes_a_list_of_rules_after_its_comma(bash_script: Path) -> None:
    offered = bash_complete(bash_script, "faultline", "check", "--select", "broad-except,FL01")
    assert offered and all(word.startswith("broad-except,FL01") for word in offered)
    assert "broad-except,FL012" in offered


def test_bash_completes_base_with_the_repositorys_refs(bash_script: Path, git_repo: GitRepo) -> None:
    git_repo.commit("base")
    git_repo.git("branch", "feature/login")
    assert bash_complete(bash_script, "faultline", "check", "--base", "fea", cwd=git_repo.root) == [
        "feature/login"
    ]


def _options(parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    """Each command's option strings, from the parser itself."""
    found: dict[str, list[str]] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[name] = [option for each in sub._actions for option in each.option_strings]
    return found


def test_every_command_and_option_is_in_every_script(capsys: pytest.CaptureFixture[str]) -> None:
    options = _options(_parser())
    for shell in ("bash", "zsh", "fish"):
        text = generated(shell, capsys)
        for command, strings in options.items():
            assert command in text, (shell, command)
            for option in strings:
                spelled = option
                if shell == "fish":
                    spelled = f"-l {option[2:]}" if option.startswith("--") else f"-s {option[1:]}"
                assert spelled in text, (shell, command, option)


def test_a_new_option_reaches_the_scripts() -> None:
    parser = argparse.ArgumentParser(prog="faultline")
    commands = parser.add_subparsers(dest="command")
    lint = commands.add_parser("lint", help="a command [with brackets]: and a colon")
    lint.add_argument("--level", choices=("low", "high"), help="how loud it's said")
    lint.add_argument("--rules", metavar="RULES", action="append", help="rules")
    for shell in ("bash", "zsh", "fish"):
        text = script(shell, parser, RULES)
        assert "lint" in text and "low high" in text, shell
    assert "'*--rules[rules]:RULES:_sequence compadd - FL001" in script("zsh", parser, RULES)
    assert "how loud it\\'s said" in script("fish", parser, RULES)


def _absent(shell: str) -> bool:
    # scripts/test.sh installs both shells, so in CI a missing one is a failure, not a skip.
    return shutil.which(shell) is None and not os.environ.get("CI")


@pytest.mark.skipif(_absent("zsh"), reason="zsh is not installed")
def test_zsh_script_parses_and_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "_faultline"
    path.write_text(generated("zsh", capsys))
    subprocess.run(["zsh", "-n", str(path)], check=True)
    # Loaded after compinit, it registers itself for the command.
    program = (
        f"autoload -U compinit && compinit -u -d {tmp_path}/zcompdump\n"
        f"source {path}\nprint -r -- $_comps[faultline]"
    )
    proc = subprocess.run(["zsh", "-f", "-c", program], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "_faultline", proc.stderr


@pytest.mark.skipif(_absent("fish"), reason="fish is not installed")
def test_fish_script_parses_and_completes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "faultline.fish"
    path.write_text(generated("fish", capsys))
    subprocess.run(["fish", "--no-config", "-n", str(path)], check=True)

    def complete(line: str) -> list[str]:
        program = f"source {path}; complete -C '{line}'"
        proc = subprocess.run(
            ["fish", "--no-config", "-c", program], capture_output=True, text=True, check=True
        )
        return [row.split("\t")[0] for row in proc.stdout.splitlines()]

    assert complete("faultline ch") == ["check"]
    assert complete("faultline check --format ") == ["github", "json", "sarif", "text"]
    assert "--statistics" in complete("faultline check --st")
    assert "FL012" in complete("faultline check --select FL01")
