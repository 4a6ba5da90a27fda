"""Every rule link an output contains points at a page that exists: with the default base, a
file of this repository's docs/rules/; a base the user set is used as given, by every output."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from faultline.analyzers.core.engine import Report
from faultline.analyzers.core.findings import Finding, Severity
from faultline.analyzers.core.registry import all_rules, documented_rules
from faultline.app.links import DOCS_URL, REPOSITORY_URL, RuleLinks
from faultline.app.render import Rendering, actions, check_run, comment, sarif
from faultline.app.render import json as json_output
from faultline.app.settings import Settings
from tests.conftest import GitRepo

ROOT = Path(__file__).resolve().parent.parent
URL = re.compile(r"https?://[^\s)\"'<>]+")


def findings() -> list[Finding]:
    """One finding of every documented rule, FL000 included."""
    return [
        Finding(rule.code, rule.slug, rule.severity, "app/x.py", n + 1, n + 1, 1, "m", f"fp{n}")
        for n, rule in enumerate(documented_rules())
    ]


def every_output(links: RuleLinks) -> str:
    """The text of every output that links to rules, with one finding of each rule."""
    report = Report(findings=findings(), files_checked=1)
    rendering = Rendering(report, all_rules(), links=links)
    outcome = check_run.Outcome(report, "abc1234", Severity.ERROR, {}, links=links)
    output = check_run.render(outcome)
    bodies = [
        comment.comment_body(comment.Placement(finding, finding.line, finding.line, False), None, links)
        for finding in report.findings
    ]
    return "\n".join(
        [
            json_output.render(rendering),
            actions.render(rendering).replace("%0A", "\n"),
            sarif.render(rendering),
            output.summary,
            *(annotation["message"] for annotation in output.annotations),
            *bodies,
        ]
    )


def repository_file(url: str) -> Path:
    assert url.startswith(f"{DOCS_URL}/"), url
    return ROOT / "docs" / url.removeprefix(f"{DOCS_URL}/")


def test_the_repository_url_is_the_package_metadata() -> None:
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    assert urls["Repository"] == REPOSITORY_URL
    for url in urls.values():
        if url.startswith(DOCS_URL):
            assert repository_file(url.split("#")[0]).is_file(), url


def test_every_default_link_is_a_page_of_the_repository() -> None:
    text = every_output(RuleLinks())
    links = {url for url in URL.findall(text) if url.startswith(REPOSITORY_URL)}
    # Every rule is linked, and nothing but the docs is.
    for rule in documented_rules():
        assert f"{DOCS_URL}/rules/{rule.slug}.md" in links
    missing = [url for url in links if not repository_file(url).is_file()]
    assert missing == []


def test_sarif_links_each_rule_and_the_index() -> None:
    document = json.loads(sarif.render(Rendering(Report(), all_rules(), links=RuleLinks())))
    driver = document["runs"][0]["tool"]["driver"]
    assert repository_file(driver["informationUri"]).name == "README.md"
    assert repository_file(driver["informationUri"]).is_file()
    help_uris = {rule["id"]: rule["helpUri"] for rule in driver["rules"]}
    assert help_uris["FL000"] == f"{DOCS_URL}/rules/parse-error.md"
    assert all(repository_file(uri).is_file() for uri in help_uris.values())


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        (
            "https://docs.example.org/faultline/rules/",
            "https://docs.example.org/faultline/rules/broad-except.md",
        ),
        ("https://docs.example.org/r/{code}.html", "https://docs.example.org/r/FL001.html"),
        ("https://x.example/{code}/{slug}", "https://x.example/FL001/broad-except"),
    ],
)
def test_a_base_the_user_sets_is_what_every_output_links_to(base: str, expected: str) -> None:
    links = RuleLinks.from_env({"FAULTLINE_DOCS_URL": base})
    assert links.url("FL001", "broad-except") == expected
    text = every_output(links)
    prefix = base.split("{", 1)[0]
    linked = {url for url in URL.findall(text) if url.startswith(prefix)}
    assert {links.url(rule.code, rule.slug) for rule in documented_rules()} <= linked
    # No output kept a link to the repository's pages.
    assert not [url for url in URL.findall(text) if url.startswith(DOCS_URL)]


def test_the_cli_reads_its_base_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAULTLINE_DOCS_URL", "https://mirror.example/rules")
    assert (
        Rendering(Report(), ()).links.url("FL001", "broad-except")
        == "https://mirror.example/rules/broad-except.md"
    )
    monkeypatch.delenv("FAULTLINE_DOCS_URL")
    assert Rendering(Report(), ()).links == RuleLinks()


def test_the_app_links_to_its_own_pages_unless_it_is_local() -> None:
    public = Settings(_env_file=None, public_url="https://faultline.example.com/")  # type: ignore[call-arg]
    assert public.rule_links.url("FL001", "broad-except") == "https://faultline.example.com/rules/FL001"
    assert public.rule_links.index() == "https://faultline.example.com/rules/"
    # Nobody else reaches localhost: a local instance links to the repository's pages.
    local = Settings(_env_file=None, public_url="http://localhost:8000")  # type: ignore[call-arg]
    assert local.rule_links == RuleLinks()
    chosen = Settings(_env_file=None, public_url="https://f.example", docs_url="https://d.example/{code}")  # type: ignore[call-arg]
    assert chosen.rule_links.url("FL002", "cascade-delete") == "https://d.example/FL002"


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces as -."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_setup_pages_link_to_sections_that_exist() -> None:
    from faultline.app.web import setup

    urls = (setup.DEPLOY_DOCS_URL, setup.FORWARDER_DOCS_URL, setup.REQUIRED_CHECK_DOCS_URL)
    for url in (*urls, setup.SETUP_MODE_DOCS_URL):
        page, _, anchor = url.partition("#")
        text = repository_file(page).read_text()
        headings = {github_anchor(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}
        assert not anchor or anchor in headings, url


def test_the_cli_job_summary_links_like_its_other_outputs(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from faultline.app.cli.main import main

    monkeypatch.chdir(git_repo.root)
    git_repo.write("app/new.py", "try:\n    db.execute(q)\nexcept Exception:\n    raise HTTPException(401)\n")
    summary = tmp_path / "summary.md"
    assert main(["check", "--summary", str(summary), "--fail-on", "never"]) == 0
    assert f"[FL001 broad-except]({DOCS_URL}/rules/broad-except.md)" in summary.read_text()
    capsys.readouterr()
    monkeypatch.setenv("FAULTLINE_DOCS_URL", "https://mirror.example/rules/{code}")
    assert main(["check", "--summary", str(summary), "--format", "json", "--fail-on", "never"]) == 0
    assert [f["docs"] for f in json.loads(capsys.readouterr().out)["findings"]] == [
        "https://mirror.example/rules/FL001"
    ]
    assert "[FL001 broad-except](https://mirror.example/rules/FL001)" in summary.read_text()
