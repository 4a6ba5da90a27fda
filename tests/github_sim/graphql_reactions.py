"""Reactions on review comments in GraphQL (``reactionGroups``, ``reactions``), and what a
person does on a pull request that the App cannot: react 👎, resolve a thread.

GitHub's shapes: ``reactionGroups`` lists every content, empty groups included, each
with ``reactors`` (a connection of User or Bot); ``reactions(content:)`` is a connection
of Reaction. A connection asked only for ``totalCount`` needs no ``first``/``last``, as on
GitHub. REST's contents ("-1") are GraphQL's enum values (THUMBS_DOWN).
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo, GraphQLSchema

from .records import Reaction, ReviewComment, Thread, User
from .render import iso
from .state import GitHubSim, node_id

SDL = """
enum ReactionContent { THUMBS_UP THUMBS_DOWN LAUGH HOORAY CONFUSED HEART ROCKET EYES }
union Reactor = User | Bot
type ReactorEdge { cursor: String!, node: Reactor!, reactedAt: String! }
type ReactorConnection {
  nodes: [Reactor!]!
  edges: [ReactorEdge!]!
  pageInfo: PageInfo!
  totalCount: Int!
}
type ReactionGroup {
  content: ReactionContent!
  createdAt: String
  reactors(first: Int, after: String, last: Int, before: String): ReactorConnection!
  viewerHasReacted: Boolean!
}
type Reaction { id: ID!, databaseId: Int, content: ReactionContent!, createdAt: String!, user: User }
type ReactionEdge { cursor: String!, node: Reaction }
type ReactionConnection {
  nodes: [Reaction]
  edges: [ReactionEdge]
  pageInfo: PageInfo!
  totalCount: Int!
  viewerHasReacted: Boolean!
}
extend type PullRequestReviewComment {
  reactionGroups: [ReactionGroup!]
  reactions(
    first: Int, after: String, last: Int, before: String, content: ReactionContent
  ): ReactionConnection!
}
"""
# REST's reaction contents, in GitHub's order, and their GraphQL names.
CONTENTS = {
    "+1": "THUMBS_UP",
    "-1": "THUMBS_DOWN",
    "laugh": "LAUGH",
    "hooray": "HOORAY",
    "confused": "CONFUSED",
    "heart": "HEART",
    "rocket": "ROCKET",
    "eyes": "EYES",
}
KIND = "review_comment"


def prepare(schema: GraphQLSchema) -> None:
    reactor = schema.get_type("Reactor")
    reactor.resolve_type = lambda value, _info, _type: value["__typename"]  # type: ignore[union-attr]


def comment_fields(sim: GitHubSim, item: ReviewComment, viewer: str | None) -> dict[str, Any]:
    """The reaction fields of one PullRequestReviewComment."""
    from .graphql_api import _actor

    found = sim.reactions(item.id, KIND)

    def group(content: str) -> dict[str, Any]:
        mine = [r for r in found if r.content == content]
        return {
            "content": CONTENTS[content],
            "createdAt": iso(mine[0].created_at) if mine else None,
            "reactors": lambda info, **page: _connection(info, [_actor(r.user) for r in mine], page),
            "viewerHasReacted": any(r.user.login == viewer for r in mine),
        }

    def reactions(info: GraphQLResolveInfo, content: str | None = None, **page: Any) -> dict[str, Any]:
        wanted = [r for r in found if content in (None, CONTENTS[r.content])]
        connection = _connection(info, [_reaction(r) for r in wanted], page)
        return {**connection, "viewerHasReacted": any(r.user.login == viewer for r in wanted)}

    return {"reactionGroups": [group(content) for content in CONTENTS], "reactions": reactions}


def _reaction(item: Reaction) -> dict[str, Any]:
    from .graphql_api import _actor

    user = _actor(item.user) if item.user.type != "Bot" else None
    return {
        "id": item.node_id,
        "databaseId": item.id,
        "content": CONTENTS[item.content],
        "createdAt": iso(item.created_at),
        "user": user,
    }


def _connection(info: GraphQLResolveInfo, items: list[Any], page: dict[str, Any]) -> dict[str, Any]:
    from .graphql_api import _connection as paginated

    first, after, last = page.get("first"), page.get("after"), page.get("last")
    if first is None and last is None and not _asks_for_items(info):
        return {"nodes": [], "edges": [], "pageInfo": _no_page(), "totalCount": len(items)}
    return paginated(items, info.field_name, first, after, last)


def _asks_for_items(info: GraphQLResolveInfo) -> bool:
    selections = [s for node in info.field_nodes if node.selection_set for s in node.selection_set.selections]
    return any(getattr(getattr(s, "name", None), "value", "") in ("nodes", "edges") for s in selections)


def _no_page() -> dict[str, Any]:
    return {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None, "endCursor": None}


# -- what a person does (no user tokens in the simulator: straight on its state) --------------


def react(sim: GitHubSim, comment: ReviewComment, login: str, content: str = "-1") -> Reaction:
    """``login`` reacts to a review comment, as through the web page (once per content)."""
    assert content in CONTENTS, content
    with sim.lock:
        user: User = sim.add_user(login)
        for existing in sim.reactions(comment.id, KIND):
            if existing.user is user and existing.content == content:
                return existing
        rid = sim.next_id()
        item = Reaction(rid, (KIND, comment.id), user, node_id("REA", rid), content)
        sim.reaction_records[rid] = item
        return item


def resolve_as(sim: GitHubSim, thread: Thread, login: str) -> None:
    """``login`` resolves a review thread (GraphQL's resolvedBy is then that user)."""
    with sim.lock:
        thread.is_resolved = True
        thread.resolved_by = sim.add_user(login)
