"""A GitHub simulator with one installed App and one repository, and helpers to
open pull requests and run the analysis job against it. In a test module:

    @pytest.fixture
    def world(tmp_path: Path) -> Iterator[World]:
        with sim_world(tmp_path) as made:
            yield made
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from faultline.analyzers.core.rule import Rule
from faultline.app.review.job import run_job
from faultline.app.settings import Settings
from faultline.app.work.request import AnalysisRequest
from tests.github_sim import GitHubSim, PullRequest, running_sim
from tests.github_sim.records import Installation

OWNER = "acme"
REPO = "shop"
FULL_NAME = f"{OWNER}/{REPO}"
AUTHOR = "alice"

Files = Mapping[str, str | bytes | None]


@dataclass
class World:
    sim: GitHubSim
    base_url: str
    settings: Settings
    installation: Installation
    main_sha: str
    deliveries: int = 0

    def commit(self, files: Files, parent: str | None = None, repo: str = FULL_NAME) -> str:
        return self.sim.commit(repo, files, parent=parent or self.main_sha)

    def open_pull(self, files: Files, *, user: str = AUTHOR, head_repo: str | None = None) -> PullRequest:
        head = self.commit(files, repo=head_repo or FULL_NAME)
        return self.sim.open_pull(FULL_NAME, head, user=user, head_repo=head_repo)

    def push(self, pull: PullRequest, files: Files) -> str:
        """A new commit on the pull request's head with ``files`` changed; returns its sha."""
        head = self.sim.commit(pull.head_repo.full_name, files, parent=pull.head_sha)
        self.sim.push(pull, head)
        return head

    def request(
        self, pull: PullRequest, trigger: str = "pull_request.opened", **fields: object
    ) -> AnalysisRequest:
        self.deliveries += 1
        values: dict[str, object] = {
            "delivery_id": f"delivery-{self.deliveries}",
            "trigger": trigger,
            "installation_id": self.installation.id,
            "owner": OWNER,
            "repo": REPO,
            "pull_number": pull.number,
            "head_sha": pull.head_sha,
        }
        values.update(fields)
        return AnalysisRequest(**values)  # type: ignore[arg-type]

    def run(
        self,
        pull: PullRequest,
        trigger: str = "pull_request.opened",
        rules: Sequence[type[Rule]] | None = None,
        **fields: object,
    ) -> None:
        run_job(self.settings, self.request(pull, trigger, **fields), rules=rules)


def make_settings(sim: GitHubSim, base_url: str, data_dir: Path) -> Settings:
    app = sim.app
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        app_id=app.id,
        app_slug=app.slug,
        private_key=SecretStr(app.private_pem),
        webhook_secret=SecretStr(app.webhook_secret),
        github_api_url=base_url.rstrip("/"),
        data_dir=data_dir,
        # Retries after a 5xx wait milliseconds, not seconds; what GitHub asks is still waited,
        # up to 10 s a call (a minute in production).
        github_backoff_seconds=0.02,
        github_retry_budget_seconds=10.0,
    )


@contextmanager
def sim_world(tmp_path: Path) -> Iterator[World]:
    """The simulator on loopback with ``acme/shop`` (branch main) and the App installed on it."""
    with running_sim() as running:
        sim = running.sim
        sim.add_repo(FULL_NAME)
        main = sim.commit(FULL_NAME, {"README.md": "# shop\n"}, branch="main")
        installation = sim.add_installation(OWNER)
        settings = make_settings(sim, running.base_url, tmp_path / "data")
        yield World(sim, running.base_url, settings, installation, main)
