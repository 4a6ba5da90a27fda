"""The exceptions that well-known callables raise on bad input, read off the calls
of a block: what a handler around ``float(raw)`` or ``json.loads(text)`` can name
instead of ``Exception``. Unknown when a single call of the block is not in the table."""

from __future__ import annotations

import ast

from faultline.analyzers.lib.python.nodes import all_nodes, dotted_name

_OS = ("OSError",)
_VALUE = ("ValueError",)
# The callee as written → what it raises on bad input (its own errors, not a bug's).
CALLS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("int", "float", "complex"), ("ValueError", "TypeError")),
    **dict.fromkeys(("json.loads", "json.load"), ("json.JSONDecodeError",)),
    **dict.fromkeys(("yaml.safe_load", "yaml.load", "yaml.safe_load_all"), ("yaml.YAMLError",)),
    **dict.fromkeys(("tomllib.loads", "tomllib.load"), ("tomllib.TOMLDecodeError",)),
    "ast.literal_eval": ("ValueError", "SyntaxError"),
    "open": _OS,
    **dict.fromkeys(
        (
            *("os.remove", "os.unlink", "os.rmdir", "os.mkdir", "os.makedirs", "os.rename", "os.replace"),
            *("os.stat", "os.listdir", "os.chmod", "os.path.getsize", "os.path.getmtime", "shutil.rmtree"),
            *("shutil.copy", "shutil.copyfile", "shutil.copy2", "shutil.move"),
        ),
        _OS,
    ),
    **dict.fromkeys(
        (
            *("datetime.strptime", "datetime.datetime.strptime", "datetime.fromisoformat"),
            *("datetime.datetime.fromisoformat", "date.fromisoformat", "datetime.date.fromisoformat"),
            *("uuid.UUID", "UUID", "ipaddress.ip_address", "ipaddress.ip_network", "shlex.split"),
            *("base64.b64decode", "base64.urlsafe_b64decode", "b64decode", "urlsafe_b64decode"),
            *("urlparse", "urllib.parse.urlparse", "dateutil.parser.parse", "isoparse"),
        ),
        _VALUE,
    ),
    **dict.fromkeys(("importlib.import_module", "import_module"), ("ImportError",)),
    "re.compile": ("re.error",),
    "next": ("StopIteration",),
    "getattr": ("AttributeError",),
    "hash": ("TypeError",),
}
# Methods whose name alone says what they raise, whatever the receiver.
METHODS: dict[str, tuple[str, ...]] = {
    "read_text": ("OSError", "UnicodeDecodeError"),
    **dict.fromkeys(("read_bytes", "write_text", "write_bytes", "unlink", "mkdir", "rmdir", "touch"), _OS),
    "decode": ("UnicodeDecodeError",),
    "encode": ("UnicodeEncodeError",),
    "fromisoformat": _VALUE,
    "strptime": _VALUE,
}
# Calls that raise nothing a handler is meant for (a ``TypeError`` there is a bug).
QUIET_CALLS = frozenset(
    {
        *("str", "repr", "len", "bool", "isinstance", "issubclass", "hasattr", "type", "print"),
        *("list", "dict", "tuple", "set", "frozenset", "sorted", "reversed", "enumerate", "zip", "range"),
        *("Path", "pathlib.Path", "os.path.join", "os.path.exists", "os.path.isfile", "os.path.isdir"),
        *("os.getenv", "os.environ.get", "abs", "any", "all", "iter"),
    }
)
QUIET_METHODS = frozenset(
    {
        *("strip", "lstrip", "rstrip", "lower", "upper", "split", "rsplit", "replace", "startswith"),
        *("endswith", "join", "format", "items", "keys", "values", "append", "extend", "exists"),
    }
)
# The subclasses a broader name of the same list already covers.
COVERED_BY = {
    "json.JSONDecodeError": "ValueError",
    "UnicodeDecodeError": "ValueError",
    "UnicodeEncodeError": "ValueError",
}


def raised_by(body: list[ast.stmt]) -> list[str] | None:
    """The exceptions the calls of ``body`` raise on bad input, in the order they
    first appear; None when one call is unknown, or nothing there raises."""
    found: list[str] = []
    for stmt in body:
        for node in all_nodes(stmt):
            names = _raises(node)
            if names is None:
                return None
            found.extend(name for name in names if name not in found)
    covered = [name for name in found if name in COVERED_BY]
    if len(covered) > 1 and "ValueError" not in found:
        # ``(json.JSONDecodeError, UnicodeDecodeError)``: both are ValueErrors.
        found[found.index(covered[0])] = "ValueError"
    kept = [name for name in found if COVERED_BY.get(name) not in found]
    return kept or None


def _raises(node: ast.AST) -> tuple[str, ...] | None:
    """What one node may raise; None when it is a call nobody can tell."""
    if isinstance(node, (ast.Await, ast.Yield, ast.YieldFrom, ast.Lambda)):
        return None  # a coroutine or a generator's consumer: anything can come back
    if isinstance(node, ast.Call):
        return _call(node)
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return ("ImportError",)  # an optional dependency
    if isinstance(node, ast.Raise) and node.exc is not None:
        name = dotted_name(node.exc)
        return (name,) if name else None
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
        index = node.slice.value if isinstance(node.slice, ast.Constant) else None
        if isinstance(index, str):
            return ("KeyError",)
        return ("IndexError",) if type(index) is int else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Div, ast.FloorDiv, ast.Mod)):
        # ``"%s" % name`` formats; dividing by a literal cannot fail.
        constant = isinstance(node.right, ast.Constant) or isinstance(
            node.left, (ast.Constant, ast.JoinedStr)
        )
        return () if constant else ("ZeroDivisionError",)
    return ()


def _call(call: ast.Call) -> tuple[str, ...] | None:
    name = dotted_name(call.func)
    if name == "getattr" and len(call.args) > 2:
        return ()  # a default: nothing raised
    if name in CALLS:
        return CALLS[name]
    if name in QUIET_CALLS:
        return ()
    if isinstance(call.func, ast.Attribute):
        method = call.func.attr
        if method in METHODS:
            return METHODS[method]
        if method in QUIET_METHODS:
            return ()
    return None
