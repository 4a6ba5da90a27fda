"""FL017 no-401-handling: an API client sends credentials and nothing in the project handles a 401."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, ClassVar

from faultline.analyzers.core.config import matches_any
from faultline.analyzers.core.context import Context
from faultline.analyzers.core.findings import Hit, Severity
from faultline.analyzers.core.plan import MAX_FILE_BYTES
from faultline.analyzers.core.rule import Invalid, Rule, Valid, is_production
from faultline.analyzers.core.source import ParseError, SourceFile
from faultline.analyzers.languages.typescript import GENERATED_GLOBS, SCRIPT_PATTERNS, minified, script
from faultline.analyzers.lib.typescript.nodes import FUNCTIONS, arguments, callee, hit, text, walk
from faultline.analyzers.lib.typescript.patterns import LazyPattern

if TYPE_CHECKING:
    from tree_sitter import Node

SLUG = "no-401-handling"
FETCHES = frozenset({"fetch", "window.fetch", "globalThis.fetch", "self.fetch"})
CLIENT_FACTORIES = frozenset({"axios.create"})
# Other HTTP clients' instances: ky (its 401 goes to ``hooks.afterResponse``), ofetch and
# Nuxt's ``$fetch`` (``onResponseError``).
OTHER_FACTORIES = {"ky.create": "ky instance", "ky.extend": "ky instance", "ofetch.create": "ofetch instance",
                   "$fetch.create": "$fetch instance"}  # fmt: skip
NEEDLES = (b".create(", b".extend(", b"fetch(")
# ``import axiosLib from "axios"``: the instance is made by ``axiosLib.create(...)``. Each
# repetition stops where another attempt would start (a name starts at a word boundary, an
# import's braces hold no brace), so a search takes time in proportion to the text.
AXIOS_NAME = LazyPattern(
    r"""(?:import\s+(\w+)\s*(?:,\s*\{[^{}]*\})?\s+from|\b(\w+)\s*=\s*require\()\s*['"]axios['"]"""
)
# What a module holds when its requests carry the user's credentials.
CREDENTIALS = LazyPattern(rb"Authorization|Bearer|withCredentials|credentials\s*:|\btoken\b|[a-z]Token\b")
# A key of the service itself (server code calling a third party), not a user's session:
# nothing to refresh on a 401.
SERVICE_KEY = LazyPattern(rb"api_?key|x-api-key|client_?secret|process\.env\.\w*(?:KEY|TOKEN|SECRET)", re.I)
SERVER_PATHS = LazyPattern(r"(?:^|/)server/|(?:^|/)pages/api/|(?:^|/)route\.[jt]s$|\.server\.[jt]sx?$")
# In the client's own module any mention counts: its author has thought about the case.
HANDLES_HERE = LazyPattern(
    rb"\b401\b|interceptors\.response|refresh|unauthori[sz]ed|onResponseError|afterResponse", re.I
)
# Elsewhere, code that looks at a 401 (a comparison, a case, a list of codes), a response
# interceptor or error hook, a token refresh, or a library that refreshes tokens itself.
HANDLES_ELSEWHERE = LazyPattern(
    rb"[=!]==?\s*401\b|\b401\s*[=!]==?|\bcase\s+401\b|[\[(,]\s*401\s*[\]),]"
    rb"|interceptors\.response\.use|onResponseError|afterResponse|\bunauthori[sz]ed\b"
    rb"|refresh_?token|refresh_?session|refresh_?auth|token/refresh|/refresh\b|renew_?token|silent_?renew"
    rb"|axios-auth-refresh|next-auth|@auth/|@auth0/|oidc-client|keycloak|@azure/msal|@okta/|@supabase/"
    rb"|firebase/auth|@clerk/|aws-amplify|@nuxtjs/auth|nuxt-auth|better-auth",
    re.IGNORECASE,
)
SCRIPT_SUFFIXES = (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")
EVIDENCE_SUFFIXES = (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs", ".vue", ".svelte")
MODULE_SUFFIXES = (".ts", ".tsx", ".js", ".jsx")
BUNDLES = (*GENERATED_GLOBS, "*.bundle.*", "**/static/**/vendor*", "**/node_modules/**")
RELATIVE_IMPORT = LazyPattern(r"""(?:from|import)\s*\(?\s*['"](\.{1,2}/[^'"]+)['"]""")


class No401Handling(Rule):
    """
    ## What it does
    Checks for an API client that sends the user's credentials (an `Authorization`
    header, a token, `withCredentials`, `credentials: 'include'`) and has no handling
    of a 401 anywhere in the project: an `axios.create(...)` instance, or a fetch
    wrapper (a top-level function that calls `fetch` with the URL it was given).

    ## Why is this risky?
    Tokens expire. When nothing handles the 401 that follows (no response interceptor,
    no refresh, no check of `status === 401` that sends the user to log in), every
    request fails from then on: pages show errors or stay empty until the user thinks
    of reloading, and a form typed for ten minutes is lost on submit. The report this
    rule comes from calls it "no automatic token refresh on 401 responses".

    Handling counts anywhere the rule can see: in the client's module a mention of a
    401, a response interceptor, a refresh or "unauthorized"; in the rest of the
    project a comparison with 401 (`status === 401`, `case 401:`, `[401, 403]`), a
    response interceptor or `onResponseError` hook, a token refresh, or a library that
    refreshes tokens itself (next-auth, Auth0, MSAL, Keycloak, Supabase, ...) named in
    code or in `package.json`. With `--all` that is every file; in a review, the
    change's files, the files of the client's folder and of every folder above it, and
    the modules the client imports; built, minified and vendored files do not count.
    A notice: the handling may live where the rule does not look.

    Not reported: a client that sends a key of the service itself (`apiKey`,
    `process.env.ATTIO_API_KEY`: server code calling a third party, with no session to
    refresh), or that lives in server code (`server/`, `pages/api/`, `route.ts`,
    `*.server.ts`). `import axiosLib from 'axios'` makes `axiosLib.create(...)` an
    instance too; `ky.create`, `ofetch.create` and `$fetch.create` make clients as well
    (their 401 goes to `hooks.afterResponse` or `onResponseError`).

    ## Example
    ```typescript
    import axios from 'axios';

    export const api = axios.create({
      baseURL: '/api',
      headers: { Authorization: `Bearer ${getToken()}` },
    });
    ```

    ## Use instead
    ```typescript
    import axios from 'axios';

    export const api = axios.create({
      baseURL: '/api',
      headers: { Authorization: `Bearer ${getToken()}` },
    });

    api.interceptors.response.use(undefined, async (error) => {
      if (error.response?.status === 401) {
        await refreshToken();
        return api.request(error.config);
      }
      throw error;
    });
    ```
    """

    code = "FL017"
    slug = SLUG
    severity = Severity.NOTICE
    summary = "An API client sends credentials and nothing in the project handles a 401"
    patterns = SCRIPT_PATTERNS
    production_only = True
    compare_base = True
    needles = NEEDLES

    VALID: ClassVar[list[Valid]] = [
        # The instance's own interceptor refreshes the token.
        Valid(
            "export const api = axios.create({ headers: { Authorization: `Bearer ${getToken()}` } });\n"
            "api.interceptors.response.use(undefined, async (error) => {\n"
            "  if (error.response?.status === 401) {\n    await refreshToken();\n"
            "    return api.request(error.config);\n  }\n  throw error;\n});\n",
            path="src/api/client.ts",
        ),
        # No credentials: a public API.
        Valid(
            "export const weather = axios.create({ baseURL: 'https://api.weather.example' });\n",
            path="src/w.ts",
        ),
        # The interceptor is installed by another module of the same folder.
        Valid(
            "export const api = axios.create({ withCredentials: true });\n",
            path="src/api/client.ts",
            files={
                "src/api/interceptors.ts": (
                    "import { api } from './client';\n\n"
                    "api.interceptors.response.use((r) => r, (error) => {\n"
                    "  if (error.response?.status === 401) window.location.assign('/login');\n"
                    "  return Promise.reject(error);\n});\n"
                )
            },
        ),
        # A refresh flow elsewhere in the project (a folder above the client's).
        Valid(
            "import axios from 'axios';\n\nexport const http = axios.create({\n"
            "  headers: { Authorization: `Bearer ${session.token}` },\n});\n",
            path="src/lib/http/client.ts",
            files={"src/session.ts": "export async function refreshSession() {\n  await renew();\n}\n"},
        ),
        # A library that refreshes tokens itself.
        Valid(
            "export const api = axios.create({ headers: { Authorization: `Bearer ${token}` } });\n",
            path="web/src/api.ts",
            files={"web/package.json": '{"dependencies": {"axios": "^1", "next-auth": "^4"}}\n'},
        ),
        # A fetch wrapper that checks for a 401.
        Valid(
            "export async function apiFetch(path: string, init: RequestInit = {}) {\n"
            "  const res = await fetch(`/api${path}`, { ...init, credentials: 'include' });\n"
            "  if (res.status === 401) {\n    redirectToLogin();\n  }\n  return res;\n}\n",
            path="src/api/fetch.ts",
        ),
        # Not a wrapper: one request to a fixed URL (FL013's business).
        Valid(
            "export async function loadMe() {\n"
            "  const res = await fetch('/api/me', { headers: { Authorization: `Bearer ${token}` } });\n"
            "  return res.json();\n}\n",
            path="src/me.ts",
        ),
        # A module the client imports handles it.
        Valid(
            "import { installAuth } from './auth/handlers';\n\n"
            "export const api = axios.create({ headers: { Authorization: `Bearer ${token}` } });\n"
            "installAuth(api);\n",
            path="src/api.ts",
            files={
                "src/auth/handlers.ts": (
                    "export function installAuth(api: AxiosInstance) {\n"
                    "  api.interceptors.response.use(undefined, logoutOn401);\n}\n"
                )
            },
        ),
        Valid(
            "export const api = axios.create({ headers: { Authorization: `Bearer ${token}` } });\n",
            path="src/api.test.ts",
        ),
        Valid(
            "export const api = ky.create({\n  headers: { Authorization: `Bearer ${session.token}` },\n"
            "  hooks: { afterResponse: [async (_r, _o, res) => {\n"
            "    if (res.status === 403) logout();\n  }] },\n});\n",
            path="src/api/ky.ts",
        ),
        # A key of the service calling a third party: no session to refresh.
        Valid(
            "const request = async <T,>(path: string): Promise<T> => {\n"
            "  const res = await fetch(`https://api.attio.example/v2${path}`, {\n"
            "    headers: { Authorization: `Bearer ${process.env.ATTIO_API_KEY}` },\n  });\n"
            "  return res.json();\n};\n",
            path="src/utils/attio.ts",
        ),
        Valid(
            "export function AuthProvider({ children }: Props) {\n"
            "  const api = useMemo(\n"
            "    () => axios.create({ headers: { Authorization: `Bearer ${token}` } }),\n    [token],\n  );\n"
            "  useEffect(() => onUnauthorized(api, logout), [api]);\n"
            "  return <Api.Provider value={api}>{children}</Api.Provider>;\n}\n",
            path="src/AuthProvider.tsx",
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        Invalid(
            "import ky from 'ky';\n\nexport const api = ky.create({\n  prefixUrl: '/api',\n"
            "  headers: { Authorization: `Bearer ${session.token}` },\n});\n",
            path="src/api/ky.ts",
            line=3,
            message="this ky instance sends credentials",
        ),
        Invalid(
            "const api = ky.extend({ credentials: 'include' });\nexport default api;\n",
            path="src/http.js",
            line=1,
        ),
        # The report's item 2: no automatic token refresh on 401 responses.
        Invalid(
            "import axios from 'axios';\n\nexport const api = axios.create({\n  baseURL: '/api',\n"
            "  headers: { Authorization: `Bearer ${getToken()}` },\n});\n",
            path="src/api/client.ts",
            files={"src/main.tsx": "createRoot(el).render(<App />);\n"},
            line=3,
            severity=Severity.NOTICE,
            message="nothing in the project handles a 401",
        ),
        Invalid(
            "const token = () => localStorage.getItem('token');\n\n"
            "export async function request<T>(path: string, init: RequestInit = {}): Promise<T> {\n"
            "  const res = await fetch(`${API_URL}${path}`, {\n"
            "    ...init,\n    headers: { ...init.headers, Authorization: `Bearer ${token()}` },\n  });\n"
            "  if (!res.ok) throw new ApiError(res.status);\n  return res.json();\n}\n",
            path="src/lib/request.ts",
            line=4,
            message="this fetch wrapper sends credentials",
        ),
        Invalid(
            "export function ApiProvider({ children }: Props) {\n"
            "  const api = axios.create({ headers: { Authorization: `Bearer ${useToken()}` } });\n"
            "  return <Api.Provider value={api}>{children}</Api.Provider>;\n}\n",
            path="src/ApiProvider.tsx",
            line=2,
            message="this axios instance sends credentials",
        ),
        Invalid(
            "import axiosLib from 'axios';\n\n"
            "export const http = axiosLib.create({ withCredentials: true });\n",
            path="client/app/services/http.js",
            line=3,
        ),
        Invalid(
            "export const client = axios.create({ withCredentials: true });\n",
            path="app/javascript/client.jsx",
            files={
                "app/javascript/Page.jsx": "export const Page = () => <p>{status === 404 && 'gone'}</p>;\n"
            },
            line=1,
        ),
    ]

    def more_context(self, ctx: Context) -> Iterator[str]:
        """For a changed client that handles no 401 itself: the folders from its own up to the
        root, and the modules it imports (only then: a folder listing costs reads)."""
        for path in ctx.changes.files:
            source = ctx.source(path) if path.endswith(SCRIPT_SUFFIXES) else None
            if source is None or not any(needle in source.data for needle in NEEDLES):
                continue
            try:
                if not _clients(source):
                    continue
            except ParseError:  # the check reports it (FL000)
                continue
            yield from (f"{folder}/" for folder in _folders_above(path) if folder)
            yield "package.json"
            yield from _imported(source)

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        clients = _clients(source)
        if not clients or _handled_elsewhere(source, ctx):
            return
        for call, what in clients:
            yield hit(call, _message(what), call)


def _clients(source: SourceFile) -> list[tuple[Node, str]]:
    """The clients the module makes (with what each is), when it sends credentials of a user
    and says nothing of a 401 itself."""
    data = source.data
    # A bundle first: its megabytes would cost the searches below far more than this look.
    if minified(data.decode(errors="replace")):
        return []
    if CREDENTIALS.search(data) is None or HANDLES_HERE.search(data) is not None:
        return []
    if SERVICE_KEY.search(data) is not None or SERVER_PATHS.search(source.path) is not None:
        return []
    if not is_production(source.path):
        return []
    tree = script(source)
    factories = CLIENT_FACTORIES | {f"{name}.create" for name in _axios_names(source.text)}
    calls = tree.nodes("call_expression")
    return [(call, what) for call in calls if (what := _client(call, factories))]


def _message(what: str) -> str:
    return (
        f"this {what} sends credentials but nothing in the project handles a 401: when the token or "
        "session expires every request fails until the user reloads; refresh the token (or send "
        "the user to log in) on 401, in a response interceptor or in the wrapper"
    )


def _axios_names(text: str) -> set[str]:
    return {name for pair in AXIOS_NAME.findall(text) for name in pair if name}


def _client(call: Node, factories: frozenset[str] | set[str]) -> str:
    """What ``call`` makes: "axios instance", "fetch wrapper", ... or "" (no client)."""
    name = callee(call)
    if name in factories:
        return "axios instance"
    if name in OTHER_FACTORIES:
        return OTHER_FACTORIES[name]
    if name in FETCHES and _wraps(call):
        return "fetch wrapper"
    return ""


def _wraps(call: Node) -> bool:
    """``fetch(url)`` in a top-level function whose own parameter is in the URL: a wrapper the
    rest of the project calls, not one request to a fixed address."""
    function = call.parent
    while function is not None and function.type not in FUNCTIONS:
        function = function.parent
    if function is None or not _top_level(function):
        return False
    args = arguments(call)
    parameters = function.child_by_field_name("parameters") or function.child_by_field_name("parameter")
    if not args or parameters is None:
        return False
    names = {text(node) for node in walk(parameters) if node.type == "identifier"}
    return any(node.type == "identifier" and text(node) in names for node in walk(args[0]))


def _top_level(function: Node) -> bool:
    """Declared at the top of the module (exported or not): ``function f``, ``const f = () =>``."""
    parent = function.parent
    if parent is not None and parent.type == "variable_declarator":
        parent = parent.parent.parent if parent.parent is not None else None
    while parent is not None and parent.type == "export_statement":
        parent = parent.parent
    return parent is not None and parent.type == "program"


def _handled_elsewhere(source: SourceFile, ctx: Context) -> bool:
    """Handling of a 401 in a file of the change, of a folder from the client's up to the root,
    or in a module the client imports."""
    known: dict[str, bool] = ctx.memo((SLUG, "files"), dict)
    changed = ctx.memo((SLUG, "changed"), lambda: _any_handles(_evidence(ctx.changes.files), ctx, known))
    if changed:
        return True
    around = [path for folder in _folders_above(source.path) for path in _evidence(ctx.listing(folder))]
    return _any_handles([*around, *_imported(source)], ctx, known)


def _any_handles(paths: list[str], ctx: Context, known: dict[str, bool]) -> bool:
    for path in paths:
        if path not in known:
            # Straight from the view, not kept: with --all this reads the whole repository.
            known[path] = _handles(ctx.repo.read_new(path))
        if known[path]:
            return True
    return False


def _handles(data: bytes | None) -> bool:
    """The file handles a 401; a bundle (minified, or a vendored library built into one file)
    is someone else's code and says nothing of the project's."""
    if data is None or len(data) > MAX_FILE_BYTES or HANDLES_ELSEWHERE.search(data) is None:
        return False
    return not minified(data.decode(errors="replace"))


def _evidence(paths: Iterable[str]) -> list[str]:
    """The files that may hold evidence: code, and ``package.json`` (a library that refreshes);
    not built or vendored code."""
    return sorted(
        path
        for path in paths
        if (path.endswith(EVIDENCE_SUFFIXES) or path.rpartition("/")[2] == "package.json")
        and not matches_any(path, BUNDLES)
    )


def _folders_above(path: str) -> list[str]:
    """``a/b/c.ts`` -> ``a/b``, ``a``, ``""`` (the root)."""
    folders = []
    folder = posixpath.dirname(path)
    while folder:
        folders.append(folder)
        folder = posixpath.dirname(folder)
    return [*folders, ""]


def _imported(source: SourceFile) -> list[str]:
    """The files the module's relative imports may name (each suffix and ``index``)."""
    found: list[str] = []
    folder = posixpath.dirname(source.path)
    for specifier in RELATIVE_IMPORT.findall(source.text):
        base = posixpath.normpath(posixpath.join(folder, specifier))
        if base.endswith(EVIDENCE_SUFFIXES):
            found.append(base)
            continue
        found.extend(base + suffix for suffix in MODULE_SUFFIXES)
        found.extend(f"{base}/index{suffix}" for suffix in MODULE_SUFFIXES)
    return found
