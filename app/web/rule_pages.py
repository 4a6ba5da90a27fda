"""``/rules/``: the rule pages, served by the App itself so that the links in its comments and
check runs work for everyone who can see them, with or without access to the repository.

The pages are the Markdown of ``docs/rules/``, generated from the rule classes by the same
function (``rule_docs.pages``), shown as HTML (``markdown.py``). ``/rules/FL001``,
``/rules/broad-except`` and ``/rules/broad-except.md`` are the same page; ``/rules/`` lists
them all. The rules are loaded on the first request, not when the server starts: the receiver
does not load the engine to answer webhooks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from faultline.app.links import RULES_PATH
from faultline.app.web.markdown import to_html
from faultline.app.web.setup import message_page, page

INDEX_TITLE = "Faultline rules"
NO_SUCH_RULE = "Faultline has no rule {name!r}."


@dataclass(frozen=True)
class RulePage:
    title: str
    html: str


@cache
def rule_pages() -> dict[str, RulePage]:
    """Every page by the names it answers to: code, slug, ``slug.md``; the index as ``""``."""
    from faultline.analyzers.core.registry import documented_rules
    from faultline.app.render.rule_docs import pages

    rules = documented_rules()
    markdown = pages(rules)
    found = {"": RulePage(INDEX_TITLE, page(INDEX_TITLE, to_html(markdown["README.md"], _href)))}
    for rule in rules:
        title = f"{rule.code} {rule.slug}"
        shown = RulePage(title, page(title, to_html(markdown[f"{rule.slug}.md"], _href)))
        for name in (rule.code, rule.slug, f"{rule.slug}.md"):
            found[name] = shown
    return found


def _href(target: str) -> str:
    """The generated pages link to each other as ``slug.md``: here that is ``/rules/slug``."""
    if target.endswith(".md") and "/" not in target:
        return f"{RULES_PATH}/{target.removesuffix('.md')}"
    return target


def add_rule_pages(app: FastAPI) -> None:
    @app.get(f"{RULES_PATH}/", response_class=HTMLResponse)
    @app.get(RULES_PATH, response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        pages = await run_in_threadpool(rule_pages)
        return HTMLResponse(pages[""].html)

    @app.get(RULES_PATH + "/{name}", response_class=HTMLResponse)
    async def rule(name: str) -> HTMLResponse:
        pages = await run_in_threadpool(rule_pages)
        shown = pages.get(name) or pages.get(name.upper())
        if shown is None:
            more = f'<p><a href="{RULES_PATH}/">Every rule</a></p>'
            missing = message_page(
                "No such rule", NO_SUCH_RULE.format(name=name), kind="error", more_html=more
            )
            return HTMLResponse(missing, 404)
        return HTMLResponse(shown.html)
