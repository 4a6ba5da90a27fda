"""How PyJWT, python-jose and Authlib decode tokens: which calls verify a token, which
read it without verifying, and what a decode call is told to skip."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from faultline.analyzers.lib.python.calls import keyword_value
from faultline.analyzers.lib.python.imports import qualified_name
from faultline.analyzers.lib.python.nodes import string_value

PYJWT_DECODE = frozenset(
    {
        "jwt.decode",
        "jwt.decode_complete",
        "jwt.api_jwt.decode",
        "jwt.api_jwt.decode_complete",
        "jwt.PyJWT.decode",
    }
)
JOSE_DECODE = frozenset({"jose.jwt.decode"})
AUTHLIB_DECODE = frozenset({"authlib.jose.jwt.decode"})
AUTHLIB_TOKEN = frozenset({"authlib.jose.JsonWebToken", "authlib.jose.rfc7519.JsonWebToken"})
# Readers of a token that check nothing, and what they return.
UNVERIFIED_CLAIMS = frozenset({"jose.jwt.get_unverified_claims", "jose.jws.get_unverified_claims"})
UNVERIFIED_HEADER = frozenset(
    {
        "jwt.get_unverified_header",
        "jwt.api_jws.get_unverified_header",
        "jose.jwt.get_unverified_header",
        "jose.jwt.get_unverified_headers",
        "jose.jws.get_unverified_header",
        "jose.jws.get_unverified_headers",
    }
)
LIBRARY_NAMES = {"pyjwt": "PyJWT", "jose": "python-jose", "authlib": "Authlib"}


@dataclass(frozen=True)
class Decode:
    """One decode call and what it is told to check."""

    call: ast.Call
    library: str  # pyjwt | jose | authlib
    signature_off: bool
    expiry_off: bool
    algorithms: ast.expr | None  # as given; None when missing
    algorithm_typo: bool  # ``algorithm=`` (singular), which decode ignores


def library_of(call: ast.Call, imports: dict[str, str]) -> str | None:
    """The library whose decode ``call`` is, or None."""
    name = qualified_name(call.func, imports) or ""
    if (
        isinstance(call.func, ast.Attribute)
        and call.func.attr == "decode"
        and isinstance(call.func.value, ast.Call)
    ):
        # ``jwt.PyJWT().decode(...)``
        name = f"{qualified_name(call.func.value.func, imports)}.decode"
    if name in PYJWT_DECODE:
        return "pyjwt"
    if name in JOSE_DECODE:
        return "jose"
    if name in AUTHLIB_DECODE:
        return "authlib"
    return None


def read_decode(call: ast.Call, library: str, options: ast.expr | None) -> Decode:
    """What the decode call checks; ``options`` is the value of ``options=``, resolved
    to a dict display by the caller when it was a name."""
    flags = _flags(options)
    positional = call.args
    verify = keyword_value(call, "verify")
    # PyJWT 1.x: ``decode(jwt, key, verify=True, algorithms=None, ...)``; 2.x and jose:
    # ``decode(jwt, key, algorithms=None, options=None, ...)``.
    third = positional[2] if len(positional) > 2 else None
    verify_off = _is_false(verify) or (library == "pyjwt" and _is_false(third))
    algorithms = keyword_value(call, "algorithms")
    if (
        algorithms is None
        and third is not None
        and not _is_false(third)
        and not isinstance(third, ast.Starred)
    ):
        algorithms = third
    if algorithms is None and library == "pyjwt" and len(positional) > 3:
        algorithms = positional[3]
    return Decode(
        call,
        library,
        signature_off=flags.get("verify_signature") is False or verify_off,
        expiry_off=flags.get("verify_exp") is False,
        algorithms=algorithms,
        algorithm_typo=keyword_value(call, "algorithm") is not None,
    )


def none_algorithm(node: ast.expr | None) -> bool:
    """``"none"`` among the algorithms of a list, tuple or set display (or the one string)."""
    if node is None:
        return False
    elements = node.elts if isinstance(node, (ast.List, ast.Tuple, ast.Set)) else [node]
    return any((string_value(element) or "").lower() == "none" for element in elements)


def _flags(options: ast.expr | None) -> dict[str, bool]:
    """``{"verify_signature": False}`` -> {"verify_signature": False}; constant booleans only."""
    pairs: list[tuple[str | None, ast.expr]] = []
    if isinstance(options, ast.Dict):
        pairs = [(string_value(key), value) for key, value in zip(options.keys, options.values, strict=True)]
    elif isinstance(options, ast.Call) and isinstance(options.func, ast.Name) and options.func.id == "dict":
        pairs = [(kw.arg, kw.value) for kw in options.keywords]
    return {
        name: value.value
        for name, value in pairs
        if name is not None and isinstance(value, ast.Constant) and isinstance(value.value, bool)
    }


def _is_false(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False
