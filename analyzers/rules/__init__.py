"""Every rule, one module each. Adding a rule is adding a module here."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from analyzers.rule import Rule


@cache
def all_rules() -> tuple[type[Rule], ...]:
    """The rule classes defined in this package, ordered by code."""
    found: list[type[Rule]] = []
    for module_info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        found.extend(
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, Rule)
            and value is not Rule
            and value.__module__ == module.__name__
        )
    return tuple(sorted(found, key=lambda rule: rule.code))


def rule_index() -> dict[str, type[Rule]]:
    """Rules by code and by slug, for config keys, suppressions and the CLI."""
    index: dict[str, type[Rule]] = {}
    for rule in all_rules():
        index[rule.code] = rule
        index[rule.slug] = rule
    return index
