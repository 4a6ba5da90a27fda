"""JSON shapes of users, apps, installations and repositories, with the fields githubkit requires."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .records import App, Installation, Repo, User

WEB = "https://github.com"

USER_URLS = {
    "followers_url": "/followers",
    "following_url": "/following{/other_user}",
    "gists_url": "/gists{/gist_id}",
    "starred_url": "/starred{/owner}{/repo}",
    "subscriptions_url": "/subscriptions",
    "organizations_url": "/orgs",
    "repos_url": "/repos",
    "events_url": "/events{/privacy}",
    "received_events_url": "/received_events",
}

REPO_URLS = {
    "forks_url": "/forks",
    "keys_url": "/keys{/key_id}",
    "collaborators_url": "/collaborators{/collaborator}",
    "teams_url": "/teams",
    "hooks_url": "/hooks",
    "issue_events_url": "/issues/events{/number}",
    "events_url": "/events",
    "assignees_url": "/assignees{/user}",
    "branches_url": "/branches{/branch}",
    "tags_url": "/tags",
    "blobs_url": "/git/blobs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "trees_url": "/git/trees{/sha}",
    "statuses_url": "/statuses/{sha}",
    "languages_url": "/languages",
    "stargazers_url": "/stargazers",
    "contributors_url": "/contributors",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "commits_url": "/commits{/sha}",
    "git_commits_url": "/git/commits{/sha}",
    "comments_url": "/comments{/number}",
    "issue_comment_url": "/issues/comments{/number}",
    "contents_url": "/contents/{+path}",
    "compare_url": "/compare/{base}...{head}",
    "merges_url": "/merges",
    "archive_url": "/{archive_format}{/ref}",
    "downloads_url": "/downloads",
    "issues_url": "/issues{/number}",
    "pulls_url": "/pulls{/number}",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "labels_url": "/labels{/name}",
    "releases_url": "/releases{/id}",
    "deployments_url": "/deployments",
}


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def user(api: str, who: User) -> dict[str, Any]:
    base = f"{api}/users/{who.login}"
    html = f"{WEB}/apps/{who.login.removesuffix('[bot]')}" if who.type == "Bot" else f"{WEB}/{who.login}"
    return {
        "login": who.login,
        "id": who.id,
        "node_id": who.node_id,
        "avatar_url": f"https://avatars.githubusercontent.com/u/{who.id}?v=4",
        "gravatar_id": "",
        "url": base,
        "html_url": html,
        **{key: base + suffix for key, suffix in USER_URLS.items()},
        "type": who.type,
        "user_view_type": "public",
        "site_admin": False,
    }


def app(api: str, item: App) -> dict[str, Any]:
    return {
        "id": item.id,
        "slug": item.slug,
        "node_id": item.node_id,
        "client_id": item.client_id,
        "owner": user(api, item.owner),
        "name": item.name,
        "description": None,
        "external_url": f"{WEB}/{item.owner.login}",
        "html_url": f"{WEB}/apps/{item.slug}",
        "created_at": iso(item.created_at),
        "updated_at": iso(item.created_at),
        "permissions": dict(item.permissions),
        "events": list(item.events),
        "installations_count": 1,
    }


def installation(api: str, item: Installation) -> dict[str, Any]:
    return {
        "id": item.id,
        "account": user(api, item.account),
        "repository_selection": "all" if item.repos is None else "selected",
        "access_tokens_url": f"{api}/app/installations/{item.id}/access_tokens",
        "repositories_url": f"{api}/installation/repositories",
        "html_url": f"{WEB}/settings/installations/{item.id}",
        "app_id": item.app.id,
        "app_slug": item.app.slug,
        "client_id": item.app.client_id,
        "target_id": item.account.id,
        "target_type": item.account.type,
        "permissions": dict(item.permissions),
        "events": list(item.app.events),
        "created_at": iso(item.created_at),
        "updated_at": iso(item.created_at),
        "single_file_name": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
        "suspended_by": None,
        "suspended_at": None,
    }


def repository(api: str, repo: Repo, full: bool = False) -> dict[str, Any]:
    """The `Repository` shape (as in pull request heads); `full` adds FullRepository's fields."""
    base = f"{api}/repos/{repo.full_name}"
    created = iso(repo.created_at)
    body: dict[str, Any] = {
        "id": repo.id,
        "node_id": repo.node_id,
        "name": repo.name,
        "full_name": repo.full_name,
        "private": repo.private,
        "owner": user(api, repo.owner),
        "html_url": f"{WEB}/{repo.full_name}",
        "description": repo.description,
        "fork": repo.fork_of is not None,
        "url": base,
        **{key: base + suffix for key, suffix in REPO_URLS.items()},
        "git_url": f"git://github.com/{repo.full_name}.git",
        "ssh_url": f"git@github.com:{repo.full_name}.git",
        "clone_url": f"{WEB}/{repo.full_name}.git",
        "svn_url": f"{WEB}/{repo.full_name}",
        "mirror_url": None,
        "homepage": None,
        "language": "Python",
        "license": None,
        "forks": 0,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers": 0,
        "watchers_count": 0,
        "size": 0,
        "default_branch": repo.default_branch,
        "open_issues": 0,
        "open_issues_count": 0,
        "is_template": False,
        "topics": [],
        "has_issues": True,
        "has_projects": True,
        "has_wiki": True,
        "has_pages": False,
        "has_downloads": True,
        "has_discussions": False,
        "archived": False,
        "disabled": False,
        "visibility": "private" if repo.private else "public",
        "pushed_at": created,
        "created_at": created,
        "updated_at": created,
        "allow_forking": True,
        "web_commit_signoff_required": False,
    }
    if full:
        body |= {"subscribers_count": 0, "network_count": 0}
        if repo.fork_of is not None:
            body["parent"] = repository(api, repo.fork_of)
            source = repo.fork_of
            while source.fork_of is not None:
                source = source.fork_of
            body["source"] = repository(api, source)
    return body
