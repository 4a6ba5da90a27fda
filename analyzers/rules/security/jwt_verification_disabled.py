"""FL006 jwt-verification-disabled: a JWT is decoded without verifying it."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from faultline.analyzers.core.changes import FileChange
from faultline.analyzers.core.context import Context
from faultline.analyzers.core.findings import Hit, Severity, Suggestion
from faultline.analyzers.core.rule import Invalid, Rule, Valid, replace_span
from faultline.analyzers.core.source import SourceFile
from faultline.analyzers.languages import python
from faultline.analyzers.lib.python.calls import functions, keyword_value, scope_nodes, splats_keywords
from faultline.analyzers.lib.python.imports import import_map, imports_any, qualified_name
from faultline.analyzers.lib.python.jwt_calls import (
    AUTHLIB_TOKEN,
    UNVERIFIED_CLAIMS,
    UNVERIFIED_HEADER,
    Decode,
    library_of,
    none_algorithm,
    read_decode,
)
from faultline.analyzers.lib.python.nodes import callee, node_index, on_lines, span, string_value

# The libraries whose decode calls the rule reads.
JWT_PACKAGES = ("jwt", "jose", "authlib")
NONE_ALLOWED = (
    "`{call}` accepts the `none` algorithm: a token without any signature passes, so anyone can "
    "claim to be anyone"
)
ALGORITHM_FROM_TOKEN = (
    "`{call}` takes its algorithms from the token's own unverified header: the sender chooses how "
    "its token is checked (`none`, or HS256 signed with the public key); pass the algorithms you sign with"
)
EXPIRY_OFF = "`{call}` is told not to check `exp`: an expired or stolen token is accepted for ever"
PYJWT_MISSING = (
    "`{call}` has no `algorithms=`: PyJWT 2 refuses to decode without it (every call raises "
    "`DecodeError`), and PyJWT 1 accepts whichever algorithm the token names; pass the algorithms "
    "you sign with"
)
PYJWT_TYPO = (
    "`{call}` is given `algorithm=`, which decode ignores: it takes `algorithms=[...]`, a list; "
    "without it PyJWT 2 raises `DecodeError` on every call and PyJWT 1 accepts whichever algorithm "
    "the token names"
)
JOSE_MISSING = (
    "`{call}` has no `algorithms=`: python-jose then accepts whichever algorithm the token's header "
    "names, so the sender chooses how its token is checked; pass the algorithms you sign with"
)
AUTHLIB_NONE = "`{call}` allows the `none` algorithm: a token without any signature passes"
AUTHLIB_UNVALIDATED = (
    "claims from Authlib's `{call}` are used without `claims.validate()`: Authlib's decode checks "
    "only the signature, so `exp` and `nbf` are never checked and an expired token works for ever"
)
UNVERIFIED_USE = (
    "claims read without verifying the signature (`{reader}`, line {line}) {decision}: anyone can "
    "forge a token with any `sub` or role; verify it with the key and `algorithms=[...]` first"
)
# Claims one reads before verifying, to pick the key or the issuer, or to time a refresh.
KEY_CLAIMS = frozenset({"iss", "kid", "alg", "typ", "aud", "tid", "exp", "iat", "nbf", "jku", "x5u", "cty"})
# A function that says it returns unverified claims warns its callers itself.
UNVERIFIED_WORDS = ("unverified", "insecure", "unsafe", "peek", "without_verif", "no_verif")
IDENTITY_WORDS = ("user", "identity", "principal", "role", "permission", "scope", "admin")
FIX_TITLE = "Pass the algorithm as a list"
# ``token = create_refresh_token(...)``: a token the function made is not the sender's.
OWN_TOKEN_VERBS = ("create", "encode", "issue", "sign", "generate", "make", "mint")


@dataclass(frozen=True)
class Unverified:
    """A value read from a token without checking its signature."""

    call: ast.Call
    reader: str  # as written: "jwt.get_unverified_claims"
    header: bool  # the header, not the claims


class JwtVerificationDisabled(Rule):
    """
    ## What it does
    Checks for JWTs decoded without verification: `jwt.decode` (PyJWT,
    python-jose, Authlib) with `verify_signature` or `verify_exp` off, PyJWT 1's
    `verify=False`, no `algorithms=` or `"none"` among them, algorithms taken from the
    token's own header, and claims read without verifying the signature
    (`get_unverified_claims`, `options={"verify_signature": False}`) that then
    decide who the caller is: returned as the identity, tested in an `if`, or
    stored as the current user.

    ## Why is this risky?
    A token whose signature is not checked is whatever its sender wrote: anyone can
    send `{"sub": "admin", "roles": ["admin"]}` and be let in. Without `exp`, a token
    stolen once works for ever. Without `algorithms=`, python-jose and PyJWT 1 take
    the algorithm from the token itself, so an attacker picks one (`none`, or HS256
    keyed with your public key) that they can sign; PyJWT 2 refuses to decode at all
    without it, so every request fails instead.

    Not reported: reading the unverified header or issuer to pick the key (`kid`,
    `iss`) before a verifying decode in the same function, reading `exp` to time a
    refresh, helpers whose name says they return unverified claims, and tests.

    ## Example
    ```python
    def current_user(token: str) -> User:
        claims = jwt.decode(token, options={"verify_signature": False})
        return users.get(claims["sub"])
    ```

    ## Use instead
    ```python
    def current_user(token: str) -> User:
        claims = jwt.decode(token, settings.JWT_KEY, algorithms=["HS256"])
        return users.get(claims["sub"])
    ```

    ## Fix safety
    The only suggestion turns PyJWT's ignored `algorithm="HS256"` into
    `algorithms=["HS256"]`. Decoding then works on PyJWT 2 (it raised before) and
    accepts only that algorithm on PyJWT 1, which rejects tokens signed with
    another: that is the point. The code then does what it says, so `faultline fix`
    applies it.
    """

    code = "FL006"
    slug = "jwt-verification-disabled"
    severity = Severity.ERROR
    summary = "A JWT is decoded without verifying it"
    patterns = ("*.py",)
    production_only = True
    compare_base = True
    needles = (b"jwt", b"jose", b"JsonWebToken")

    VALID: ClassVar[list[Valid]] = [
        Valid("import jwt\n\nclaims = jwt.decode(token, KEY, algorithms=['HS256'])\n"),
        # The header read to pick the key, then a verifying decode.
        Valid(
            "import jwt\n\ndef verify(token, keys):\n    kid = jwt.get_unverified_header(token)['kid']\n"
            "    return jwt.decode(token, keys[kid], algorithms=['RS256'], audience=AUD)\n"
        ),
        Valid(
            "import jwt\n\ndef verify(token):\n"
            "    unverified = jwt.decode(token, options={'verify_signature': False})\n"
            "    provider = providers.get(unverified.get('iss'))\n"
            "    if provider is None:\n        return None\n"
            "    return jwt.decode(token, provider.key, algorithms=provider.algorithms)\n"
        ),
        # Reading ``exp`` to time a refresh decides nothing about who the caller is.
        Valid(
            "from jose import jwt\n\ndef needs_refresh(token):\n"
            "    claims = jwt.get_unverified_claims(token)\n    return claims['exp'] < time.time() + 60\n"
        ),
        # The report's login handler: a verified decode (its broad except is FL001's).
        Valid(
            "from jose import JWTError, jwt\n\nasync def get_current_user(token):\n    try:\n"
            "        payload = jwt.decode(token, settings.SECRET_KEY, algorithms=[ALGORITHM])\n"
            "    except (JWTError, Exception):  # Catches ALL exceptions - masks real errors\n"
            '        raise HTTPException(status_code=401, detail="Could not validate credentials")\n'
            "    return payload['sub']\n"
        ),
        Valid("import jwt\n\ndef decode(t, **kw):\n    return jwt.decode(t, KEY, **kw)\n"),
        Valid(
            "import jwt\n\ndef me(token):\n"
            "    return jwt.decode(token, options={'verify_signature': False})\n",
            path="tests/test_auth.py",
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        Invalid(
            "import jwt\n\ndef current_user(token):\n"
            "    claims = jwt.decode(token, options={'verify_signature': False})\n"
            "    return users.get(claims['sub'])\n",
            line=5,
            message="(`jwt.decode`, line 4) decide what `current_user` returns",
        ),
        Invalid(
            "from jose import jwt\n\ndef require_admin(token):\n"
            "    claims = jwt.get_unverified_claims(token)\n"
            "    if 'admin' not in claims.get('roles', []):\n        raise Forbidden()\n",
            line=5,
            message="decide the `if` on line 5",
        ),
        Invalid(
            "import jwt\n\npayload = jwt.decode(token, KEY, algorithms=['HS256', 'none'])\n",
            line=3,
            message="accepts the `none` algorithm",
        ),
        Invalid(
            "import jwt\n\n"
            "payload = jwt.decode(token, KEY, algorithms=['HS256'], options={'verify_exp': False})\n",
            line=3,
            message="is told not to check `exp`",
        ),
        Invalid(
            "import jwt\n\npayload = jwt.decode(token, KEY)\n",
            line=3,
            message="PyJWT 2 refuses to decode without it",
        ),
        Invalid(
            "import jwt\n\npayload = jwt.decode(token, KEY, algorithm='HS256')\n",
            line=3,
            message="is given `algorithm=`, which decode ignores",
            suggestion="payload = jwt.decode(token, KEY, algorithms=['HS256'])",
        ),
        Invalid(
            "from jose import jwt\n\ndef verify(token, key):\n"
            "    return jwt.decode(token, key, audience=AUD)\n",
            line=4,
            message="python-jose then accepts whichever algorithm the token's header names",
        ),
        Invalid(
            "import jwt\n\ndef verify(token, key):\n    header = jwt.get_unverified_header(token)\n"
            "    return jwt.decode(token, key, algorithms=[header['alg']])\n",
            line=5,
            message="takes its algorithms from the token's own unverified header",
        ),
        Invalid(
            "from authlib.jose import jwt\n\ndef user_id(token):\n    claims = jwt.decode(token, KEY)\n"
            "    return claims['sub']\n",
            line=4,
            message="used without `claims.validate()`",
        ),
    ]

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        tree = python.module(source)
        if not imports_any(tree, JWT_PACKAGES):
            return  # decided from the imports alone, before a walk of the whole module
        imports = import_map(tree)
        if not any(q.split(".")[0] in JWT_PACKAGES for q in imports.values()):
            return
        judged = _judged_lines(node_index(tree).of(ast.Call), imports)
        if not judged:
            return  # no decode and no unverified read: nothing in any scope to judge
        change = None if ctx.whole_files else ctx.changes.get(source.path)
        scan = _Scan(source, imports, change)
        yield from scan.scope(tree.body, "")
        for function, _owner in functions(tree):
            if on_lines(function, judged):  # a function without such a call gives no finding
                yield from scan.scope(function.body, function.name)


def _judged_lines(calls: list[ast.Call], imports: dict[str, str]) -> list[int]:
    """The lines (sorted) of the calls a scope's findings start from: decodes, Authlib's
    ``JsonWebToken`` and the readers of unverified claims and headers."""
    readers = AUTHLIB_TOKEN | UNVERIFIED_CLAIMS | UNVERIFIED_HEADER
    return sorted(
        {
            call.lineno
            for call in calls
            if library_of(call, imports) is not None or qualified_name(call.func, imports) in readers
        }
    )


class _Scan:
    def __init__(self, source: SourceFile, imports: dict[str, str], change: FileChange | None) -> None:
        self.source = source
        self.imports = imports
        self.change = change

    def scope(self, body: list[ast.stmt], function: str) -> Iterator[Hit]:
        nodes = list(scope_nodes(body))
        dicts = _dict_names(nodes)
        decodes: list[Decode] = []
        unverified: list[Unverified] = []
        for node in nodes:
            if not isinstance(node, ast.Call) or splats_keywords(node):
                continue
            name = qualified_name(node.func, self.imports) or ""
            library = library_of(node, self.imports)
            if library is not None:
                options = keyword_value(node, "options")
                if isinstance(options, ast.Name):
                    options = dicts.get(options.id)
                decode = read_decode(node, library, options)
                decodes.append(decode)
                if decode.signature_off:
                    unverified.append(Unverified(node, ast.unparse(node.func), header=False))
            elif name in AUTHLIB_TOKEN and node.args and none_algorithm(node.args[0]):
                yield self.hit(node, AUTHLIB_NONE.format(call=ast.unparse(node.func)))
            elif name in UNVERIFIED_CLAIMS or name in UNVERIFIED_HEADER:
                unverified.append(Unverified(node, ast.unparse(node.func), header=name in UNVERIFIED_HEADER))
        headers = _bound(nodes, [u for u in unverified if u.header], every_key=True)
        for decode in decodes:
            hit = self.decode(decode, headers, nodes)
            if hit is not None:
                yield hit
        claims = [u for u in unverified if not u.header and not _checked(u, nodes, decodes)]
        if claims:
            yield from self.decisions(nodes, claims, function)

    def decode(self, decode: Decode, headers: set[str], nodes: list[ast.AST]) -> Hit | None:
        call = decode.call
        shown = ast.unparse(call.func)
        if decode.library == "authlib":
            return self.authlib(decode, nodes)
        if none_algorithm(decode.algorithms):
            return self.hit(call, NONE_ALLOWED.format(call=shown))
        if decode.algorithms is not None and _from_header(decode.algorithms, headers, self.imports):
            return self.hit(call, ALGORITHM_FROM_TOKEN.format(call=shown))
        if decode.signature_off:
            return None  # judged by what the claims decide
        if decode.expiry_off:
            return self.hit(call, EXPIRY_OFF.format(call=shown))
        if decode.algorithms is not None:
            return None
        if decode.library == "jose":
            return self.hit(call, JOSE_MISSING.format(call=shown))
        if decode.algorithm_typo:
            return self.hit(call, PYJWT_TYPO.format(call=shown), _typo_fix(self.source, call))
        return self.hit(call, PYJWT_MISSING.format(call=shown))

    def authlib(self, decode: Decode, nodes: list[ast.AST]) -> Hit | None:
        """Authlib checks the signature in decode and the claims in ``claims.validate()``."""
        names = _bound(nodes, [Unverified(decode.call, "", header=False)])
        if not names:
            return None
        validated = any(
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "validate"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in names
            for node in nodes
        )
        used = any(_claim_key(node, names) is not None for node in nodes)
        if validated or not used:
            return None
        return self.hit(decode.call, AUTHLIB_UNVALIDATED.format(call=ast.unparse(decode.call.func)))

    def decisions(self, nodes: list[ast.AST], claims: list[Unverified], function: str) -> Iterator[Hit]:
        """Where unverified claims decide who the caller is: at most one hit per read."""
        for read in claims:
            names = _bound(nodes, [read])
            found = _decision(nodes, read, names, function)
            if found is None:
                continue
            where, decision = found
            key = f"{ast.unparse(read.call)}\n{ast.unparse(where)}"
            message = UNVERIFIED_USE.format(reader=read.reader, line=read.call.lineno, decision=decision)
            first, last = span(where)
            if self.change is not None and not self.change.any_added(first, last):
                # The decision was there before: the read is what the change added.
                first, last = span(read.call)
                where = read.call
            yield Hit(
                first,
                message,
                end_line=last,
                column=where.col_offset + 1,
                statement=(first, last),
                fingerprint_key=key,
            )

    def hit(self, call: ast.Call, message: str, suggestion: Suggestion | None = None) -> Hit:
        first, last = span(call)
        return Hit(
            first,
            message,
            end_line=last,
            column=call.col_offset + 1,
            suggestion=suggestion,
            statement=(first, last),
            fingerprint_key=ast.unparse(call),  # survives reformatting, see FL010
        )


def _checked(read: Unverified, nodes: list[ast.AST], decodes: list[Decode]) -> bool:
    """The read is not what the function trusts: a verifying decode follows it (the read
    picked the key or the issuer), the signature was checked by hand before it
    (``public_key.verify(...)``), or the token is one the function just made itself."""
    line = read.call.lineno
    if any(not d.signature_off and d.call.lineno > line for d in decodes):
        return True
    for node in nodes:
        if isinstance(node, ast.Call) and node.lineno < line:
            name = callee(node).rsplit(".", 1)[-1].lower()
            if "verify" in name and "unverified" not in name:
                return True
    token = read.call.args[0] if read.call.args else None
    if not isinstance(token, ast.Name):
        return False
    return any(
        isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == token.id for t in node.targets)
        and isinstance(node.value, ast.Call)
        and callee(node.value).rsplit(".", 1)[-1].lower().startswith(OWN_TOKEN_VERBS)
        for node in nodes
    )


def _dict_names(nodes: list[ast.AST]) -> dict[str, ast.expr]:
    """``opts = {...}`` or ``dict(...)`` in the scope, by name (the last one written)."""
    found: dict[str, ast.expr] = {}
    for node in nodes:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, (ast.Dict, ast.Call))
        ):
            found[node.targets[0].id] = node.value
    return found


def _bound(nodes: list[ast.AST], reads: list[Unverified], every_key: bool = False) -> set[str]:
    """The names that hold what ``reads`` returned, or a claim of it other than the key-picking ones
    (``claims = ...``, ``sub = claims["sub"]``; any claim with ``every_key``), followed through
    plain assignments."""
    calls = {id(read.call) for read in reads}
    names: set[str] = set()
    assigns = [
        n for n in nodes if isinstance(n, ast.Assign) and all(isinstance(t, ast.Name) for t in n.targets)
    ]
    changed = True
    while changed:
        changed = False
        for node in assigns:
            if _holds(node.value, calls, names, every_key):
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id not in names:
                        names.add(target.id)
                        changed = True
    return names


def _holds(value: ast.expr, calls: set[int], names: set[str], every_key: bool) -> bool:
    """``value`` is made from the read: the read itself, a tracked name, or an expression of a
    non-key claim of either (``claims.get("email") or claims["sub"]``, ``User.get(sub)``)."""
    if every_key:
        return any(
            id(node) in calls or (isinstance(node, ast.Name) and node.id in names) for node in ast.walk(value)
        )
    return _uses(value, names, calls)


def _claim_key(node: ast.AST, names: set[str], calls: set[int] | None = None) -> str | None:
    """``claims["sub"]`` or ``claims.get("sub")`` on a tracked name (or read): "sub"; "" for a
    key that is not a string; None when ``node`` reads no claim."""
    base: ast.expr | None = None
    key: ast.expr | None = None
    if isinstance(node, ast.Subscript):
        base, key = node.value, node.slice
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and node.args
    ):
        base, key = node.func.value, node.args[0]
    if base is None:
        return None
    tracked = (isinstance(base, ast.Name) and base.id in names) or (calls is not None and id(base) in calls)
    if not tracked:
        return None
    return string_value(key) or ""


def _decision(
    nodes: list[ast.AST], read: Unverified, names: set[str], function: str
) -> tuple[ast.stmt | ast.expr, str] | None:
    """The first statement where the read's claims decide who the caller is, and how."""
    calls = {id(read.call)}
    returns = not any(word in function.lower() for word in UNVERIFIED_WORDS)
    for node in nodes:
        if isinstance(node, ast.Return) and node.value is not None and returns:
            if _uses(node.value, names, calls):
                return node, f"decide what `{function or 'the module'}` returns"
        elif isinstance(node, (ast.If, ast.While, ast.Assert)):
            if _uses(node.test, names, calls):
                return node.test, f"decide the `if` on line {node.test.lineno}"
        elif isinstance(node, ast.Assign) and _uses(node.value, names, calls):
            target = next((t for t in node.targets if not isinstance(t, ast.Name)), None)
            if target is not None and any(word in ast.unparse(target).lower() for word in IDENTITY_WORDS):
                return node, f"set `{ast.unparse(target)}`"
    return None


def _uses(node: ast.AST, names: set[str], calls: set[int]) -> bool:
    """``node`` reads the claims other than through key-picking or timing claims alone."""
    stack: list[ast.AST] = [node]
    while stack:
        current = stack.pop()
        key = _claim_key(current, names, calls)
        if key is not None:
            if key not in KEY_CLAIMS:
                return True
            continue  # ``claims["exp"]``: timing, not identity
        if id(current) in calls or (isinstance(current, ast.Name) and current.id in names):
            return True
        stack.extend(ast.iter_child_nodes(current))
    return False


def _from_header(algorithms: ast.expr, headers: set[str], imports: dict[str, str]) -> bool:
    """The algorithms come from an unverified header: ``[header["alg"]]``,
    ``get_unverified_header(t)["alg"]``."""
    for node in ast.walk(algorithms):
        if isinstance(node, ast.Name) and node.id in headers:
            return True
        if isinstance(node, ast.Call) and (qualified_name(node.func, imports) or "") in UNVERIFIED_HEADER:
            return True
    return False


def _typo_fix(source: SourceFile, call: ast.Call) -> Suggestion | None:
    keyword = next(kw for kw in call.keywords if kw.arg == "algorithm")
    value = keyword.value
    if (
        keyword.lineno != keyword.end_lineno
        or keyword.end_col_offset is None
        or isinstance(value, (ast.List, ast.Tuple))
    ):
        return None
    # The value as written (ast.unparse would re-quote it): on the keyword's one line.
    written = source.line(keyword.lineno).encode()[value.col_offset : value.end_col_offset].decode()
    text = f"algorithms=[{written}]"
    return replace_span(
        source,
        keyword.lineno,
        keyword.col_offset,
        keyword.lineno,
        keyword.end_col_offset,
        text,
        FIX_TITLE,
        safe=True,
    )
