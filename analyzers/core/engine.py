"""Run the applicable rules over a change: read and parse each file once, keep
only what the change added, apply the config and suppressions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from faultline.analyzers.core.changes import ChangeSet, FileChange, FileStatus
from faultline.analyzers.core.config import (
    Config,
    ConfigError,
    any_glob,
    describe_validation_error,
    rule_key_error,
    validated,
)
from faultline.analyzers.core.context import Context
from faultline.analyzers.core.findings import Finding, Hit, Severity, content_key, fingerprint, normalised
from faultline.analyzers.core.parse_error import PARSE_ERROR_CODE, PARSE_ERROR_SLUG
from faultline.analyzers.core.paths import UNSAFE_NAME, context_entry, unsafe_reason
from faultline.analyzers.core.plan import MAX_FILE_BYTES, FileRead, ReadPlan, Skipped, too_large
from faultline.analyzers.core.repo import RepoView
from faultline.analyzers.core.rule import RemoteHit, Rule, is_production
from faultline.analyzers.core.source import ParseError, SourceFile
from faultline.analyzers.core.suppressions import suppressed


@dataclass(frozen=True)
class RuleError:
    """A rule that raised on a file: the run went on without it there."""

    code: str
    slug: str
    path: str
    error: str  # repr() of the exception

    def __str__(self) -> str:
        return f"{self.code} {self.slug} failed on {self.path}: {self.error}"


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    rule_errors: list[RuleError] = field(default_factory=list)
    files_checked: int = 0

    def counts(self) -> Counter[Severity]:
        return Counter(finding.severity for finding in self.findings)

    def failing(self, level: Severity | None) -> list[Finding]:
        if level is None:
            return []
        return [finding for finding in self.findings if finding.severity >= level]


@dataclass(frozen=True)
class _Keys:
    """A finding's fingerprint, the content key it shares with identical findings, and
    the fingerprint version 1 gave it."""

    fingerprint: str
    content: str
    v1: str


class _Occurrences:
    """Fingerprints that tell identical statements of a file apart by their order."""

    def __init__(self) -> None:
        self.seen: Counter[tuple[str, str]] = Counter()

    def fingerprint(self, code: str, path: str, text: str) -> str:
        key = (path, normalised(text))
        occurrence = self.seen[key]
        self.seen[key] += 1
        return fingerprint(code, path, text, occurrence)


@dataclass(frozen=True)
class ActiveRule:
    rule: Rule
    severity: Severity | None  # the config's override, if any
    include: tuple[str, ...]
    exclude: tuple[str, ...]

    def wants(self, path: str, production: Callable[[], bool] | None = None) -> bool:
        """``production``: ``is_production(path)``, remembered by the caller for its next rule."""
        if not self._applies(path) or self._excluded(path):
            return False
        if self.rule.production_only and not (production() if production else is_production(path)):
            return bool(self._included(path))
        return True

    @cached_property
    def wants_key(self) -> Hashable:
        """Rules with equal keys want the same files: the same globs (or the same rule, for
        one with its own ``applies_to``), paths from the config and production-only flag."""
        rule = self.rule
        own = type(rule).applies_to is not Rule.applies_to
        return (id(rule) if own else tuple(rule.patterns), self.include, self.exclude, rule.production_only)

    # The globs compiled once (the engine asks every rule about every file); a rule with
    # its own ``applies_to`` is asked itself.
    @cached_property
    def _applies(self) -> Callable[[str], object]:
        rule = self.rule
        if type(rule).applies_to is not Rule.applies_to:
            return rule.applies_to
        endings = _plain_endings(rule.patterns)
        return _matcher(rule.patterns) if endings is None else _EndingMatcher(endings)

    @cached_property
    def _excluded(self) -> Callable[[str], object]:
        return _matcher(self.exclude)

    @cached_property
    def _included(self) -> Callable[[str], object]:
        return _matcher(self.include)


def _matcher(patterns: Iterable[str]) -> Callable[[str], object]:
    """``matches_any(path, patterns)`` as one call: truthy for a path that matches."""
    compiled = any_glob(tuple(patterns))
    return compiled.match if compiled is not None else _never


def _plain_endings(patterns: Sequence[str]) -> tuple[str, ...] | None:
    """``(".py",)`` for ``("*.py",)``: the endings when every glob is ``*`` and a plain
    ending, unanchored; None when a glob says more."""
    endings = []
    for pattern in patterns:
        bare = pattern.strip()
        if "/" in bare.rstrip("/"):
            return None  # anchored at the root, or folders named
        ending = bare.strip("/")[1:]
        if not bare.startswith("*") or not ending or any(mark in ending for mark in "*?["):
            return None
        endings.append(ending)
    return tuple(endings) or None


class _EndingMatcher:
    """What ``*.py`` matches, without a regular expression: a name in the path that ends
    with ``.py``, the file's own or a folder's (a folder matches everything under it)."""

    def __init__(self, endings: tuple[str, ...]) -> None:
        self.endings = endings
        self.folders = tuple(f"{ending}/" for ending in endings)

    def __call__(self, path: str) -> bool:
        return path.endswith(self.endings) or any(folder in path for folder in self.folders)


def _never(path: str) -> bool:
    return False


def activate(config: Config, rules: Sequence[type[Rule]]) -> list[ActiveRule]:
    """The enabled rules with their options, severity and paths from the config."""
    index = {key: rule for rule in rules for key in (rule.code, rule.slug)}
    for key in (*config.disable, *(config.enable or ()), *config.rules):
        if key not in index:
            raise rule_key_error(key, {rule.slug: rule.code for rule in rules})
    active = []
    for rule in rules:
        if rule.code in config.rules and rule.slug in config.rules:
            raise ConfigError(f"rules: {rule.code} and {rule.slug} are the same rule: configure it once")
        settings = config.rules.get(rule.code) or config.rules.get(rule.slug)
        if not _enabled(rule, config, settings.enabled if settings else True):
            continue
        options = _options(rule, settings.options if settings else {})
        severity = Severity.parse(settings.severity) if settings and settings.severity else None
        active.append(
            ActiveRule(
                rule=rule(options),
                severity=severity,
                include=settings.include if settings else (),
                exclude=settings.exclude if settings else (),
            )
        )
    return active


def _enabled(rule: type[Rule], config: Config, enabled_in_rules: bool) -> bool:
    keys = {rule.code, rule.slug}
    if config.enable is not None and not keys & set(config.enable):
        return False
    return enabled_in_rules and not keys & set(config.disable)


def _options(rule: type[Rule], raw: dict[str, object]) -> object:
    if not raw:
        return rule.Options()
    from pydantic import ValidationError

    try:
        return validated(rule.Options, raw)
    except ValidationError as err:
        detail = describe_validation_error(err)
        raise ConfigError(f"rules.{rule.slug}.options: {detail}") from None


class NeedleFinder:
    """Which of the needles of the rules that want a file its bytes hold, found in one pass.
    A scan of the whole file per needle (some 60 for a Python file, most of them absent)
    cost a third as much as parsing it; an Aho-Corasick automaton reads the file once."""

    def __init__(self) -> None:
        self._automata: dict[tuple[int, ...], Callable[[bytes], set[bytes]] | None] = {}

    def present(self, data: bytes, wanted: Sequence[ActiveRule]) -> set[bytes] | None:
        """The needles ``data`` holds; None when no wanted rule has a needle."""
        key = tuple(id(active) for active in wanted)
        if key not in self._automata:
            self._automata[key] = _automaton({needle for active in wanted for needle in active.rule.needles})
        find = self._automata[key]
        return None if find is None else find(data)


def _automaton(needles: set[bytes]) -> Callable[[bytes], set[bytes]] | None:
    if not needles:
        return None
    from ahocorasick_rs import BytesAhoCorasick

    ordered = sorted(needles)
    # Overlapping matches: a needle that only ever occurs across another is still found
    # (``from requests.adapters`` holds both ``from requests`` and ``requests.``).
    matches = BytesAhoCorasick(ordered).find_matches_as_indexes

    def find(data: bytes) -> set[bytes]:
        return {ordered[index] for index, _, _ in matches(data, overlapping=True)}

    return find


def holds(present: set[bytes] | None, needles: tuple[bytes, ...]) -> bool:
    """Whether a file holds one of a rule's needles (any file, for a rule without)."""
    return not needles or present is None or not present.isdisjoint(needles)


class Engine:
    def __init__(self, config: Config, rules: Sequence[type[Rule]] | None = None) -> None:
        if rules is None:
            from faultline.analyzers.core.registry import all_rules

            rules = all_rules()
        self.config = config
        self.active = activate(config, rules)
        # Most rules share their globs with others: each set of globs is matched once a file,
        # by the first rule that has it. ``_group_of``: each rule's group, in rule order.
        groups: dict[Hashable, int] = {}
        self._askers: list[ActiveRule] = []
        for active in self.active:
            if active.wants_key not in groups:
                groups[active.wants_key] = len(self._askers)
                self._askers.append(active)
        self._group_of = [(active, groups[active.wants_key]) for active in self.active]

    def rules_for(self, change: FileChange) -> list[ActiveRule]:
        """The enabled rules that look at ``change`` (none for a removed or excluded file)."""
        if change.status is FileStatus.REMOVED or self.config.is_excluded(change.path):
            return []
        # Matching globs and looking up the language happen once per file, not once per rule,
        # and only for a file that a production-only rule reads.
        production = _remembered_production(change.path)
        answers = [asker.wants(change.path, production) for asker in self._askers]
        if not any(answers):
            return []
        return [active for active, group in self._group_of if answers[group]]

    def plan(self, changes: ChangeSet) -> ReadPlan:
        """What a run over ``changes`` will read: the changed files some rule looks at
        (a path that cannot be read safely is skipped, never requested), the context
        paths of the rules that will run, and the size caps."""
        files: list[FileRead] = []
        skipped: list[Skipped] = []
        running: dict[int, ActiveRule] = {}
        for change in changes:
            rules = self.rules_for(change)
            if not rules or change.status is FileStatus.BINARY:
                continue
            why = unsafe_reason(change.path) or (change.old_path and unsafe_reason(change.old_path))
            if why:
                skipped.append(Skipped(change.path, UNSAFE_NAME.format(why=why)))
                continue
            base = None if change.status is FileStatus.ADDED else change.base_path
            files.append(FileRead(change.path, base))
            running.update((id(active), active) for active in rules)
        named = {context_entry(path) for active in running.values() for path in active.rule.context_paths}
        context = tuple(sorted(path for path in named if path is not None))
        return ReadPlan(tuple(files), context, skipped=tuple(skipped))

    def more_context_paths(self, changes: ChangeSet, repo: RepoView) -> list[str]:
        """Paths the enabled rules want that only the files already readable
        through ``repo`` name: a second round of reads for the App. They come from
        file contents, so each is normalised and kept only inside the repository."""
        ctx = Context(repo, changes)
        paths: set[str] = set()
        for active in self.active:
            if any(active.wants(change.path) for change in changes):
                paths.update(active.rule.more_context(ctx))
        return sorted(path for path in map(context_entry, paths) if path is not None)

    def run(self, changes: ChangeSet, repo: RepoView, unread: Sequence[Skipped] = ()) -> Report:
        """Check ``changes``; ``unread`` names changed files the caller did not read
        (too large, unsafe path): they are reported as skipped, not as missing."""
        ctx = Context(repo, changes)
        one_pass = _Pass(ctx, self.config)
        one_pass.report.skipped.extend(unread)
        left_out = {skipped.path for skipped in unread}
        for change in changes:
            if change.path not in left_out:
                one_pass.check_file(change, self.rules_for(change))
        one_pass.report.findings.sort(key=lambda finding: finding.sort_key)
        return one_pass.report


def _remembered_production(path: str) -> Callable[[], bool]:
    """``is_production(path)``, looked up on the first call only."""
    known: list[bool] = []

    def production() -> bool:
        if not known:
            known.append(is_production(path))
        return known[0]

    return production


class _Pass:
    """One pass of the engine over a change: the report and the fingerprints seen so far."""

    def __init__(self, ctx: Context, config: Config) -> None:
        self.ctx = ctx
        self.config = config
        self.report = Report()
        self.seen: set[str] = set()
        self.needles = NeedleFinder()

    def check_file(self, change: FileChange, wanted: list[ActiveRule]) -> None:
        if not wanted:
            return
        if change.status is FileStatus.BINARY:
            self.report.skipped.append(Skipped(change.path, "binary file"))
            return
        # Read outside the context's cache: a tree per file kept for the whole
        # run would hold every parsed file of a large project in memory.
        data = self.ctx.repo.read_new(change.path)
        if data is None:
            self.report.skipped.append(Skipped(change.path, "not found on the new side"))
            return
        source = SourceFile(change.path, data)
        if len(source.data) > MAX_FILE_BYTES:
            self.report.skipped.append(Skipped(change.path, too_large(len(source.data))))
            return
        self.report.files_checked += 1
        language = source.language
        if language is not None and language.generated is not None and language.generated(source):
            return  # a minified bundle: generated code no rule has anything to say about
        present = self.needles.present(source.data, wanted)
        for active in wanted:
            if not holds(present, active.rule.needles):
                continue
            if not self.run_rule(active, source):
                break

    def run_rule(self, active: ActiveRule, source: SourceFile) -> bool:
        """Run one rule on one file; False when the file cannot be parsed."""
        try:
            hits = list(active.rule.check(source, self.ctx))
        except ParseError as err:
            self.add_parse_error(source.path, err)
            return False
        except Exception as err:  # noqa: BLE001  # faultline: ignore[broad-except] a broken rule must not end the run
            rule = active.rule
            self.report.rule_errors.append(RuleError(rule.code, rule.slug, source.path, repr(err)))
            return True
        self.add_hits(active, source, hits)
        return True

    def add_parse_error(self, path: str, err: ParseError) -> None:
        key = fingerprint(PARSE_ERROR_CODE, path, err.message)
        if key in self.seen:
            return
        self.seen.add(key)
        content = content_key(PARSE_ERROR_CODE, path, err.message)
        self.report.findings.append(
            Finding(
                PARSE_ERROR_CODE,
                PARSE_ERROR_SLUG,
                Severity.NOTICE,
                path,
                err.line,
                err.line,
                1,
                f"Faultline could not check this file: {err.message}",
                key,
                content_key=content,
                fingerprint_v1=key,
            )
        )

    def add_hits(self, active: ActiveRule, source: SourceFile, hits: Iterable[Hit | RemoteHit]) -> None:
        placed = [(h.path, h.hit) if isinstance(h, RemoteHit) else (source.path, h) for h in hits]
        code = active.rule.code
        current, legacy = _Occurrences(), _Occurrences()
        already: Counter[str] | None = None
        for path, hit in sorted(placed, key=lambda item: (item[0], item[1].span)):
            target = source if path == source.path else self.ctx.source(path)
            if target is None:
                continue
            text = hit.fingerprint_key or target.segment(*hit.span)
            keys = _Keys(
                current.fingerprint(code, path, text),
                content_key(code, path, text),
                legacy.fingerprint(code, path, hit.fingerprint_key_v1 or text),
            )
            if keys.fingerprint in self.seen or not self.counts(path, hit):
                continue
            if suppressed(target, hit, active.rule):
                continue
            if active.rule.compare_base and path == source.path and not hit.from_change:
                already = self.base_statements(active.rule, source) if already is None else already
                if already[normalised(text)] > 0:
                    already[normalised(text)] -= 1  # the same statement was there before: moved, not new
                    continue
            self.seen.add(keys.fingerprint)
            self.report.findings.append(self.finding(active, path, hit, keys))

    def base_statements(self, rule: Rule, source: SourceFile) -> Counter[str]:
        """What the rule reports on the whole base version of the file, by
        normalised statement: a hit found there too was moved or re-indented
        (wrapped in a new ``with``), not added."""
        if self.ctx.whole_files:
            return Counter()
        base = self.ctx.base_source(source.path)
        if base is None:
            return Counter()
        base_ctx = Context(_BaseSide(self.ctx.repo), ChangeSet.whole([base.path]))
        try:
            hits = [h for h in rule.check(base, base_ctx) if isinstance(h, Hit)]
        except Exception:  # noqa: BLE001  # faultline: ignore[broad-except] an unparsable base: nothing was there
            return Counter()
        # Only a statement the change took away can have moved: one left untouched
        # in the base is still there, and must not hide a new one just like it.
        change = self.ctx.changes.get(source.path)
        gone = [h for h in hits if change is None or change.any_removed(*h.span)]
        return Counter(normalised(h.fingerprint_key or base.segment(*h.span)) for h in gone)

    def counts(self, path: str, hit: Hit) -> bool:
        """In diff mode only hits on added lines (or caused by the change) count."""
        if self.ctx.whole_files or hit.from_change:
            return True
        change = self.ctx.changes.get(path)
        return change is not None and change.any_added(*hit.span)

    def finding(self, active: ActiveRule, path: str, hit: Hit, keys: _Keys) -> Finding:
        rule = active.rule
        # A severity set in the config wins over the rule's own grading of the hit.
        severity = active.severity or hit.severity or rule.severity
        return Finding(
            code=rule.code,
            slug=rule.slug,
            severity=severity,
            path=path,
            line=hit.line,
            end_line=hit.last_line,
            column=hit.column,
            message=hit.message,
            fingerprint=keys.fingerprint,
            suggestion=hit.suggestion,
            title=rule.summary,
            content_key=keys.content,
            fingerprint_v1=keys.v1,
        )


class _BaseSide:
    """A RepoView whose new side is another view's base side."""

    def __init__(self, repo: RepoView) -> None:
        self.repo = repo

    def read_new(self, path: str) -> bytes | None:
        return self.repo.read_base(path)

    def read_base(self, path: str) -> bytes | None:
        return None

    def list_new(self, folder: str) -> list[str]:
        return []
