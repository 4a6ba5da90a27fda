"""Every rule, found by walking ``analyzers/rules/``: adding a rule is adding a module there
(``python scripts/new_rule.py`` writes one)."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from faultline.analyzers.core.rule import Rule

RULES_PACKAGE = "faultline.analyzers.rules"


@cache
def all_rules() -> tuple[type[Rule], ...]:
    """The rule classes defined in the rules package and its families, ordered by code."""
    package = importlib.import_module(RULES_PACKAGE)
    found: list[type[Rule]] = []
    for module_info in pkgutil.walk_packages(package.__path__, f"{RULES_PACKAGE}."):
        module = importlib.import_module(module_info.name)
        found.extend(
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, Rule)
            and value is not Rule
            and value.__module__ == module.__name__
        )
    codes = [rule.code for rule in found]
    duplicated = sorted({code for code in codes if codes.count(code) > 1})
    if duplicated:
        raise RuntimeError(f"rule codes used twice: {', '.join(duplicated)}")
    return tuple(sorted(found, key=lambda rule: rule.code))


def documented_rules() -> tuple[type[Rule], ...]:
    """The rules and FL000, the parse error the engine reports itself: what the docs, the
    ``faultline rules`` listing and SARIF's rule list describe (never what the engine runs)."""
    from faultline.analyzers.core.parse_error import ParseErrorNotice

    return (ParseErrorNotice, *all_rules())


def documented_index() -> dict[str, type[Rule]]:
    """``documented_rules`` by code and by slug, for ``faultline rules CODE``."""
    return {name: rule for rule in documented_rules() for name in (rule.code, rule.slug)}


def rule_index() -> dict[str, type[Rule]]:
    """Rules by code and by slug, for config keys, suppressions and the CLI."""
    index: dict[str, type[Rule]] = {}
    for rule in all_rules():
        index[rule.code] = rule
        index[rule.slug] = rule
    return index
