"""A pull request that changes a Python file and a ``.tsx`` file: one review, comments on both,
through the job and the GitHub simulator as in ``test_jobs_e2e``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from faultline.app.render.comment import fingerprint_in
from tests.app.sim_fixtures import FULL_NAME, World, sim_world

AUTH = """\
def current_user(token):
    try:
        payload = decode(token)
        return session.get(User, payload["sub"])
    except (JWTError, Exception):
        raise HTTPException(status_code=401)
"""
DOCUMENTS = """\
export function Documents() {
  const [docs, setDocs] = useState<Doc[]>([]);
  useEffect(() => {
    fetch('/api/documents')
      .then((response) => response.json())
      .then(setDocs)
      .catch((error) => {
        console.error('Could not load documents: ', error);
      });
  }, []);
  return <List items={docs} />;
}
"""


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with sim_world(tmp_path) as made:
        config = {".github/faultline.yml": "comment_on: notice\n"}
        made.main_sha = made.sim.commit(FULL_NAME, config, parent=made.main_sha, branch="main")
        yield made


def test_python_and_tsx_changes_get_one_review_with_comments_on_both(world: World) -> None:
    pull = world.open_pull({"app/auth.py": AUTH, "web/src/Documents.tsx": DOCUMENTS})
    world.run(pull)
    assert len(world.sim.reviews(pull)) == 1
    comments = world.sim.review_comments(pull)
    assert {(c.path, c.line) for c in comments} == {
        ("app/auth.py", 5),
        ("web/src/Documents.tsx", 4),
        ("web/src/Documents.tsx", 7),
    }
    tsx = sorted((c for c in comments if c.path.endswith(".tsx")), key=lambda c: c.line or 0)
    assert "FL013 unchecked-fetch-response" in tsx[0].body
    assert "FL015 console-only-catch" in tsx[1].body
    assert all(fingerprint_in(c.body) for c in comments)


CLIENT = """\
import axios from 'axios';

export const api = axios.create({
  baseURL: '/api',
  headers: { Authorization: `Bearer ${getToken()}` },
});
"""
INTERCEPTOR = """\
import { api } from './api/client';

api.interceptors.response.use(undefined, async (error) => {
  if (error.response?.status === 401) {
    await refreshToken();
    return api.request(error.config);
  }
  throw error;
});
"""


def test_a_new_api_client_with_no_401_handling_gets_a_notice(world: World) -> None:
    pull = world.open_pull({"web/src/api/client.ts": CLIENT})
    world.run(pull)
    comments = world.sim.review_comments(pull)
    assert [(c.path, c.line) for c in comments] == [("web/src/api/client.ts", 3)]
    assert "FL017 no-401-handling" in comments[0].body


def test_the_401_handling_in_an_unchanged_file_above_the_client_is_read_and_counts(world: World) -> None:
    files = {"web/src/interceptors.ts": INTERCEPTOR}
    world.main_sha = world.sim.commit(FULL_NAME, files, parent=world.main_sha, branch="main")
    pull = world.open_pull({"web/src/api/client.ts": CLIENT})
    world.run(pull)
    assert world.sim.review_comments(pull) == []
