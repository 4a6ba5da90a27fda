"""A pull request pushed to step by step, with the App's job run after each push,
and what a reviewer sees of Faultline on it then. A test reads:

    seq = PushSequence(world)
    assert seq.step({"app/store.py": ONE}) == [Seen("app/store.py", 4, "FL001")]
    assert seq.step({"app/store.py": TWO}) == [Seen("app/store.py", 9, "FL001"), Seen(...)]

``step`` pushes (the first push opens the pull request), runs the job as the
webhook for that push would, and returns every Faultline comment in the order
they were made: its path, its line on the latest commit as GitHub shows it (None
when outdated), the rule it names and whether its thread is resolved. The list is
exact, so a duplicate or a missing comment fails the comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

from faultline.analyzers.core.changes import ChangeSet
from faultline.analyzers.core.config import Config
from faultline.analyzers.core.engine import Engine
from faultline.analyzers.core.repo import MemoryRepoView
from faultline.app.links import RuleLinks
from faultline.app.render.comment import MARKER_V1, rule_in
from tests.app.sim_fixtures import Files, World
from tests.github_sim import CheckRun, PullRequest
from tests.github_sim.reviews import create_review, head_lines


@dataclass(frozen=True)
class Seen:
    """One Faultline comment as the pull request shows it on its latest commit."""

    path: str
    line: int | None  # None: outdated
    rule: str
    resolved: bool = False


class PushSequence:
    def __init__(self, world: World) -> None:
        self.world = world
        self._pull: PullRequest | None = None
        self.runs = 0

    @property
    def pull(self) -> PullRequest:
        assert self._pull is not None, "nothing pushed yet"
        return self._pull

    def push(self, files: Files) -> str:
        """Commit ``files`` (None deletes a path) on the head; the first push opens the pull request."""
        if self._pull is None:
            self._pull = self.world.open_pull(files)
            return self._pull.head_sha
        return self.world.push(self._pull, files)

    def run(self) -> list[Seen]:
        """Run the job for the head, as the delivery of its push asks."""
        self.world.run(self.pull, "pull_request.synchronize" if self.runs else "pull_request.opened")
        self.runs += 1
        return self.seen()

    def step(self, files: Files) -> list[Seen]:
        self.push(files)
        return self.run()

    def seen(self) -> list[Seen]:
        sim = self.world.sim
        found = []
        for comment in sorted(sim.review_comments(self.pull), key=lambda c: c.id):
            if comment.user is not sim.app.bot or comment.in_reply_to is not None:
                continue
            thread = sim.thread_records[comment.thread_id]
            _, line = head_lines(sim, comment)
            found.append(Seen(comment.path, line, rule_in(comment.body), thread.is_resolved))
        return found

    def check(self) -> CheckRun:
        """The latest check run on the head."""
        return self.world.sim.check_runs(head_sha=self.pull.head_sha)[-1]

    def leave_v1_comment(self, path: str, line: int, fingerprint: str, sha: str | None = None) -> None:
        """A comment as version 1 of the App wrote it on ``sha`` (default: the head)."""
        sim, pull = self.world.sim, self.pull
        marker = MARKER_V1.format(fingerprint=fingerprint)
        link = RuleLinks().url("FL001", "broad-except")
        body = f"**Warning** [FL001 broad-except]({link}): swallows errors\n\n{marker}"
        spec = {"path": path, "line": line, "side": "RIGHT", "body": body}
        with sim.lock:
            payload = {"commit_id": sha or pull.head_sha, "event": "COMMENT", "comments": [spec]}
            create_review(sim, pull, sim.app.bot, payload)


def v1_fingerprints(files: dict[str, str]) -> dict[tuple[str, int], str]:
    """The fingerprint version 1 gave each finding of ``files`` (read whole), by path and line."""
    data = {path: text.encode() for path, text in files.items()}
    report = Engine(Config()).run(ChangeSet.whole(data), MemoryRepoView(data))
    return {(f.path, f.line): f.fingerprint_v1 for f in report.findings}
