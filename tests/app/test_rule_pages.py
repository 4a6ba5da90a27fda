"""The App's own pages over real HTTP: the rule pages its comments link to, the setup page's
docs, events and permissions, and a way back from every error page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from faultline.analyzers.core.registry import documented_rules
from faultline.app.links import DEPLOY_DOCS_URL
from faultline.app.web.markdown import inline, to_html
from faultline.app.web.server import create_app
from faultline.app.web.setup import DEFAULT_MANIFEST
from faultline.app.work.queue import JobQueue
from tests.app.conftest import MakeSettings, StartServer
from tests.app.sim_fixtures import FULL_NAME, World, sim_world

HTML = {"Accept": "text/html,application/xhtml+xml"}
PUBLIC_URL = "https://faultline.example.com"


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [value for name, value in attrs if name == "href" and value]


def hrefs(html: str) -> list[str]:
    parser = Links()
    parser.feed(html)
    return parser.hrefs


@pytest.fixture
def app_url(make_settings: MakeSettings, start_server: StartServer) -> str:
    settings = make_settings()
    return start_server(create_app(settings, queue=JobQueue(settings)))


@pytest.fixture
def setup_url(make_settings: MakeSettings, start_server: StartServer) -> str:
    settings = make_settings(app_id=None, private_key=None, webhook_secret=None)
    return start_server(create_app(settings))


def test_every_rule_has_a_page_by_code_and_by_slug(app_url: str) -> None:
    for rule in documented_rules():
        page = httpx.get(f"{app_url}/rules/{rule.code}")
        assert page.status_code == 200, rule.code
        assert page.headers["content-type"].startswith("text/html")
        assert f"<h1>{rule.code} {rule.slug}</h1>" in page.text
        for name in (rule.slug, f"{rule.slug}.md", rule.code.lower()):
            assert httpx.get(f"{app_url}/rules/{name}").text == page.text, name


def test_the_index_links_every_rule_to_a_page_that_answers(app_url: str) -> None:
    for path in ("/rules/", "/rules"):
        index = httpx.get(f"{app_url}{path}", follow_redirects=False)
        assert index.status_code == 200
    local = [href for href in hrefs(index.text) if href.startswith("/")]
    assert {f"/rules/{rule.slug}" for rule in documented_rules()} <= set(local)
    for href in local:
        assert httpx.get(urljoin(app_url, href)).status_code == 200, href


def test_code_in_a_rule_page_is_shown_not_run(app_url: str) -> None:
    page = httpx.get(f"{app_url}/rules/missing-error-boundary").text
    assert "&lt;App /&gt;" in page or "&lt;App&gt;" in page
    assert "<App" not in page


def test_an_unknown_rule_is_a_404_page_with_the_way_back(app_url: str) -> None:
    missing = httpx.get(f"{app_url}/rules/FL999")
    assert missing.status_code == 404
    assert "FL999" in missing.text
    assert {"/", "/rules/"} <= set(hrefs(missing.text))


def test_an_unknown_page_is_html_for_a_browser_and_json_for_the_rest(app_url: str) -> None:
    page = httpx.get(f"{app_url}/nothing-here", headers=HTML)
    assert page.status_code == 404
    assert "/nothing-here" in page.text and "/" in hrefs(page.text)
    assert httpx.get(f"{app_url}/nothing-here").json() == {"detail": "Not Found"}
    # The webhook's answers are unchanged: GitHub reads JSON.
    assert httpx.get(f"{app_url}/webhook", headers=HTML).status_code == 405


def test_the_setup_page_links_the_docs_and_lists_events_and_permissions(setup_url: str) -> None:
    page = httpx.get(f"{setup_url}/").text
    assert DEPLOY_DOCS_URL in hrefs(page)
    assert "docs/deploy.md" not in re.sub(r'href="[^"]*"', "", page)  # a URL, never a bare file name
    for event in DEFAULT_MANIFEST["default_events"]:
        assert f"<code>{event}</code>" in page
    for name, level in DEFAULT_MANIFEST["default_permissions"].items():
        assert f"<li>{name}: {level}</li>" in page
    # Rule pages are served in setup mode too.
    assert httpx.get(f"{setup_url}/rules/FL001").status_code == 200


def test_a_setup_error_page_has_the_way_back(setup_url: str) -> None:
    refused = httpx.get(f"{setup_url}/setup/callback?code=abc&state=unknown")
    assert refused.status_code == 400
    assert "/" in hrefs(refused.text) and DEPLOY_DOCS_URL in hrefs(refused.text)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with sim_world(tmp_path) as made:
        made.settings = made.settings.model_copy(update={"public_url": PUBLIC_URL})
        made.main_sha = made.sim.commit(
            FULL_NAME, {".github/faultline.yml": "comment_on: notice\n"}, parent=made.main_sha, branch="main"
        )
        yield made


BROKEN = "def f(:\n    pass\n"
RISKY = (
    "def current_user(token):\n    try:\n        return session.get(User, decode(token))\n"
    "    except (JWTError, Exception):\n        raise HTTPException(status_code=401)\n"
)


def test_what_the_app_publishes_links_to_its_own_pages(world: World, app_url: str) -> None:
    pull = world.open_pull({"app/auth.py": RISKY, "app/broken.py": BROKEN})
    world.run(pull)
    (run,) = world.sim.check_runs(FULL_NAME, pull.head_sha)
    texts = [run.summary or "", *(a["message"] for a in run.annotations)]
    texts += [comment.body for comment in world.sim.review_comments(pull)]
    links = {url for text in texts for url in re.findall(r"https?://[^\s)\"'<>]+", text)}
    ours = {url for url in links if url.startswith(f"{PUBLIC_URL}/rules/")}
    assert f"{PUBLIC_URL}/rules/FL001" in ours
    for url in ours:  # the same path on this server answers with the rule's page
        assert httpx.get(app_url + urlsplit(url).path).status_code == 200, url
    assert not [url for url in links if "/docs/rules/" in url]


def test_the_markdown_subset_is_escaped() -> None:
    assert inline("`<b>` and <i>x</i>") == "<code>&lt;b&gt;</code> and &lt;i&gt;x&lt;/i&gt;"
    assert "<a" not in inline("[x](javascript:alert(1))")
    assert inline("**a** *b* [c](c.md)", lambda href: "/rules/c") == (
        '<strong>a</strong> <em>b</em> <a href="/rules/c">c</a>'
    )
    markdown = "# T\n\n- one\n  two\n- three\n\n```python\nif a < b:\n    pass\n```\n\n"
    html = to_html(markdown + "| A | B |\n| --- | --- |\n| 1 | 2 |\n")
    assert html == (
        "<h1>T</h1>\n<ul><li>one two</li><li>three</li></ul>\n"
        '<pre><code class="language-python">if a &lt; b:\n    pass</code></pre>\n'
        "<table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td>2</td></tr></table>"
    )


def test_a_page_that_fails_is_a_500_page_with_the_way_back(
    app_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from faultline.app.web import rule_pages

    def broken() -> dict[str, rule_pages.RulePage]:
        raise RuntimeError("the rules could not be loaded")

    monkeypatch.setattr(rule_pages, "rule_pages", broken)
    page = httpx.get(f"{app_url}/rules/FL001", headers=HTML)
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert "/" in hrefs(page.text) and "the rules could not be loaded" not in page.text
    assert httpx.get(f"{app_url}/rules/FL001").json() == {"error": "internal error"}
