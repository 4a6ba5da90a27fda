"""A stateful GitHub API simulator served over HTTP, for testing the App end to end.

    with running_sim() as (sim, base_url):          # or the `github_sim` fixture (fixtures.py)
        sim.add_repo("acme/shop")
        base = sim.commit("acme/shop", {"app.py": "x = 1\n"}, branch="main")
        head = sim.commit("acme/shop", {"app.py": "x = 2\n"}, parent=base)
        pr = sim.open_pull("acme/shop", head, user="alice")
        installation = sim.add_installation("acme")  # sim.app holds id, private_pem, webhook_secret
        ...  # point githubkit's base_url at base_url and run the App
        assert sim.check_runs("acme/shop", head)[0].conclusion == "success"

State lives in `GitHubSim` (state.py), the limits GitHub enforces in the route modules,
webhook deliveries in webhooks.py.
"""

from .fixtures import RunningSim, github_sim, github_sim_server, installation_client, running_sim
from .records import (
    CheckRun,
    IssueComment,
    PullRequest,
    Reaction,
    Repo,
    RequestRecord,
    Review,
    ReviewComment,
    Thread,
)
from .reviews import add_thread
from .state import GitHubSim

__all__ = [
    "CheckRun",
    "GitHubSim",
    "IssueComment",
    "PullRequest",
    "Reaction",
    "Repo",
    "RequestRecord",
    "Review",
    "ReviewComment",
    "RunningSim",
    "Thread",
    "add_thread",
    "github_sim",
    "github_sim_server",
    "installation_client",
    "running_sim",
]
