"""What a caller makes of an exception raised or a response returned: a client
error (bad credentials, a missing record, bad input) or something else."""

from __future__ import annotations

import ast
import re

from faultline.analyzers.lib.python.nodes import callee, dotted_name

# The words of an exception's name that blame the client, and what a caller takes it for.
CLIENT_MEANINGS = (
    (("notfound", "not_found", "doesnotexist", "does_not_exist", "nosuch", "http404"), "a missing record"),
    (("forbidden", "permission", "denied"), "a permission problem"),
    (("unauthori", "unauthenti", "credential", "auth", "login", "token"), "bad credentials"),
    (
        ("invalid", "badrequest", "bad_request", "badparameter", "validation", "valueerror", "keyerror"),
        "bad input",
    ),
)
STATUS_MEANINGS = {401: "bad credentials", 403: "a permission problem", 404: "a missing record"}
DJANGO_RESPONSES = {"HttpResponseBadRequest": 400, "HttpResponseForbidden": 403, "HttpResponseNotFound": 404}
RESPONSE_METHOD = re.compile(r"response_(4\d\d)$")  # Flask-AppBuilder's ``self.response_422(...)``


def meaning(exc: ast.expr) -> str | None:
    """What a caller will take the new exception for, if it blames the client."""
    if isinstance(exc, ast.Call):
        status = status_argument(exc)
        if status is not None:
            return status_meaning(status) if 400 <= status < 500 else None
    words = callee(exc).lower()
    if isinstance(exc, ast.Call):
        words += " " + " ".join(dotted_name(k.value).lower() for k in exc.keywords if k.arg == "error_code")
    for needles, found in CLIENT_MEANINGS:
        if any(needle in words for needle in needles):
            return found
    return None


def status_meaning(status: int) -> str:
    return STATUS_MEANINGS.get(status, "bad input")


def exception_name(node: ast.expr) -> str:
    """``HTTPException(401)``, ``NotFound``: the exception as a message names it."""
    name = callee(node) or ast.unparse(node)
    status = status_argument(node) if isinstance(node, ast.Call) else None
    return f"{name}({status})" if status is not None else name


def response_status(value: ast.expr | None) -> int | None:
    """A 4xx status the returned value carries: ``JSONResponse(status_code=401)``, ``(body, 400)``."""
    code: int | None = None
    if isinstance(value, ast.Call):
        code = status_argument(value)
    elif isinstance(value, ast.Tuple) and len(value.elts) >= 2:
        code = status_code(value.elts[1])
    return code if code is not None and 400 <= code < 500 else None


def status_argument(call: ast.Call) -> int | None:
    """The status a call to an exception or response class is given, or implies by its name."""
    for kw in call.keywords:
        if kw.arg in ("status_code", "status"):
            return status_code(kw.value)
    name = callee(call).rsplit(".", 1)[-1]
    if name == "HTTPException" and call.args:
        return status_code(call.args[0])
    if match := RESPONSE_METHOD.match(name):
        return int(match.group(1))
    return DJANGO_RESPONSES.get(name)


def status_code(node: ast.expr) -> int | None:
    """``401`` or ``status.HTTP_401_UNAUTHORIZED``."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.Attribute) and node.attr.startswith("HTTP_") and node.attr[5:8].isdigit():
        return int(node.attr[5:8])
    return None
