"""``--select`` and ``--ignore``: which rules run, from the command line, as ruff reads them.

A value is a code (``FL001``), a slug (``broad-except``) or a code prefix (``FL01``: FL010 to
FL019; ``FL``: every rule), comma-separated and repeatable. The command line is a layer above
the config file: ``--select`` replaces the file's choice of rules (its ``enable``, ``disable``
and each ``rules.<rule>.enabled``), ``--ignore`` then leaves rules out, of the file's choice or
of ``--select``'s. The rules' other settings (severity, paths, options) stay the file's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from faultline.analyzers.core.config import Config
from faultline.analyzers.core.rule import Rule
from faultline.app.cli.common import UsageError


class SelectionError(UsageError):
    """A value names no rule; the message says which and where to look."""


@dataclass(frozen=True)
class Selection:
    """The codes each flag named, expanded; None: the flag was not given."""

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None

    @property
    def given(self) -> bool:
        return self.select is not None or self.ignore is not None


def parse_selection(
    select: Sequence[str] | None, ignore: Sequence[str] | None, rules: Sequence[type[Rule]]
) -> Selection:
    return Selection(
        select=None if select is None else expand("--select", select, rules),
        ignore=None if ignore is None else expand("--ignore", ignore, rules),
    )


def expand(flag: str, values: Sequence[str], rules: Sequence[type[Rule]]) -> tuple[str, ...]:
    """The codes of the rules ``values`` name, in code order."""
    codes: set[str] = set()
    for value in values:
        for item in filter(None, (part.strip() for part in value.split(","))):
            codes |= _matching(flag, item, rules)
    return tuple(sorted(codes))


def _matching(flag: str, item: str, rules: Sequence[type[Rule]]) -> set[str]:
    by_slug = {rule.code for rule in rules if rule.slug == item.lower()}
    if by_slug:
        return by_slug
    prefixed = {rule.code for rule in rules if rule.code.startswith(item.upper())}
    if not prefixed or not item.upper().startswith("FL"):  # "F" is not a prefix of every code
        raise SelectionError(
            f"{flag}: {item!r} is no rule's code, slug or code prefix (see 'faultline rules')"
        )
    return prefixed


def apply_selection(config: Config, selection: Selection) -> Config:
    """The config with the command line's choice of rules laid over the file's."""
    if selection.select is not None:
        # Each selected rule runs, whatever the file said of it (``enabled: false`` included).
        rules = {key: replace(settings, enabled=True) for key, settings in config.rules.items()}
        return replace(config, enable=selection.select, disable=selection.ignore or (), rules=rules)
    if selection.ignore is not None:
        return replace(config, disable=(*config.disable, *selection.ignore))
    return config
