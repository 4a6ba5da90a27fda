"""``faultline check --statistics``: how many findings each rule made, most first (as ruff's
``--statistics``), in text or JSON."""

from __future__ import annotations

import json
from collections import Counter

from faultline.app.render import Rendering, count_phrase, plural


def rows(rendering: Rendering) -> list[dict[str, object]]:
    counts = Counter((finding.code, finding.slug) for finding in rendering.report.findings)
    summaries = {rule.code: rule.summary for rule in rendering.rules}
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0][0]))
    return [
        {"code": code, "slug": slug, "count": count, "summary": summaries.get(code, "")}
        for (code, slug), count in ordered
    ]


def render_text(rendering: Rendering) -> str:
    table = rows(rendering)
    width = max((len(str(row["count"])) for row in table), default=1)
    slug_width = max((len(str(row["slug"])) for row in table), default=0)
    out = [
        f"{row['count']:>{width}}  {row['code']}  {row['slug']:<{slug_width}}  {row['summary']}".rstrip()
        for row in table
    ]
    if not rendering.quiet:
        report = rendering.report
        out.append(f"{count_phrase(report.findings)} in {plural(report.files_checked, 'file')} checked.")
    return "".join(f"{line}\n" for line in out)


def render_json(rendering: Rendering) -> str:
    return json.dumps(rows(rendering), indent=2) + "\n"
