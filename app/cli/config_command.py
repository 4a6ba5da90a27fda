"""``faultline config``: the configuration ``faultline check`` would use here, each value with
where it came from: the default, a config file's key, or the command line."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faultline.analyzers.core.config import Config
from faultline.analyzers.core.rule import Rule
from faultline.app.cli.common import DEBUG_ENV, EXIT_OK, debug_flag
from faultline.app.cli.config_files import LoadedConfig

DEFAULT = "default"
DESCRIPTION = """\
Print the configuration in force in this repository: every setting with its
value and where it came from (default, a config file's key, or the command
line), then each rule, on or off, its severity and why. Give it the options
you give 'faultline check' to see what they change."""
EPILOG = f"""\
examples:
  faultline config
  faultline config --select FL01 --ignore query-in-loop
  faultline config --config pyproject.toml --format json

exit codes:
  0  the configuration is printed
  2  a usage or config error (one line on stderr), as 'faultline check' says it
  3  Faultline itself failed: a bug (the traceback: --debug or {DEBUG_ENV}=1)"""


@dataclass(frozen=True)
class Setting:
    key: str
    value: Any
    source: str


@dataclass(frozen=True)
class RuleState:
    code: str
    slug: str
    enabled: bool
    severity: str
    source: str


def add_config_parser(commands: Any) -> None:
    from faultline.app.cli.check import add_config_options

    parser = commands.add_parser(
        "config",
        help="print the configuration in force, and where each value came from",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_options(parser)
    parser.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")
    debug_flag(parser)
    parser.set_defaults(handler=_config)


def _config(args: argparse.Namespace) -> int:
    from faultline.analyzers.core.registry import all_rules
    from faultline.app.cli.check import effective_config
    from faultline.app.cli.workspace import find_root

    root, _ = find_root(Path.cwd())
    loaded, config = effective_config(args, root)
    settings = list(_settings(args, loaded, config))
    rules = [_rule_state(args, loaded, config, rule) for rule in all_rules()]
    if args.format == "json":
        document = {
            "config_file": loaded.source,
            "not_read": list(loaded.notes),
            "settings": [vars(setting) for setting in settings],
            "rules": [vars(rule) for rule in rules],
        }
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        sys.stdout.write(_text(loaded, settings, rules))
    return EXIT_OK


def _settings(args: argparse.Namespace, loaded: LoadedConfig, config: Config) -> Iterator[Setting]:
    values = json.loads(json.dumps(dataclasses.asdict(config)))
    for key, value in values.items():
        if key == "rules":
            continue
        yield Setting(key, value, _top_source(args, loaded, key))
    file_rules = loaded.data.get("rules")
    for rule_key, raw in (file_rules if isinstance(file_rules, Mapping) else {}).items():
        effective = values["rules"].get(rule_key, {})
        for name in raw if isinstance(raw, Mapping) else ():
            source = f"{loaded.source}: rules.{rule_key}.{name}"
            if name == "enabled" and args.select:
                source = "command line: --select"
            yield Setting(f"rules.{rule_key}.{name}", effective.get(name), source)


def _top_source(args: argparse.Namespace, loaded: LoadedConfig, key: str) -> str:
    in_file = f"{loaded.source}: {key}" if key in loaded.data else None
    if key == "fail_on" and args.fail_on is not None:
        return "command line: --fail-on"
    if key == "enable" and args.select:
        return "command line: --select"
    if key == "disable" and args.select:
        return "command line: --ignore" if args.ignore else "command line: --select"
    if key == "disable" and args.ignore:
        return f"{in_file} and command line: --ignore" if in_file else "command line: --ignore"
    return in_file or DEFAULT


def _rule_state(
    args: argparse.Namespace, loaded: LoadedConfig, config: Config, rule: type[Rule]
) -> RuleState:
    # As the engine decides (``activate``): a test holds the two together.
    keys = {rule.code, rule.slug}
    settings_key = next((key for key in (rule.code, rule.slug) if key in config.rules), None)
    settings = config.rules.get(settings_key) if settings_key else None
    enabled = bool(config.enable is None or keys & set(config.enable))
    enabled = enabled and not keys & set(config.disable) and (settings is None or settings.enabled)
    severity = settings.severity if settings and settings.severity else str(rule.severity)
    return RuleState(rule.code, rule.slug, enabled, severity, _rule_source(args, loaded, rule, enabled))


def _rule_source(args: argparse.Namespace, loaded: LoadedConfig, rule: type[Rule], enabled: bool) -> str:
    """The setting that turned the rule on or off: the command line's first, as it is laid over
    the file's; then, of the file's, the one that decided."""
    from faultline.analyzers.core.registry import all_rules
    from faultline.app.cli.selection import expand

    if args.ignore and rule.code in expand("--ignore", args.ignore, all_rules()):
        return "command line: --ignore"
    if args.select:
        return "command line: --select"
    file_config, keys, source = loaded.config, {rule.code, rule.slug}, loaded.source
    key = next((key for key in (rule.code, rule.slug) if key in file_config.rules), None)
    settings = file_config.rules.get(key) if key else None
    listed = file_config.enable is not None
    in_enable = file_config.enable is not None and bool(keys & set(file_config.enable))
    if enabled:
        if in_enable:
            return f"{source}: enable"
        if settings is not None and "enabled" in _file_rule(loaded, key or ""):
            return f"{source}: rules.{key}.enabled"
        return DEFAULT
    if listed and not in_enable:
        return f"{source}: enable"
    if settings is not None and not settings.enabled:
        return f"{source}: rules.{key}.enabled"
    return f"{source}: disable"


def _text(loaded: LoadedConfig, settings: list[Setting], rules: list[RuleState]) -> str:
    out = [f"config file: {loaded.source or 'none (the defaults)'}"]
    out += [f"  {note}" for note in loaded.notes]
    out.append("")
    key_width = max(len(setting.key) for setting in settings)
    values = [_shown_value(setting) for setting in settings]
    value_width = max(len(value) for value in values)
    out += [
        f"{setting.key:<{key_width}}  {value:<{value_width}}  {setting.source}"
        for setting, value in zip(settings, values, strict=True)
    ]
    out.append("")
    slug_width = max(len(rule.slug) for rule in rules)
    out += [
        f"{rule.code}  {rule.slug:<{slug_width}}  {_on(rule.enabled)}  {rule.severity:<7}  {rule.source}"
        for rule in rules
    ]
    return "\n".join(out) + "\n"


def _on(enabled: bool) -> str:
    return "on " if enabled else "off"


def _shown_value(setting: Setting) -> str:
    if setting.key == "enable" and setting.value is None:
        return "(every rule)"  # no list: every rule not disabled runs
    return json.dumps(setting.value)


def _file_rule(loaded: LoadedConfig, key: str) -> Mapping[str, Any]:
    """The keys the file itself gives a rule (``rules.<key>``), as written."""
    rules = loaded.data.get("rules")
    settings = rules.get(key) if isinstance(rules, Mapping) else None
    return settings if isinstance(settings, Mapping) else {}
