"""``faultline completion bash|zsh|fish``: a shell completion script, written from the argparse
parser itself (its commands, options, choices and help), so it never falls out of step with it.

No library: shtab writes bash and zsh but not fish, argcomplete runs Python on every Tab; a
parser of one level of commands is a short walk. Values are completed by what they are: a
choice from its list, FILE/DIR/PATH as files, REV as git refs, RULE(S) as rule codes and slugs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from faultline.app.cli.common import EXIT_OK, debug_flag

SHELLS = ("bash", "zsh", "fish")
EPILOG = """\
install:
  bash  add to ~/.bashrc:   eval "$(faultline completion bash)"
  zsh   add to ~/.zshrc (after compinit):   eval "$(faultline completion zsh)"
  fish  faultline completion fish > ~/.config/fish/completions/faultline.fish"""
FILE_VALUES = ("FILE", "DIR", "PATH")
RULE_VALUES = ("RULE", "RULES")
# fish expands a command substitution in -a when it completes; the quotes keep %(...) git's.
FISH_REFS = '(git for-each-ref --format="%(refname:short)" 2>/dev/null)'


@dataclass(frozen=True)
class Option:
    names: tuple[str, ...]
    help: str
    value: str | None  # None: a flag; else what the value is (FILE, REV, a metavar)
    choices: tuple[str, ...] = ()
    repeatable: bool = False


@dataclass
class Command:
    name: str
    help: str
    options: list[Option] = field(default_factory=list)
    positional: Option | None = None  # what a word that is not an option completes to
    many: bool = False  # the positional takes several words


def add_completion_parser(commands: Any, whole: argparse.ArgumentParser) -> None:
    """``whole``: the main parser, whose commands the script completes."""
    parser = commands.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh or fish)",
        description="Print a script that completes faultline's commands, options and values.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    debug_flag(parser)
    parser.set_defaults(handler=lambda args: _completion(args, whole))


def _completion(args: argparse.Namespace, whole: argparse.ArgumentParser) -> int:
    from faultline.analyzers.core.registry import all_rules

    rules = tuple(word for rule in all_rules() for word in (rule.code, rule.slug))
    sys.stdout.write(script(args.shell, whole, rules))
    return EXIT_OK


def script(shell: str, parser: argparse.ArgumentParser, rules: tuple[str, ...]) -> str:
    top, commands = walk(parser)
    writer = {"bash": bash, "zsh": zsh, "fish": fish}[shell]
    return writer(top, commands, rules)


def walk(parser: argparse.ArgumentParser) -> tuple[Command, list[Command]]:
    """The main parser's options, and each command's."""
    top = Command(parser.prog, parser.description or "")
    commands: list[Command] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            for name, sub in action.choices.items():
                commands.append(_command(name, helps.get(name, ""), sub))
        else:
            _add(top, action)
    return top, commands


def _command(name: str, help_text: str, parser: argparse.ArgumentParser) -> Command:
    command = Command(name, help_text)
    for action in parser._actions:
        _add(command, action)
    return command


def _add(command: Command, action: argparse.Action) -> None:
    value = str(action.metavar or action.dest).upper() if action.nargs != 0 else None
    choices = tuple(str(choice) for choice in action.choices or ())
    option = Option(
        tuple(action.option_strings),
        _one_line(action.help),
        value,
        choices,
        isinstance(action, argparse._AppendAction),
    )
    if action.option_strings:
        command.options.append(option)
    else:
        command.positional = option
        command.many = action.nargs in ("*", "+")


def _one_line(text: str | None) -> str:
    if not text or text == argparse.SUPPRESS:
        return ""
    return " ".join(text.replace("%%", "%").split())


# bash


def bash(top: Command, commands: list[Command], rules: tuple[str, ...]) -> str:
    names = " ".join(command.name for command in commands)
    lines = [
        '# faultline completion for bash: eval "$(faultline completion bash)"',
        f'_faultline_rules="{" ".join(rules)}"',
        "_faultline() {",
        '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" cmd="" i',
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        '        case "${COMP_WORDS[i]}" in',
        f'            {"|".join(c.name for c in commands)}) cmd="${{COMP_WORDS[i]}}"; break ;;',
        "        esac",
        "    done",
        '    case "$cmd" in',
        *_bash_case('""', top, names, rules),
        *(line for command in commands for line in _bash_case(command.name, command, "", rules)),
        "    esac",
        "}",
        "complete -o bashdefault -o default -F _faultline faultline",
    ]
    return "\n".join(lines) + "\n"


def _bash_case(label: str, command: Command, words: str, rules: tuple[str, ...]) -> Iterator[str]:
    yield f"        {label})"
    valued = [option for option in command.options if option.value is not None]
    if valued:
        yield '            case "$prev" in'
        for option in valued:
            yield f"                {'|'.join(option.names)}) {_bash_values(option, rules)}; return ;;"
        yield "            esac"
    flags = " ".join(name for option in command.options for name in option.names)
    yield '            if [[ "$cur" == -* ]]; then'
    yield f'                COMPREPLY=($(compgen -W "{flags}" -- "$cur"))'
    if words or command.positional is not None:
        yield "            else"
        if words:
            yield f'                COMPREPLY=($(compgen -W "{words}" -- "$cur"))'
        else:
            assert command.positional is not None
            yield f"                {_bash_values(command.positional, rules)}"
    yield "            fi"
    yield "            ;;"


def _bash_values(option: Option, rules: tuple[str, ...]) -> str:
    if option.choices:
        return f'COMPREPLY=($(compgen -W "{" ".join(option.choices)}" -- "$cur"))'
    if option.value == "RULES":
        # A comma-separated list: complete the word after the last comma.
        return (
            'local done="" word="$cur"; [[ "$cur" == *,* ]] && done="${cur%,*}," word="${cur##*,}"; '
            'COMPREPLY=($(compgen -P "$done" -W "$_faultline_rules" -- "$word"))'
        )
    if option.value == "RULE":
        return 'COMPREPLY=($(compgen -W "$_faultline_rules" -- "$cur"))'
    if option.value == "REV":
        return (
            "COMPREPLY=($(compgen -W \"$(git for-each-ref --format='%(refname:short)' 2>/dev/null)\" "
            '-- "$cur"))'
        )
    if option.value in FILE_VALUES:
        return 'compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur"))'
    return "COMPREPLY=()"


# zsh


def zsh(top: Command, commands: list[Command], rules: tuple[str, ...]) -> str:
    lines = [
        "#compdef faultline",
        '# faultline completion for zsh: eval "$(faultline completion zsh)" after compinit',
        "__faultline_refs() {",
        "    local -a refs",
        "    refs=(${(f)\"$(git for-each-ref --format='%(refname:short)' 2>/dev/null)\"})",
        "    compadd -a refs",
        "}",
        "_faultline() {",
        '    local curcontext="$curcontext" state line',
        "    local -a commands",
        "    commands=(",
        *(f"        {_zsh_quote(f'{c.name}:{c.help}')}" for c in commands),
        "    )",
        "    _arguments -C \\",
        *(f"        {spec} \\" for spec in _zsh_specs(top, rules)),
        "        '1: :->command' \\",
        "        '*:: :->args'",
        "    case $state in",
        "        command) _describe -t commands 'faultline command' commands ;;",
        "        args)",
        "            case $words[1] in",
    ]
    for command in commands:
        specs = list(_zsh_specs(command, rules))
        if command.positional is not None:
            count = "*" if command.many else "1"
            specs.append(
                _zsh_quote(f"{count}:{command.positional.value}:{_zsh_action(command.positional, rules)}")
            )
        lines.append(f"                {command.name}) _arguments {' '.join(specs)} ;;")
    lines += [
        "            esac",
        "            ;;",
        "    esac",
        "}",
        'if [[ "${funcstack[1]}" == "_faultline" ]]; then',
        '    _faultline "$@"',
        "else",
        "    compdef _faultline faultline",
        "fi",
    ]
    return "\n".join(lines) + "\n"


def _zsh_specs(command: Command, rules: tuple[str, ...]) -> Iterator[str]:
    for option in command.options:
        help_text = _zsh_escape(option.help)
        for name in option.names:
            spec = f"{'*' if option.repeatable else ''}{name}[{help_text}]"
            if option.value is not None:
                spec += f":{option.value}:{_zsh_action(option, rules)}"
            yield _zsh_quote(spec)


def _zsh_action(option: Option, rules: tuple[str, ...]) -> str:
    if option.choices:
        return f"({' '.join(option.choices)})"
    if option.value in RULE_VALUES:
        return f"_sequence compadd - {' '.join(rules)}"
    if option.value == "REV":
        return "__faultline_refs"
    if option.value in FILE_VALUES:
        return "_files"
    return " "


def _zsh_escape(text: str) -> str:
    # Inside an _arguments spec: brackets end the description, a colon starts the value's part.
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]").replace(":", "\\:")


def _zsh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


# fish


def fish(top: Command, commands: list[Command], rules: tuple[str, ...]) -> str:
    lines = [
        "# faultline completion for fish:",
        "#   faultline completion fish > ~/.config/fish/completions/faultline.fish",
        "complete -c faultline -f",
    ]
    lines += [
        f"complete -c faultline -n __fish_use_subcommand -a {c.name} -d {_fish_quote(c.help)}"
        for c in commands
    ]
    lines += _fish_options("__fish_use_subcommand", top, rules)
    for command in commands:
        condition = f"'__fish_seen_subcommand_from {command.name}'"
        lines += _fish_options(condition, command, rules)
        positional = command.positional
        if positional is not None:
            values = _fish_values(positional, rules)
            lines.append(f"complete -c faultline -n {condition} {values}".rstrip())
    return "\n".join(lines) + "\n"


def _fish_options(condition: str, command: Command, rules: tuple[str, ...]) -> list[str]:
    out = []
    for option in command.options:
        names = " ".join(
            f"-l {name[2:]}" if name.startswith("--") else f"-s {name[1:]}" for name in option.names
        )
        values = "" if option.value is None else _fish_values(option, rules, required=True)
        out.append(
            f"complete -c faultline -n {condition} {names} {values} -d {_fish_quote(option.help)}".replace(
                "  ", " "
            )
        )
    return out


def _fish_values(option: Option, rules: tuple[str, ...], *, required: bool = False) -> str:
    flag = "-x" if required else ""
    if option.choices:
        return f"{flag} -a {_fish_quote(' '.join(option.choices))}".strip()
    if option.value in RULE_VALUES:
        return f"{flag} -a {_fish_quote(' '.join(rules))}".strip()
    if option.value == "REV":
        return f"{flag} -a {_fish_quote(FISH_REFS)}".strip()
    if option.value in FILE_VALUES:
        return "-r -F" if required else "-F"
    return flag


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
