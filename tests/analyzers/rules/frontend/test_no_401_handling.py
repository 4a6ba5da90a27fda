"""FL017 no-401-handling beyond its examples: what the App is asked to read, near-misses."""

from __future__ import annotations

from faultline.analyzers.core.changes import ChangeSet, diff_texts
from faultline.analyzers.core.config import Config
from faultline.analyzers.core.context import Context
from faultline.analyzers.core.engine import Engine
from faultline.analyzers.core.repo import MemoryRepoView
from faultline.analyzers.core.rule import Invalid
from faultline.analyzers.core.testing import run_example
from faultline.analyzers.rules.frontend.no_401_handling import No401Handling

CLIENT = (
    "import axios from 'axios';\nimport { token } from '../auth/token';\n\n"
    "export const api = axios.create({ headers: { Authorization: `Bearer ${token()}` } });\n"
)


def _wanted(files: dict[str, str]) -> set[str]:
    change = ChangeSet({path: diff_texts(path, None, text) for path, text in files.items()})
    repo = MemoryRepoView({path: text.encode() for path, text in files.items()})
    return set(No401Handling().more_context(Context(repo, change)))


def test_the_app_reads_the_folders_above_a_new_client_and_what_it_imports() -> None:
    wanted = _wanted({"web/src/api/client.ts": CLIENT})
    assert {"web/src/api/", "web/src/", "web/", "package.json", "web/src/auth/token.ts"} <= wanted


def test_nothing_more_is_read_for_a_file_that_is_no_client_or_handles_a_401_itself() -> None:
    handled = CLIENT + "api.interceptors.response.use(undefined, onExpired);\n"
    plain = "export async function load() {\n  return (await fetch('/api/x')).json();\n}\n"
    broken = "export const api = axios.create({ withCredentials: true });\n<<<<<<< HEAD\n"
    assert _wanted({"src/a.ts": handled, "src/b.ts": plain, "src/c.ts": broken}) == set()


def test_a_401_in_a_bundle_is_not_the_projects_handling() -> None:
    bundle = "var a=1;" * 200 + "if(e.status===401)location.reload();\n"
    files = {
        "src/static/js/vendor.bundle.dev.js": "if (r.status === 401) renew();\n",
        "src/lib/x.min.js": bundle,
    }
    invalid = Invalid(CLIENT, path="src/api/client.ts", files=files, line=4)
    assert [finding.line for finding in run_example(No401Handling, invalid)] == [4]


def _run(files: dict[str, str], changed: list[str], whole_files: bool = False) -> list[int]:
    change = ChangeSet(
        {path: diff_texts(path, None, files[path]) for path in changed}, whole_files=whole_files
    )
    repo = MemoryRepoView({path: text.encode() for path, text in files.items()})
    return [finding.line for finding in Engine(Config(), [No401Handling]).run(change, repo).findings]


def test_a_comparison_with_401_in_another_folder_counts_when_the_rule_sees_that_file() -> None:
    page = "export const Page = () => (status === 401 ? <Login /> : <Docs />);\n"
    files = {"src/api/client.ts": CLIENT, "src/pages/Docs.tsx": page}
    assert _run(files, ["src/api/client.ts", "src/pages/Docs.tsx"]) == []  # both in the change
    assert _run(files, list(files), whole_files=True) == []  # --all: every file
    # A review of the client alone reads the folders above it, not src/pages/: a notice.
    assert _run(files, ["src/api/client.ts"]) == [4]


def test_a_number_that_contains_401_is_no_handling() -> None:
    icon = 'export const Logo = () => <path d="M48.2523 19.3676C47.155 14017.1401" />;\n'
    invalid = Invalid(CLIENT, path="src/api/client.ts", files={"src/Logo.tsx": icon}, line=4)
    assert [finding.line for finding in run_example(No401Handling, invalid)] == [4]
