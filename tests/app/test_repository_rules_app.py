"""FL005 and FL007 through the App: the files they read besides the change are fetched
from GitHub (the simulator), and the finding becomes a review comment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from faultline.analyzers.rules.database.alembic_multiple_heads import AlembicMultipleHeads
from faultline.analyzers.rules.database.sqlite_test_database import SqliteTestDatabase
from tests.app.sim_fixtures import FULL_NAME, World, sim_world

VERSIONS = "migrations/versions"


def migration(revision: str, down: str) -> str:
    return f'revision = "{revision}"\ndown_revision = {down}\nbranch_labels = None\n'


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with sim_world(tmp_path) as made:
        yield made


def test_a_fork_is_found_from_the_versions_folder_on_github(world: World) -> None:
    base = world.commit(
        {
            "alembic.ini": "[alembic]\nscript_location = migrations\n",
            f"{VERSIONS}/0001_base.py": migration("0001", "None"),
            f"{VERSIONS}/0002_users.py": migration("0002", '"0001"'),
        }
    )
    head = world.commit({f"{VERSIONS}/0003_email.py": migration("0003", '"0001"')}, parent=base)
    pull = world.sim.open_pull(FULL_NAME, head, base_sha=base)
    world.run(pull, rules=[AlembicMultipleHeads])
    comments = world.sim.review_comments(pull)
    assert [(c.path, c.line) for c in comments] == [(f"{VERSIONS}/0003_email.py", 2)]
    assert "both revise `0001`" in comments[0].body


def test_a_sqlite_conftest_is_found_from_the_dependencies_on_github(world: World) -> None:
    base = world.commit({"backend/requirements.txt": "fastapi\nasyncpg==0.29\n"})
    head = world.commit(
        {"backend/tests/conftest.py": 'TEST_DATABASE_URL = "sqlite+aiosqlite:///:memory:"\n'}, parent=base
    )
    pull = world.sim.open_pull(FULL_NAME, head, base_sha=base)
    world.run(pull, rules=[SqliteTestDatabase])
    comments = world.sim.review_comments(pull)
    assert [(c.path, c.line) for c in comments] == [("backend/tests/conftest.py", 1)]
    assert "(`asyncpg` in the dependencies in backend/requirements.txt)" in comments[0].body
