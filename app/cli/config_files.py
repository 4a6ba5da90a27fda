"""Which config file ``faultline check`` reads, and what it holds.

The App's file, ``.github/faultline.yml`` (or ``.yaml``), comes first; then a
``[tool.faultline]`` table in the repository root's ``pyproject.toml``, with the same keys.
Only one is read, as ruff reads the first of its files in a fixed order, and the other is
named in a note. The App reads the ``.github`` file only (``app/review/run.py``): a table in
``pyproject.toml`` is the command line's.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faultline.analyzers.core.config import (
    CONFIG_PATH,
    CONFIG_PATHS,
    MISPLACED_PATHS,
    Config,
    ConfigError,
    choose_config,
    config_from_mapping,
    yaml_mapping,
)

PYPROJECT = "pyproject.toml"
TABLE = "[tool.faultline]"


@dataclass(frozen=True)
class LoadedConfig:
    """A config, what it was read from (None: the defaults) and the keys the file set."""

    config: Config = field(default_factory=Config)
    source: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def load_config(root: Path, explicit: str | None = None) -> LoadedConfig:
    if explicit:
        return _explicit(Path(explicit), explicit)
    choice = choose_config(path for path in (*CONFIG_PATHS, *MISPLACED_PATHS) if (root / path).is_file())
    notes = list(choice.notes)
    if choice.path is not None:
        if _has_table(root / PYPROJECT, strict=False):
            notes.append(f"{PYPROJECT} {TABLE} is not read: {choice.path} is, and only one config file is")
        return _loaded(yaml_mapping((root / choice.path).read_bytes(), choice.path), choice.path, notes)
    table = _has_table(root / PYPROJECT, strict=True)
    if table is None:
        return LoadedConfig(notes=tuple(notes))
    return _loaded(table, f"{PYPROJECT} {TABLE}", notes)


def _explicit(path: Path, given: str) -> LoadedConfig:
    if not path.is_file():
        raise ConfigError(f"{given}: no such config file")
    if path.suffix != ".toml":
        return _loaded(yaml_mapping(path.read_bytes(), given), given, [])
    table = _has_table(path, strict=True, label=given)
    if table is None:
        raise ConfigError(f"{given}: no {TABLE} table")
    return _loaded(table, f"{given} {TABLE}", [])


def _loaded(data: Mapping[str, Any], source: str, notes: list[str]) -> LoadedConfig:
    return LoadedConfig(config_from_mapping(data, source), source, data, tuple(notes))


def _has_table(path: Path, *, strict: bool, label: str = PYPROJECT) -> dict[str, Any] | None:
    """The ``[tool.faultline]`` table of a TOML file, or None. ``strict``: a file that is not
    valid TOML is an error (it would have been read); else it only has no table to name."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    # Cheap gate: most pyproject files never mention Faultline, and one being edited
    # into invalid TOML is no reason for a check to fail.
    if b"faultline" not in data:
        return None
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        if not strict:
            return None
        raise ConfigError(f"{label}: invalid TOML: {err}") from None
    tool = document.get("tool")
    table = tool.get("faultline") if isinstance(tool, dict) else None
    if table is None:
        return None
    if not isinstance(table, dict):
        if not strict:
            return None
        raise ConfigError(f"{label}: tool.faultline must be a table, got {type(table).__name__}")
    return table


def relabel(err: ConfigError, source: str | None) -> ConfigError:
    """An error the engine raised about the config's rules, named after the file it came from
    (the engine knows no file: its messages name the App's, or none)."""
    message = str(err).removeprefix(f"{CONFIG_PATH}: ")
    return ConfigError(f"{source or CONFIG_PATH}: {message}")
