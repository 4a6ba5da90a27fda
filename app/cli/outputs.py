"""What ``faultline check`` writes beside its report, from the same run: the App's
check-run summary in Markdown (``--summary``, for a workflow's job summary) and SARIF
(``--sarif``, for code scanning), so that a workflow step analyses the change once."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from faultline.analyzers.core.findings import Severity
from faultline.app.cli.git import GitError, GitRepoView, git

if TYPE_CHECKING:
    from faultline.analyzers.core.engine import Report
    from faultline.app.cli.workspace import Workspace

SUMMARY_HEADING = "## {name}: {title}"


def add_arguments(check: argparse.ArgumentParser) -> None:
    check.add_argument(
        "--summary",
        metavar="FILE",
        help="also append the App's check-run summary, in Markdown, to FILE (e.g. $GITHUB_STEP_SUMMARY)",
    )
    check.add_argument("--sarif", metavar="FILE", help="also write the findings as SARIF to FILE")


def write(
    args: argparse.Namespace, report: Report, workspace: Workspace, fail_level: Severity | None
) -> None:
    if args.summary:
        text = job_summary(report, workspace, fail_level, fail_source(args.fail_on, args.config))
        # Appended: $GITHUB_STEP_SUMMARY is one file per step that every command adds to.
        with Path(args.summary).open("a", encoding="utf-8", errors="replace") as out:
            out.write(text)
    if args.sarif:
        Path(args.sarif).write_bytes(sarif(report, workspace, fail_level).encode("utf-8", errors="replace"))


def fail_source(flag: str | None, config: str | None) -> str | None:
    """Where the summary says the fail level comes from; None: `fail_on` in the usual config file."""
    if flag is not None:
        return f"`--fail-on {flag}`"
    if config:
        return f"`fail_on` in `{config}`"
    return None


def job_summary(
    report: Report, workspace: Workspace, fail_level: Severity | None, source: str | None = None
) -> str:
    """The check run the App would publish, as Markdown: its name and title, then its summary."""
    from faultline.analyzers.core.registry import rule_index
    from faultline.app.links import RuleLinks
    from faultline.app.render import check_run

    sha = checked_commit(workspace)
    outcome = check_run.Outcome(
        report=report,
        sha=sha,
        fail_level=fail_level,
        rules=rule_index(),
        blob_url=blob_url(sha),
        fail_source=source,
        comments=False,
        links=RuleLinks.from_env(),  # as the CLI's other outputs: FAULTLINE_DOCS_URL, else the repository's
    )
    output = check_run.render(outcome)
    heading = SUMMARY_HEADING.format(name=check_run.CHECK_NAME, title=output.title)
    return f"{heading}\n\n{output.summary}\n\n"


def sarif(report: Report, workspace: Workspace, fail_level: Severity | None) -> str:
    from faultline.analyzers.core.registry import all_rules
    from faultline.app.render import Rendering
    from faultline.app.render import sarif as sarif_format

    return sarif_format.render(Rendering(report, all_rules(), root=workspace.root, fail_level=fail_level))


def checked_commit(workspace: Workspace) -> str:
    """The commit whose files were checked: the head of ``--base``, or HEAD when the work tree
    is HEAD's own files (``--all`` on a clean checkout); empty for uncommitted work."""
    repo = workspace.repo
    if isinstance(repo, GitRepoView) and repo.head_rev is not None:
        return repo.head_rev
    try:
        if git(workspace.root, "status", "--porcelain", "--untracked-files=normal").strip():
            return ""
        return git(workspace.root, "rev-parse", "--verify", "-q", "HEAD^{commit}").strip()
    except (GitError, FileNotFoundError):
        return ""  # not a git repository, or no commit yet


def blob_url(sha: str) -> str:
    """Links to the flagged lines, in a GitHub Actions job (which names the server and repository)."""
    server, repository = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    if not (sha and server and repository):
        return ""
    return f"{server.rstrip('/')}/{repository}/blob/{sha}"
