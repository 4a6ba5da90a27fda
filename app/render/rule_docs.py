"""Rule documentation generated from the rule classes: the ``faultline rules``
table, one page per rule, and the pages under docs/rules/."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from faultline.analyzers.core.rule import Rule
from faultline.analyzers.languages import fence_for

_SKIPPED = "tests, `setup.py`, docs and examples are skipped unless the config includes them"


def rules_table(rules: Sequence[type[Rule]]) -> str:
    rows = [(rule.code, rule.slug, str(rule.severity), rule.summary) for rule in rules]
    widths = [max(len(row[i]) for row in [("CODE", "SLUG", "SEVERITY", ""), *rows]) for i in range(3)]
    lines = [f"{'CODE':<{widths[0]}}  {'SLUG':<{widths[1]}}  {'SEVERITY':<{widths[2]}}  SUMMARY"]
    lines += [f"{c:<{widths[0]}}  {s:<{widths[1]}}  {v:<{widths[2]}}  {m}" for c, s, v, m in rows]
    return "\n".join(lines) + "\n"


def _fence(code: str, path: str) -> str:
    return f"```{fence_for(path)}\n{code.rstrip()}\n```"


def rule_page(rule: type[Rule]) -> str:
    applies = ", ".join(f"`{pattern}`" for pattern in rule.patterns)
    if rule.production_only:
        applies += f" ({_SKIPPED})"
    parts = [
        f"# {rule.code} {rule.slug}",
        "",
        f"{rule.summary}.",
        "",
        f"- Severity: {rule.severity}",
        f"- Applies to: {applies}",
        f"- Suggests a fix: {'yes' if rule.can_fix() else 'no'}",
        f"- Suppress with: `# faultline: ignore[{rule.slug}]` on the line or the line above",
        "",
        rule.rationale(),
        "",
        "## Reported (from the test suite)",
    ]
    parts += _examples(rule.INVALID[:3])
    parts += ["", "## Not reported (from the test suite)"]
    parts += _examples(rule.VALID[:3])
    return "\n".join(parts).rstrip() + "\n"


def _examples(examples: Iterable[object]) -> list[str]:
    out: list[str] = []
    for example in examples:
        path = getattr(example, "path", "")
        code = getattr(example, "code", "")
        out += ["", f"`{path}`:", "", _fence(code, path)]
    return out


def pages(rules: Sequence[type[Rule]]) -> dict[str, str]:
    """File name → content for docs/rules/."""
    files = {f"{rule.slug}.md": rule_page(rule) for rule in rules}
    index = ["# Rules", "", "| Code | Rule | Severity | Summary |", "| --- | --- | --- | --- |"]
    index += [f"| {r.code} | [{r.slug}]({r.slug}.md) | {r.severity} | {r.summary} |" for r in rules]
    files["README.md"] = "\n".join(index) + "\n"
    return files


def write_pages(folder: Path) -> list[Path]:
    from faultline.analyzers.core.registry import all_rules

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in pages(all_rules()).items():
        path = folder / name
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written
