"""POST /graphql: a small slice of GitHub's schema (review threads), executed by graphql-core."""

from __future__ import annotations

import base64
import functools
from collections.abc import Sequence
from typing import Any

from graphql import GraphQLError, GraphQLSchema, build_schema, graphql_sync

from . import git_objects, graphql_reactions
from .calls import Call, has_permission, ok, route
from .faults import Reply
from .records import PullRequest, ReviewComment, Thread, User
from .render import WEB, iso
from .reviews import head_lines, is_outdated, visible
from .state import GitHubSim

SDL = """
type Query {
  repository(owner: String!, name: String!): Repository
}
type Mutation {
  resolveReviewThread(input: ResolveReviewThreadInput!): ResolveReviewThreadPayload
  unresolveReviewThread(input: UnresolveReviewThreadInput!): UnresolveReviewThreadPayload
}
input ResolveReviewThreadInput { threadId: ID!, clientMutationId: String }
input UnresolveReviewThreadInput { threadId: ID!, clientMutationId: String }
type ResolveReviewThreadPayload { thread: PullRequestReviewThread, clientMutationId: String }
type UnresolveReviewThreadPayload { thread: PullRequestReviewThread, clientMutationId: String }
type Repository {
  id: ID!
  name: String!
  nameWithOwner: String!
  pullRequest(number: Int!): PullRequest
  object(expression: String, oid: GitObjectID): GitObject
}
scalar GitObjectID
interface GitObject { id: ID!, oid: GitObjectID! }
type Blob implements GitObject {
  id: ID!
  oid: GitObjectID!
  byteSize: Int!
  isBinary: Boolean
  isTruncated: Boolean!
  text: String
}
type Tree implements GitObject { id: ID!, oid: GitObjectID!, entries: [TreeEntry!] }
type Commit implements GitObject { id: ID!, oid: GitObjectID! }
type TreeEntry {
  name: String!
  path: String
  mode: Int!
  type: String!
  oid: GitObjectID!
  size: Int!
  object: GitObject
}
type PullRequest {
  id: ID!
  number: Int!
  title: String!
  headRefOid: String!
  baseRefOid: String!
  reviewThreads(first: Int, after: String, last: Int, before: String): PullRequestReviewThreadConnection!
}
type PageInfo { hasNextPage: Boolean!, hasPreviousPage: Boolean!, startCursor: String, endCursor: String }
type PullRequestReviewThreadConnection {
  nodes: [PullRequestReviewThread]
  edges: [PullRequestReviewThreadEdge]
  pageInfo: PageInfo!
  totalCount: Int!
}
type PullRequestReviewThreadEdge { cursor: String!, node: PullRequestReviewThread }
enum DiffSide { LEFT RIGHT }
enum PullRequestReviewThreadSubjectType { LINE FILE }
type PullRequestReviewThread {
  id: ID!
  isResolved: Boolean!
  isOutdated: Boolean!
  isCollapsed: Boolean!
  path: String!
  line: Int
  startLine: Int
  originalLine: Int
  originalStartLine: Int
  diffSide: DiffSide!
  startDiffSide: DiffSide
  subjectType: PullRequestReviewThreadSubjectType!
  resolvedBy: User
  viewerCanResolve: Boolean!
  viewerCanUnresolve: Boolean!
  viewerCanReply: Boolean!
  comments(first: Int, after: String, last: Int, before: String): PullRequestReviewCommentConnection!
}
type PullRequestReviewCommentConnection {
  nodes: [PullRequestReviewComment]
  edges: [PullRequestReviewCommentEdge]
  pageInfo: PageInfo!
  totalCount: Int!
}
type PullRequestReviewCommentEdge { cursor: String!, node: PullRequestReviewComment }
interface Actor { login: String!, avatarUrl: String!, url: String! }
type User implements Actor { id: ID!, login: String!, avatarUrl: String!, url: String!, databaseId: Int }
type Bot implements Actor { id: ID!, login: String!, avatarUrl: String!, url: String!, databaseId: Int }
type PullRequestReviewComment {
  id: ID!
  databaseId: Int
  fullDatabaseId: String
  body: String!
  path: String!
  line: Int
  originalLine: Int
  diffHunk: String!
  outdated: Boolean!
  url: String!
  createdAt: String!
  author: Actor
  replyTo: PullRequestReviewComment
}
"""
MAX_PAGE = 100


@functools.cache
def schema() -> GraphQLSchema:
    built = build_schema(SDL + graphql_reactions.SDL)
    graphql_reactions.prepare(built)
    actor = built.get_type("Actor")
    # GraphQL's Bot.login has no "[bot]" suffix (REST's user.login has it): keep that difference.
    actor.resolve_type = lambda value, _info, _type: value["__typename"]  # type: ignore[union-attr]
    git_object = built.get_type("GitObject")
    git_object.resolve_type = lambda value, _info, _type: value["__typename"]  # type: ignore[union-attr]
    return built


def _error(message: str, kind: str) -> GraphQLError:
    return GraphQLError(message, extensions={"type": kind})


def _connection(
    items: Sequence[Any], field: str, first: int | None, after: str | None, last: int | None
) -> dict[str, Any]:
    """Cursor pagination with GitHub's rules: `first` or `last` is required, at most 100."""
    if first is None and last is None:
        raise _error(
            f"You must provide a `first` or `last` value to properly paginate the `{field}` connection.",
            "MISSING_PAGINATION_BOUNDARIES",
        )
    size = first if first is not None else last
    assert size is not None
    if size > MAX_PAGE or size < 0:
        bound = "first" if first is not None else "last"
        message = f"Requesting {size} records on the `{field}` connection exceeds the `{bound}` limit"
        raise _error(f"{message} of {MAX_PAGE} records.", "EXCESSIVE_PAGINATION")
    start = _decode_cursor(after) + 1 if after else 0
    window = list(enumerate(items))[start:]
    page = window[:size] if first is not None else window[-size:]
    cursors = [_cursor(index) for index, _ in page]
    info = {
        "hasNextPage": bool(page) and page[-1][0] < len(items) - 1,
        "hasPreviousPage": bool(page) and page[0][0] > 0,
        "startCursor": cursors[0] if cursors else None,
        "endCursor": cursors[-1] if cursors else None,
    }
    nodes = [node for _, node in page]
    edges = [{"cursor": c, "node": n} for c, n in zip(cursors, nodes, strict=True)]
    return {"nodes": nodes, "edges": edges, "pageInfo": info, "totalCount": len(items)}


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        return int(base64.b64decode(cursor).decode().rsplit(":", 1)[1])
    except (ValueError, IndexError) as error:
        raise _error(
            f"`{cursor}` does not appear to be a valid cursor.", "INVALID_CURSOR_ARGUMENTS"
        ) from error


def _actor(who: User) -> dict[str, Any]:
    bot = who.type == "Bot"
    login = who.login.removesuffix("[bot]") if bot else who.login
    url = f"{WEB}/apps/{login}" if bot else f"{WEB}/{login}"
    avatar = f"https://avatars.githubusercontent.com/u/{who.id}?v=4"
    return {
        "__typename": "Bot" if bot else "User",
        "id": who.node_id,
        "login": login,
        "avatarUrl": avatar,
        "url": url,
        "databaseId": who.id,
    }


class Views:
    """Resolvers: plain dicts whose callables graphql-core calls with (info, **arguments)."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.sim: GitHubSim = call.sim

    def repository(self, _info: Any, owner: str, name: str) -> dict[str, Any]:
        repo = self.sim.find_repo(f"{owner}/{name}")
        token = self.call.token
        readable = repo is not None and (
            not repo.private or (token is not None and token.installation.covers(repo.full_name))
        )
        if repo is None or not readable:
            raise _error(f"Could not resolve to a Repository with the name '{owner}/{name}'.", "NOT_FOUND")

        def pull_request(_info: Any, number: int) -> dict[str, Any]:
            pr = self.sim.pulls.get((repo.full_name.lower(), number))
            if pr is None:
                raise _error(f"Could not resolve to a PullRequest with the number of {number}.", "NOT_FOUND")
            return self.pull(pr)

        def git_object(_info: Any, expression: str | None = None, oid: str | None = None) -> Any:
            return git_objects.find(self.sim, repo, expression, oid)

        return {
            "id": repo.node_id,
            "name": repo.name,
            "nameWithOwner": repo.full_name,
            "pullRequest": pull_request,
            "object": git_object,
        }

    def pull(self, pr: PullRequest) -> dict[str, Any]:
        def review_threads(
            _info: Any,
            first: int | None = None,
            after: str | None = None,
            last: int | None = None,
            before: str | None = None,
        ) -> dict[str, Any]:
            threads = [self.thread(t) for t in self.sim.threads(pr) if self._shown(t)]
            return _connection(threads, "reviewThreads", first, after, last)

        return {
            "id": pr.node_id,
            "number": pr.number,
            "title": pr.title,
            "headRefOid": pr.head_sha,
            "baseRefOid": pr.base_sha,
            "reviewThreads": review_threads,
        }

    def _shown(self, thread: Thread) -> bool:
        return visible(self.sim, self.sim.comment_records[thread.comment_ids[0]])

    def thread(self, thread: Thread) -> dict[str, Any]:
        root = self.sim.comment_records[thread.comment_ids[0]]
        outdated = is_outdated(self.sim, root)
        start_line, line = head_lines(self.sim, root)
        can_write = self.call.token is not None and has_permission(
            self.call.token.permissions, [("pull_requests", "write")]
        )

        def comments(
            _info: Any,
            first: int | None = None,
            after: str | None = None,
            last: int | None = None,
            before: str | None = None,
        ) -> dict[str, Any]:
            items = [self.comment(self.sim.comment_records[cid]) for cid in thread.comment_ids]
            return _connection(items, "comments", first, after, last)

        return {
            "id": thread.node_id,
            "isResolved": thread.is_resolved,
            "isOutdated": outdated,
            "isCollapsed": thread.is_resolved,
            "path": root.path,
            "line": line,
            "startLine": start_line,
            "originalLine": root.line,
            "originalStartLine": root.start_line,
            "diffSide": root.side or "RIGHT",
            "startDiffSide": root.start_side,
            "subjectType": root.subject_type.upper(),
            "resolvedBy": _actor(thread.resolved_by) if thread.resolved_by else None,
            "viewerCanResolve": can_write and not thread.is_resolved,
            "viewerCanUnresolve": can_write and thread.is_resolved,
            "viewerCanReply": can_write,
            "comments": comments,
        }

    def comment(self, item: ReviewComment) -> dict[str, Any]:
        parent = self.sim.comment_records.get(item.in_reply_to) if item.in_reply_to else None
        url = f"{WEB}/{item.pr.repo.full_name}/pull/{item.pr.number}#discussion_r{item.id}"
        return {
            "id": item.node_id,
            "databaseId": item.id,
            "fullDatabaseId": str(item.id),
            "body": item.body,
            "path": item.path,
            "line": head_lines(self.sim, item)[1],
            "originalLine": item.line,
            "diffHunk": item.diff_hunk,
            "outdated": is_outdated(self.sim, item),
            "url": url,
            "createdAt": iso(item.created_at),
            "author": _actor(item.user),
            "replyTo": self.comment(parent) if parent else None,
            **graphql_reactions.comment_fields(self.sim, item, self._viewer()),
        }

    def _viewer(self) -> str | None:
        token = self.call.token
        return token.installation.app.bot.login if token is not None else None

    def set_resolved(self, input: dict[str, Any], resolved: bool) -> dict[str, Any]:
        thread = self.sim.thread_records.get(str(input["threadId"]))
        token = self.call.token
        covered = (
            thread is not None and token is not None and token.installation.covers(thread.pr.repo.full_name)
        )
        if thread is None or (thread.pr.repo.private and not covered):
            message = f"Could not resolve to a node with the global id of '{input['threadId']}'"
            raise _error(message, "NOT_FOUND")
        if (
            token is None
            or not covered
            or not has_permission(token.permissions, [("pull_requests", "write")])
        ):
            raise _error("Resource not accessible by integration", "FORBIDDEN")
        thread.is_resolved = resolved
        thread.resolved_by = self.sim.add_user(token.installation.app.bot.login) if resolved else None
        return {"thread": self.thread(thread), "clientMutationId": input.get("clientMutationId")}

    def resolveReviewThread(self, _info: Any, input: dict[str, Any]) -> dict[str, Any]:
        return self.set_resolved(input, True)

    def unresolveReviewThread(self, _info: Any, input: dict[str, Any]) -> dict[str, Any]:
        return self.set_resolved(input, False)


@route("POST", "/graphql")
def graphql_route(call: Call) -> Reply:
    body = call.json_object()
    query = body.get("query")
    if not isinstance(query, str):
        return ok({"errors": [{"message": "A query attribute must be specified and must be a string."}]})
    views = Views(call)
    result = graphql_sync(
        schema(),
        query,
        root_value=views,
        variable_values=body.get("variables"),
        operation_name=body.get("operationName"),
    )
    reply: dict[str, Any] = {}
    if result.errors:
        reply["errors"] = [_format(error) for error in result.errors]
    if result.data is not None or not result.errors:
        reply["data"] = result.data
    return ok(reply)


def _format(error: GraphQLError) -> dict[str, Any]:
    # GitHub puts the error type at the top level ("NOT_FOUND", "FORBIDDEN", ...).
    shaped = error.formatted
    kind = (error.extensions or {}).get("type")
    return ({"type": kind} if kind else {}) | dict(shaped)
