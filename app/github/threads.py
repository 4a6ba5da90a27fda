"""The review threads Faultline opened: reading them through GraphQL (with the 👎 on
their first comment, in the same query), and which to resolve or reopen when a later
push fixes a finding or brings it back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, Field

from faultline.analyzers.core.findings import Finding
from faultline.app.github.client import InstallationClient
from faultline.app.render.comment import fingerprint_in, rule_in

THREADS_PER_PAGE = 100
# GraphQL's ReactionContent for 👎: a reviewer's "not useful" (``app/review/feedback.py``).
THUMBS_DOWN = "THUMBS_DOWN"

THREADS_QUERY = """
query($owner: String!, $name: String!, $number: Int!, $first: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: $first, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes {
          id
          isResolved
          resolvedBy { login }
          path
          comments(first: 1) {
            nodes {
              databaseId body author { __typename login }
              reactionGroups { content viewerHasReacted reactors { totalCount } }
            }
          }
        }
      }
    }
  }
}
"""
RESOLVE_MUTATION = """
mutation($thread: ID!) {
  resolveReviewThread(input: {threadId: $thread}) { thread { id isResolved } }
}
"""
UNRESOLVE_MUTATION = """
mutation($thread: ID!) {
  unresolveReviewThread(input: {threadId: $thread}) { thread { id isResolved } }
}
"""


# -- what GitHub holds already -----------------------------------------------------------------

# The answer to THREADS_QUERY; field names are GraphQL's.


class _Author(BaseModel):
    typename: str = Field(default="", alias="__typename")
    login: str = ""


class _Reactors(BaseModel):
    totalCount: int = 0


class _ReactionGroup(BaseModel):
    content: str = ""
    viewerHasReacted: bool = False
    reactors: _Reactors = _Reactors()

    @property
    def by_others(self) -> int:
        """The reactions of people, not Faultline's own (the viewer is the App)."""
        return max(0, self.reactors.totalCount - self.viewerHasReacted)


class _Comment(BaseModel):
    databaseId: int | None = None
    body: str = ""
    author: _Author | None = None
    reactionGroups: list[_ReactionGroup] | None = None

    def reactions(self, content: str) -> int:
        return sum(group.by_others for group in self.reactionGroups or () if group.content == content)


class _Comments(BaseModel):
    nodes: list[_Comment | None] = []


class _Resolver(BaseModel):
    login: str = ""


class Thread(BaseModel):
    id: str
    isResolved: bool
    resolvedBy: _Resolver | None = None
    path: str = ""
    comments: _Comments = _Comments()


class _PageInfo(BaseModel):
    hasNextPage: bool = False
    endCursor: str | None = None


class _Threads(BaseModel):
    pageInfo: _PageInfo = _PageInfo()
    nodes: list[Thread | None] = []


@dataclass(frozen=True)
class BotThread:
    """A review thread opened by Faultline's comment on ``fingerprint``."""

    id: str
    fingerprint: str
    path: str
    resolved: bool
    # Resolved by Faultline (the finding was gone), not by a person dismissing it.
    resolved_by_us: bool = False
    comment_id: int | None = None  # of the comment that opened it
    rule: str = ""  # the code its comment names
    thumbs_down: int = 0  # 👎 reactions on that comment


class Identity:
    """Which comments are Faultline's: the App's bot wrote them and they carry the marker."""

    def __init__(self, slug: str | None, app_id: int | None = None) -> None:
        self.slug = slug
        self.app_id = app_id

    def ours(self, login: str | None, kind: str | None) -> bool:
        if kind not in ("Bot", None):
            return False
        if self.slug is None:
            return kind == "Bot"
        # REST says "slug[bot]", GraphQL says "slug".
        return (login or "").removesuffix("[bot]") == self.slug


def threads_to_resolve(
    threads: Sequence[BotThread], findings: Sequence[Finding], unchecked: frozenset[str]
) -> list[BotThread]:
    """Open threads whose finding is gone. A file that could not be checked this
    time (skipped, unparsable) proves nothing: its threads stay as they are."""
    current = {finding.fingerprint for finding in findings}
    return [t for t in threads if not t.resolved and t.fingerprint not in current and t.path not in unchecked]


def threads_to_reopen(threads: Sequence[BotThread], findings: Sequence[Finding]) -> list[BotThread]:
    """Threads Faultline resolved whose finding is back. A thread a person resolved
    stays resolved: they dismissed the finding."""
    current = {finding.fingerprint for finding in findings}
    return [t for t in threads if t.resolved_by_us and t.fingerprint in current]


def threads_page(data: Mapping[str, object]) -> _Threads:
    repository = data.get("repository")
    pull = repository.get("pullRequest") if isinstance(repository, dict) else None
    threads = pull.get("reviewThreads") if isinstance(pull, dict) else None
    return _Threads.model_validate(threads or {})


class ReviewThreads:
    """The review threads Faultline opened on one repository's pull requests."""

    def __init__(self, client: InstallationClient, owner: str, repo: str, identity: Identity) -> None:
        self.client = client
        self.owner = owner
        self.repo = repo
        self.identity = identity

    async def bot_threads(self, number: int) -> list[BotThread]:
        threads: list[BotThread] = []
        after: str | None = None
        while True:
            variables: dict[str, object] = {
                "owner": self.owner,
                "name": self.repo,
                "number": number,
                "first": THREADS_PER_PAGE,
                "after": after,
            }
            data = await self.client.graphql(THREADS_QUERY, variables)
            page = threads_page(data)
            threads.extend(self._bot_thread(node) for node in page.nodes if node is not None)
            if not page.pageInfo.hasNextPage or not page.pageInfo.endCursor:
                break
            after = page.pageInfo.endCursor
        return [thread for thread in threads if thread.fingerprint]

    def _bot_thread(self, node: Thread) -> BotThread:
        first = node.comments.nodes[0] if node.comments.nodes else None
        fingerprint = ""
        if first is not None:
            author = first.author
            if author is None or self.identity.ours(author.login, author.typename):
                fingerprint = fingerprint_in(first.body) or ""
        return BotThread(
            node.id,
            fingerprint,
            node.path,
            node.isResolved,
            self._resolved_by_us(node),
            comment_id=first.databaseId if first else None,
            rule=rule_in(first.body) if first else "",
            thumbs_down=first.reactions(THUMBS_DOWN) if first else 0,
        )

    def _resolved_by_us(self, node: Thread) -> bool:
        # resolvedBy is a User: GitHub gives null when an App resolved the thread.
        if not node.isResolved:
            return False
        return node.resolvedBy is None or self.identity.ours(node.resolvedBy.login, None)

    async def resolve(self, thread: BotThread) -> None:
        await self.client.graphql(RESOLVE_MUTATION, {"thread": thread.id})

    async def reopen(self, thread: BotThread) -> None:
        await self.client.graphql(UNRESOLVE_MUTATION, {"thread": thread.id})
