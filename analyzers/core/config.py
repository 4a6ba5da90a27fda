"""The ``.github/faultline.yml`` model, where it is found, and its errors.

``.github/faultline.yaml`` is read too, as an equal spelling (``.yml`` wins when both
exist); ``faultline.yml`` or ``.faultline.yml`` at the repository root is not read, and
a run says so (``choose_config``).

Example::

    fail_on: warning          # error (default), warning, notice, never
    max_comments: 25          # inline comments per review (the App)
    comment_on: warning       # lowest severity commented inline: error, warning (default), notice
    exclude: ["vendor/**"]    # paths no rule looks at
    disable: [coverage-gate]  # rules by code or slug
    rules:
      broad-except:
        severity: error       # override the rule's own severity
        include: ["tests/**"] # look at paths the rule skips by default
        exclude: ["scripts/**"]
      hardcoded-pool-size:
        options: {constant_pattern: "POOL"}
      query-in-loop:
        comment: true         # comment inline whatever comment_on says (false: never)

An invalid file raises ConfigError whose message names the key and what was
expected.
"""

from __future__ import annotations

import fnmatch
import io
import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeVar, cast

from faultline.analyzers.core.findings import Severity

if TYPE_CHECKING:
    from annotated_types import Interval
    from pydantic import TypeAdapter, ValidationError

CONFIG_PATH = ".github/faultline.yml"
# Read as equal spellings, in this order: the first one present is the config.
CONFIG_PATHS = (CONFIG_PATH, ".github/faultline.yaml")
# Where people put the file by mistake: never read, always warned about.
# The App looks for the first two only: each absent file is one more request per run.
MISPLACED_PATHS = ("faultline.yml", ".faultline.yml", "faultline.yaml", ".faultline.yaml")
FailOn = Literal["error", "warning", "notice", "never"]
CommentOn = Literal["error", "warning", "notice"]
T = TypeVar("T")
# What pydantic reads off a plain dataclass when it validates one: unknown keys are errors.
STRICT: dict[str, Any] = {"extra": "forbid"}
# Keys that take a list, where one string stands for a list of one.
SINGLE_STRING_KEYS = ("exclude", "disable", "enable")


class ConfigError(ValueError):
    """The config file is not valid; the message is meant for the user as it is."""


# Plain dataclasses, not pydantic models: building the models took a third of the CLI's
# start-up. pydantic validates them (``validated``) only when a file gives a value.
@dataclass(frozen=True)
class RuleConfig:
    __pydantic_config__: ClassVar[dict[str, Any]] = STRICT

    enabled: bool = True
    severity: Literal["error", "warning", "notice"] | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    # None: as ``comment_on`` says for the finding's severity.
    comment: bool | None = None


@dataclass(frozen=True)
class Config:
    __pydantic_config__: ClassVar[dict[str, Any]] = STRICT

    fail_on: FailOn = "error"
    max_comments: Annotated[int, Interval(ge=0, le=100)] = 25
    comment_on: CommentOn = "warning"
    exclude: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()
    enable: tuple[str, ...] | None = None
    rules: dict[str, RuleConfig] = field(default_factory=dict)

    def fail_level(self) -> Severity | None:
        return None if self.fail_on == "never" else Severity.parse(self.fail_on)

    def is_excluded(self, path: str) -> bool:
        return matches_any(path, self.exclude)


def validated(kind: type[T], data: Mapping[str, Any]) -> T:
    """``data`` checked and converted into ``kind`` (a dataclass); raises pydantic's
    ValidationError. An empty mapping is the defaults, without importing pydantic."""
    if not data:
        return kind()
    adapter: TypeAdapter[T] = _adapter(cast(Hashable, kind))
    return adapter.validate_python(data)


@cache
def _adapter(kind: Hashable) -> TypeAdapter[Any]:
    from annotated_types import Interval
    from pydantic import TypeAdapter

    # pydantic reads the annotations, strings here, in this module's namespace: ``Interval``
    # joins it only now, as importing it costs a twentieth of the start-up.
    globals().setdefault("Interval", Interval)
    return TypeAdapter(cast(type[Any], kind))


@dataclass(frozen=True)
class ConfigChoice:
    """Which config file a run reads (None: the defaults), and what to tell the user
    about the others it found."""

    path: str | None
    notes: tuple[str, ...] = ()


def choose_config(present: Iterable[str]) -> ConfigChoice:
    """The config among the paths ``present`` at the repository root: ``.github/faultline.yml``
    or ``.github/faultline.yaml``. A second spelling beside the first, or a file at the root,
    is never read, and never ignored in silence: each gets a note."""
    found = set(present)
    spellings = [path for path in CONFIG_PATHS if path in found]
    chosen = spellings[0] if spellings else None
    notes = [f"{path} is not read: {chosen} is, and only one config file is" for path in spellings[1:]]
    target = chosen or CONFIG_PATH
    notes += [
        f"{path} is not read: Faultline reads {target}; move it there"
        for path in MISPLACED_PATHS
        if path in found
    ]
    return ConfigChoice(chosen, tuple(notes))


def parse_config(text: str | bytes, source: str = CONFIG_PATH) -> Config:
    """Parse YAML text into a Config; raise ConfigError naming what is wrong."""
    return config_from_mapping(yaml_mapping(text, source), source)


def yaml_mapping(text: str | bytes, source: str = CONFIG_PATH) -> dict[str, Any]:
    """The config file's own keys, as written (empty for an empty file)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{source}: not UTF-8 text") from None
    try:
        data = YAML(typ="safe").load(io.StringIO(text))
    except YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"{source}: invalid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def config_from_mapping(data: Mapping[str, Any], source: str) -> Config:
    """Validate a config's keys (from YAML, or a TOML table); errors name ``source`` and the key."""
    from pydantic import ValidationError

    given = {
        key: [value] if key in SINGLE_STRING_KEYS and isinstance(value, str) else value
        for key, value in data.items()
    }
    try:
        return validated(Config, given)
    except ValidationError as err:
        raise ConfigError(f"{source}: {describe_validation_error(err)}") from None


def _listed(key: str, value: Any) -> Any:
    return [value] if key in SINGLE_STRING_KEYS and isinstance(value, str) else value


def describe_validation_error(err: ValidationError) -> str:
    """One line per problem: ``key.path: what was expected``."""
    parts = []
    for problem in err.errors():
        where = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        message = problem["msg"]
        if problem["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
            message = "unknown key"
        elif problem["type"] == "value_error" and not problem["loc"]:
            # A dataclass's own check (``__post_init__``): its message names the key.
            parts.append(str(problem.get("ctx", {}).get("error", message)))
            continue
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def matches_any(path: str, patterns: Iterable[str]) -> bool:
    combined = any_glob(patterns if isinstance(patterns, tuple) else tuple(patterns))
    return combined is not None and combined.match(path) is not None


@lru_cache(maxsize=512)
def any_glob(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """The globs as one expression: the engine asks every rule about every file, and one
    match per path is much cheaper than one per glob. None for no glob."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{_glob(pattern).pattern})" for pattern in patterns), re.DOTALL)


@lru_cache(maxsize=512)
def _glob(pattern: str) -> re.Pattern[str]:
    """Compile a gitignore-like glob: ``**`` crosses folders, ``*`` does not,
    a pattern without a slash matches a name in any folder, a trailing slash
    or a folder name matches everything under it."""
    pattern = pattern.strip()
    anchored = "/" in pattern.rstrip("/")
    pattern = pattern.strip("/")
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]) if pattern[i] != "[" else _bracket(pattern, i, out))
            i = _after_bracket(pattern, i)
    body = "".join(out)
    prefix = "" if anchored else "(?:.*/)?"
    # DOTALL and \Z: a file or folder name may hold a newline (git allows it).
    return re.compile(f"^{prefix}{body}(?:/.*)?\\Z", re.DOTALL)


def _bracket(pattern: str, i: int, out: list[str]) -> str:
    end = pattern.find("]", i + 1)
    if end == -1:
        return re.escape("[")
    return fnmatch.translate(pattern[i : end + 1])[4:-3]


def _after_bracket(pattern: str, i: int) -> int:
    if pattern[i] != "[":
        return i + 1
    end = pattern.find("]", i + 1)
    return i + 1 if end == -1 else end + 1


def rule_key_error(key: str, known: Mapping[str, str]) -> ConfigError:
    names = ", ".join(sorted(known))
    return ConfigError(f"{CONFIG_PATH}: unknown rule {key!r} (known: {names})")
