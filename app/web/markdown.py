"""The Markdown of the generated rule pages as HTML: the few constructs those pages use, every
character of the text escaped.

The pages are generated from the rule classes (``app/render/rule_docs.py``), so the subset is
known: ATX headings, paragraphs, ``-`` lists (an item continues on lines indented by two
spaces), fenced code blocks, pipe tables, and inline code, ``**strong**``, ``*emphasis*`` and
``[links](url)``. Nothing else is interpreted: a ``<`` in the text is shown as ``<``, never
passed through as HTML. A Markdown library would be a dependency of the App for twenty lines of
this, and would have to be configured not to pass raw HTML through.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator
from html import escape

LinkFor = Callable[[str], str]  # a link's target as written -> the href it gets
Blocks = Generator[str, None, int]  # HTML blocks, then the index of the line after them

_HEADING = re.compile(r"^(#{1,6}) +(.*?) *#*$")
_FENCE = re.compile(r"^(`{3,})\s*([\w+-]*)\s*$")
_ITEM = re.compile(r"^- +(.*)$")
_INLINE = re.compile(
    r"(?P<code>(?P<ticks>`+)(?P<code_text>.+?)(?P=ticks))"
    r"|\[(?P<label>[^\]]+)\]\((?P<href>[^)\s]+)\)"
    r"|\*\*(?P<strong>\S(?:.*?\S)?)\*\*"
    r"|\*(?P<em>[^*\s](?:[^*]*[^*\s])?)\*"
)
_SAFE_HREF = re.compile(r"^(https?://|/|#|[\w.-]+(#[\w-]*)?$)")


def to_html(markdown: str, link_for: LinkFor = lambda href: href) -> str:
    """The HTML body of ``markdown``; ``link_for`` rewrites each link's target."""
    return "\n".join(_blocks(markdown.splitlines(), link_for))


def _blocks(lines: list[str], link_for: LinkFor) -> Iterator[str]:
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            index += 1
        elif fence := _FENCE.match(line):
            index = yield from _code(lines, index, fence)
        elif heading := _HEADING.match(line):
            level = len(heading.group(1))
            yield f"<h{level}>{inline(heading.group(2), link_for)}</h{level}>"
            index += 1
        elif _ITEM.match(line):
            index = yield from _list(lines, index, link_for)
        elif line.startswith("|"):
            index = yield from _table(lines, index, link_for)
        else:
            index = yield from _paragraph(lines, index, link_for)


def _code(lines: list[str], start: int, fence: re.Match[str]) -> Blocks:
    ticks, language = fence.group(1), fence.group(2)
    end = start + 1
    while end < len(lines) and not lines[end].startswith(ticks):
        end += 1
    body = escape("\n".join(lines[start + 1 : end]))
    language_class = f' class="language-{escape(language)}"' if language else ""
    yield f"<pre><code{language_class}>{body}</code></pre>"
    return end + 1


def _list(lines: list[str], start: int, link_for: LinkFor) -> Blocks:
    items: list[str] = []
    index = start
    while index < len(lines):
        item = _ITEM.match(lines[index])
        if item:
            items.append(item.group(1))
        elif lines[index].startswith("  ") and lines[index].strip() and items:
            items[-1] += " " + lines[index].strip()
        else:
            break
        index += 1
    yield "<ul>" + "".join(f"<li>{inline(item, link_for)}</li>" for item in items) + "</ul>"
    return index


def _table(lines: list[str], start: int, link_for: LinkFor) -> Blocks:
    index = start
    rows: list[list[str]] = []
    while index < len(lines) and lines[index].startswith("|"):
        cells = [cell.strip() for cell in lines[index].strip().strip("|").split("|")]
        if not all(re.fullmatch(r":?-+:?", cell) for cell in cells):  # the separator row
            rows.append(cells)
        index += 1
    head, body = (rows[0], rows[1:]) if rows else ([], [])
    parts = ["<table>", _row(head, "th", link_for), *(_row(row, "td", link_for) for row in body), "</table>"]
    yield "".join(parts)
    return index


def _row(cells: list[str], tag: str, link_for: LinkFor) -> str:
    return "<tr>" + "".join(f"<{tag}>{inline(cell, link_for)}</{tag}>" for cell in cells) + "</tr>"


def _paragraph(lines: list[str], start: int, link_for: LinkFor) -> Blocks:
    index = start
    text: list[str] = []
    while index < len(lines):
        line = lines[index]
        starts_block = _FENCE.match(line) or _HEADING.match(line) or _ITEM.match(line) or line.startswith("|")
        if not line.strip() or (text and starts_block):
            break
        text.append(line.strip())
        index += 1
    yield f"<p>{inline(' '.join(text), link_for)}</p>"
    return index


def inline(text: str, link_for: LinkFor = lambda href: href) -> str:
    """One line of text: code spans, links, strong and emphasis; the rest escaped."""
    out: list[str] = []
    position = 0
    for found in _INLINE.finditer(text):
        out.append(escape(text[position : found.start()]))
        out.append(_inline_element(found, link_for))
        position = found.end()
    out.append(escape(text[position:]))
    return "".join(out)


def _inline_element(found: re.Match[str], link_for: LinkFor) -> str:
    if found.group("code") is not None:
        return f"<code>{escape(found.group('code_text').strip())}</code>"
    if found.group("href") is not None:
        href = link_for(found.group("href"))
        label = inline(found.group("label"), link_for)
        if not _SAFE_HREF.match(href):  # javascript:, data: and the like stay text
            return label
        return f'<a href="{escape(href)}">{label}</a>'
    if found.group("strong") is not None:
        return f"<strong>{inline(found.group('strong'), link_for)}</strong>"
    return f"<em>{inline(found.group('em'), link_for)}</em>"
