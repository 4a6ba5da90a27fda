"""What a call reaches by its shape: a database query of SQLAlchemy, Flask-SQLAlchemy or
Django, an LLM API, or an HTTP request. Names only: nothing here resolves types."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from faultline.analyzers.lib.python.imports import qualified_name
from faultline.analyzers.lib.python.nodes import dotted_name

QUERY = "query"
DJANGO_QUERY = "django-query"
DJANGO_SAVE = "django-save"
LLM = "llm"
HTTP = "http"

# The last word of a receiver that holds a database session or connection.
DATABASE_RECEIVERS = frozenset(
    {"session", "db", "conn", "connection", "cursor", "database", "tx", "transaction", "uow"}
)
# The names a database session goes by when it is handed to a helper.
SESSION_ARGUMENTS = frozenset({"session", "db_session", "db", "dbsession", "async_session"})
READ_VERBS = ("get", "fetch", "load", "find", "query", "select", "count", "lookup", "read", "exists")
SESSION_METHODS = frozenset(
    {"execute", "query", "scalar", "scalars", "exec", "fetch", "fetchrow", "fetchval",
     "fetch_all", "fetch_one", "fetch_val", "refresh", "get_one", "stream", "stream_scalars"}
)  # fmt: skip
# ``session.get(User, uid)``: a model class first tells it from ``dict.get``.
MODEL_FIRST_METHODS = frozenset({"get", "merge"})
# Queryset methods that run a query; ``filter``, ``all``, ``values`` only build one (lazily).
DJANGO_METHODS = frozenset(
    {"get", "create", "get_or_create", "update_or_create", "count", "exists", "first", "last",
     "aggregate", "update", "delete", "in_bulk", "latest", "earliest", "bulk_create", "bulk_update",
     "aget", "acreate", "aget_or_create", "aupdate_or_create", "acount", "aexists", "afirst", "alast",
     "aaggregate", "aupdate", "adelete", "ain_bulk"}
)  # fmt: skip
# Receivers whose ``save()`` is no model's: a form or serializer saves what it was given.
NOT_MODEL_SAVES = ("form", "serializer", "panel", "formset", "image", "file", "wb", "workbook", "fig")
LLM_PACKAGES = frozenset(
    {"openai", "anthropic", "litellm", "mistralai", "cohere", "groq", "langchain", "langchain_core",
     "langchain_openai", "langchain_anthropic", "langchain_community", "llama_index", "vertexai"}
)  # fmt: skip
LLM_CALL_ENDINGS = (
    "chat.completions.create", "chat.completions.parse", "completions.create", "messages.create",
    "responses.create", "embeddings.create", "ChatCompletion.create", "ChatCompletion.acreate",
    "Completion.create", "Embedding.create", "generate_content", "generate_content_async",
)  # fmt: skip
LLM_FUNCTIONS = frozenset({"litellm.completion", "litellm.acompletion", "litellm.embedding"})
# LangChain runnables: ``llm.invoke(prompt)``, ``chain.ainvoke(...)``.
RUNNABLE_METHODS = frozenset({"invoke", "ainvoke", "predict", "apredict"})
RUNNABLE_WORDS = frozenset({"llm", "chain", "chat", "model", "agent"})
HTTP_PACKAGES = frozenset({"requests", "httpx", "aiohttp"})
HTTP_VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "request", "send"})
HTTP_FUNCTIONS = frozenset(
    {f"{package}.{verb}" for package in ("requests", "httpx") for verb in HTTP_VERBS - {"send"}}
    | {"urllib.request.urlopen"}
)


@dataclass(frozen=True)
class Evidence:
    """What a module's imports and text say it uses, decided once per module."""

    imports: dict[str, str]  # import_map of the module
    django: bool
    llm: bool
    http: bool


def reached(call: ast.Call, evidence: Evidence) -> str | None:
    """QUERY, DJANGO_QUERY, DJANGO_SAVE, LLM or HTTP: what ``call`` reaches, if any."""
    func = call.func
    if not isinstance(func, ast.Attribute):
        qualified = qualified_name(func, evidence.imports)
        if qualified in HTTP_FUNCTIONS:
            return HTTP
        if evidence.llm and qualified in LLM_FUNCTIONS:
            return LLM
        return QUERY if passes_session(call) else None
    method = func.attr
    receiver = func.value
    if method in DJANGO_METHODS and manager_of(receiver, "objects") is not None:
        return DJANGO_QUERY
    if _is_manager(receiver, "query") and _capitalised(receiver):
        return QUERY  # Flask-SQLAlchemy: ``User.query.filter_by(...)``
    if method == "save" and evidence.django and not call.args and _model_receiver(receiver):
        return DJANGO_SAVE
    words = _receiver_words(receiver)
    database = bool(words) and words[-1] in DATABASE_RECEIVERS
    if database and (method in SESSION_METHODS or (method in MODEL_FIRST_METHODS and _model_first(call))):
        return QUERY
    return _remote(call, method, words, evidence) or (QUERY if passes_session(call) else None)


def passes_session(call: ast.Call) -> bool:
    """A helper handed the database session whose name says it reads
    (``incident_service.get(db_session=db_session, ...)``, ``load_rows(session)``).
    One that creates, sends or updates does one item's work: per item is its design."""
    name = dotted_name(call.func).rsplit(".", 1)[-1].lower()
    if not name.startswith(READ_VERBS) or name.startswith("get_or_create"):
        return False
    named = [keyword.value for keyword in call.keywords if keyword.arg in SESSION_ARGUMENTS]
    plain = [arg for arg in call.args if isinstance(arg, ast.Name) and arg.id in SESSION_ARGUMENTS]
    return bool(plain) or any(isinstance(value, (ast.Name, ast.Attribute)) for value in named)


def _remote(call: ast.Call, method: str, words: list[str], evidence: Evidence) -> str | None:
    """LLM or HTTP for a method call, from its dotted name and receiver."""
    name = dotted_name(call.func)
    if evidence.llm and (
        name.endswith(LLM_CALL_ENDINGS) or (method in RUNNABLE_METHODS and set(words) & RUNNABLE_WORDS)
    ):
        return LLM
    qualified = qualified_name(call.func, evidence.imports)
    if qualified in HTTP_FUNCTIONS:
        return HTTP
    if not (evidence.http and method in HTTP_VERBS and words):
        return None
    if words[-1] == "client" or (words[-1] == "session" and not _model_first(call)):
        return HTTP
    return None


def manager_of(node: ast.expr, attribute: str) -> ast.expr | None:
    """The class before ``.objects`` in a queryset chain: ``Order`` in ``Order.objects.filter(x).exists``."""
    while isinstance(node, (ast.Call, ast.Attribute, ast.Subscript)):
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            if node.attr == attribute:
                return node.value
            node = node.value
        else:
            node = node.value
    return None


def _model_receiver(receiver: ast.expr) -> bool:
    name = dotted_name(receiver).rsplit(".", 1)[-1].lower()
    return bool(name) and not any(word in name for word in NOT_MODEL_SAVES)


def _is_manager(node: ast.expr, attribute: str) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == attribute


def _capitalised(manager: ast.expr) -> bool:
    """``User.query`` or ``models.User.query``: a class's query property, not ``self.query``."""
    owner = manager.value if isinstance(manager, ast.Attribute) else None
    last = dotted_name(owner).rsplit(".", 1)[-1] if owner is not None else ""
    return last[:1].isupper() and not last.isupper()


def _model_first(call: ast.Call) -> bool:
    """The first argument names a class: ``session.get(User, uid)``."""
    first = call.args[0] if call.args else None
    last = dotted_name(first).rsplit(".", 1)[-1] if first is not None else ""
    return last[:1].isupper() and not last.isupper()


def _receiver_words(receiver: ast.expr) -> list[str]:
    """``self.db_session`` → ["db", "session"]; ``db.session`` → ["db", "session"]."""
    if isinstance(receiver, ast.Call):
        receiver = receiver.func  # ``get_session().execute``
    name = dotted_name(receiver)
    if not name:
        return []
    parts = [part for part in name.split(".") if part not in ("self", "cls")]
    words = [word for part in parts[-2:] for word in part.lower().split("_") if word]
    return words
