"""YAML (workflows, codecov.yml): parsed with ruamel's round-trip loader, which keeps line
numbers on every node (``.lc``)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from faultline.analyzers.languages import Language, ParseError

if TYPE_CHECKING:
    from faultline.analyzers.core.source import SourceFile


def parse(text: str, path: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="rt").load(io.StringIO(text))
    except YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ParseError(f"invalid YAML: {problem}", line) from None
    except Exception as err:  # noqa: BLE001  # ruamel raises more than YAMLError
        raise ParseError(f"invalid YAML: {err}") from None


def document(source: SourceFile) -> Any:
    """The file's YAML document (parsed once, shared by every rule)."""
    if source.language is not LANGUAGE:
        raise ParseError(f"{source.path} is not YAML")
    return source.tree


LANGUAGE = Language(
    name="yaml",
    suffixes=(".yml", ".yaml"),
    comment_prefixes=("#",),
    fence="yaml",
    parse=parse,
)
