"""Test commands in shell text: the pytest, tox and nox calls of a ``run:``
script, through the runners and wrappers that usually precede them."""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from faultline.analyzers.core.source import split_lines
from faultline.analyzers.lib.github_actions.workflows import repo_path


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Shell words that only prefix the real command.
PREFIXES = frozenset({"sudo", "time", "exec", "env", "nice", "command", "then", "do", "else", "!", "{"})
# Tools that run another command given later on their line (`uv run --with x pytest`).
RUNNERS = _words(
    "poetry pdm pipenv hatch rye uv pipx pixi conda mamba micromamba docker docker-compose podman"
)
RUN_SUBCOMMANDS = frozenset({"run", "exec"})  # `uv tool install tox` installs, `uv run tox` runs
WRAPPERS = frozenset({"uvx", "xvfb-run", "timeout"})
PYTHON = re.compile(r"^(?:python|pypy)(?:\d+(?:\.\d+)*)?(?:\.exe)?$|^py$")
PROGRAMS = frozenset({"pytest", "py.test", "coverage", "tox", "nox"})
# pytest invocations that do not run the test suite (or run benchmarks only).
NOT_A_TEST_RUN = _words(
    "--version -V --help -h --collect-only --co --fixtures --markers --benchmark-only --codspeed"
)
# Suites nobody gates on coverage, by test path or by workflow, job or step name.
OTHER_SUITE = re.compile(
    r"integration|e2e|end.to.end|smoke|compat|bench|codspeed|perf|downstream|third.?party|upstream"
    r"|markdown|\bdocs?\b|doctest|example|nightly|canary|daily|weekly|fuzz|mutation|stress|profil|eval",
    re.IGNORECASE,
)
TOX_VALUE_FLAGS = frozenset({"-e", "--env", "-f", "--factor", "-m", "--labels"})
NOX_VALUE_FLAGS = frozenset({"-s", "--session", "--sessions", "-e", "-k", "--keywords", "-t", "--tags"})
CONFIG_FLAGS = ("--cov-config", "--rcfile", "-c", "--config-file")
# Commands after `||` that always succeed, so the failure before them is lost.
SWALLOWING = frozenset({"true", ":", "echo", "printf"})
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}")


@dataclass(frozen=True)
class Command:
    """A test command found in a step's shell text; ``index`` and ``last`` are
    the first and last line of its logical line inside the script."""

    kind: str  # "pytest", "tox" or "nox"
    text: str
    index: int
    last: int
    swallowed: bool
    tool: str = ""
    args: tuple[str, ...] = ()
    directory: str = ""

    @property
    def envs(self) -> tuple[str, ...]:
        """The tox environments or nox sessions named in the arguments."""
        return _named_sessions(self.kind, self.args)

    @property
    def config_files(self) -> tuple[str, ...]:
        """The coverage or test config files named in the arguments."""
        return _config_files(self.args)


def find_test_commands(script: str) -> Iterator[Command]:
    """The test commands of a shell script, one per logical line at most."""
    cwd = ""
    for index, last, text in _logical_lines(script):
        # `${{ matrix.tox }}` as one word.
        compact = EXPRESSION.sub(lambda match: "${{" + "".join(match.group(1).split()) + "}}", text)
        for words, operator_after, following in _simple_commands(_tokens(compact)):
            if words[:1] == ["cd"] and len(words) == 2 and "$" not in words[1]:
                cwd = repo_path(cwd, words[1])
                continue
            found = _classify(words)
            if found is None:
                continue
            kind, args, tool = found
            yield Command(
                kind=kind,
                text=text.strip(),
                index=index,
                last=last,
                swallowed=operator_after == "||" and _succeeds(following),
                tool=tool,
                args=tuple(args),
                directory=cwd,
            )
            break


def _logical_lines(script: str) -> Iterator[tuple[int, int, str]]:
    lines = split_lines(script)
    index = 0
    while index < len(lines):
        first = index
        text = lines[index]
        while text.rstrip().endswith("\\") and index + 1 < len(lines):
            index += 1
            text = text.rstrip()[:-1] + " " + lines[index]
        yield first, index, text
        index += 1


def _tokens(text: str) -> list[str]:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:  # an unbalanced quote: a string spread over several lines
        return re.sub(r"(^|\s)#.*", "", text).split()


def _simple_commands(tokens: list[str]) -> Iterator[tuple[list[str], str, list[str]]]:
    """(words, the operator after them, the words of the next command)."""
    groups: list[tuple[list[str], str]] = [([], "")]
    for token in tokens:
        if token and all(char in "&|;()<>" for char in token):
            groups[-1] = (groups[-1][0], token)
            groups.append(([], ""))
        else:
            groups[-1][0].append(token)
    for number, (words, operator) in enumerate(groups):
        following = groups[number + 1][0] if number + 1 < len(groups) else []
        if words:
            yield words, operator, following


def _classify(words: list[str]) -> tuple[str, list[str], str] | None:
    """("pytest" | "tox" | "nox", the arguments, how it was called) or None."""
    index = 0
    while index < len(words):
        word = words[index]
        name = posixpath.basename(word)
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", word) or word in PREFIXES or word == "--":
            index += 1
        elif name in WRAPPERS:
            index = _next_program(words, index + 1)
        elif name in RUNNERS:
            if not RUN_SUBCOMMANDS & set(words[index + 1 : index + 4]):
                return None
            index = _next_program(words, index + 1)
        elif name in ("bash", "sh") and words[index + 1 : index + 2] == ["-c"] and len(words) > index + 2:
            return _classify(_tokens(words[index + 2]))
        elif PYTHON.match(name):
            module = _python_module(words, index + 1)
            if module is None:
                return None
            index = module
        elif name in ("pytest", "py.test", "pytest-3"):
            args = words[index + 1 :]
            return None if _not_the_suite(args) else ("pytest", args, "pytest")
        elif name == "coverage":
            return _coverage_run(words[index + 1 :])
        elif name in ("tox", "nox"):
            return name, words[index + 1 :], name
        else:
            return None
    return None


def _next_program(words: list[str], start: int) -> int:
    for index in range(start, len(words)):
        name = posixpath.basename(words[index])
        if name in PROGRAMS or PYTHON.match(name) or name in ("bash", "sh"):
            return index
    return len(words)


def _python_module(words: list[str], start: int) -> int | None:
    """The index of the module name after ``-m`` (``-Im`` too), else None."""
    index = start
    while index < len(words):
        word = words[index]
        if re.fullmatch(r"-[A-Za-z]*m", word):
            return index + 1 if index + 1 < len(words) else None
        if word in ("-W", "-X"):
            index += 2
        elif word.startswith("-") and word != "-c":
            index += 1
        else:
            return None
    return None


def _coverage_run(args: list[str]) -> tuple[str, list[str], str] | None:
    if not args or args[0] != "run" or "-m" not in args:
        return None
    module = args.index("-m") + 1
    if module < len(args) and args[module] in ("pytest", "py.test"):
        rest = args[module + 1 :]
        return None if _not_the_suite(rest) else ("pytest", args, "coverage")
    return None


def _not_the_suite(args: list[str]) -> bool:
    """pytest asked for its version, or run on integration or e2e paths only."""
    if NOT_A_TEST_RUN & set(args):
        return True
    paths = [arg for arg in args if not arg.startswith("-") and ("/" in arg or arg.endswith(".py"))]
    return bool(paths) and all(OTHER_SUITE.search(path) for path in paths)


def _succeeds(words: list[str]) -> bool:
    """True for the right side of ``||`` that always succeeds."""
    if not words:
        return False
    return words[0] in SWALLOWING or words[:2] == ["exit", "0"]


def _named_sessions(kind: str, args: Iterable[str]) -> tuple[str, ...]:
    if kind == "pytest":
        return ()
    flags = TOX_VALUE_FLAGS if kind == "tox" else NOX_VALUE_FLAGS
    names: list[str] = []
    args = list(args)
    for index, arg in enumerate(args):
        if arg == "--":
            break
        if arg in flags and index + 1 < len(args):
            names.extend(args[index + 1].split(","))
        elif "=" in arg and arg.split("=", 1)[0] in flags:
            names.extend(arg.split("=", 1)[1].split(","))
        elif re.fullmatch(r"-[ef]\w.*", arg) and kind == "tox":
            names.extend(arg[2:].split(","))
    return tuple(name for name in names if name)


def _config_files(args: Iterable[str]) -> tuple[str, ...]:
    found = []
    args = list(args)
    for index, arg in enumerate(args):
        for flag in CONFIG_FLAGS:
            if arg == flag and index + 1 < len(args):
                found.append(args[index + 1])
            elif arg.startswith(flag + "="):
                found.append(arg.split("=", 1)[1])
    return tuple(found)
