"""Errors a browser sees as a page with the way back (the navigation of every page); API
clients (GitHub, curl, a load balancer) keep FastAPI's JSON answers."""

from __future__ import annotations

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException

from faultline.app.web.setup import message_page

NOT_FOUND = "There is no page at {path} on this server."
FAILED = "This page failed on the server; the error is in its log. Try again, or go back."


def wants_html(request: Request) -> bool:
    return request.method in ("GET", "HEAD") and "text/html" in request.headers.get("accept", "")


async def http_error(request: Request, exc: Exception) -> Response:
    """404, 405 and the like: a page for a browser, FastAPI's JSON for the rest."""
    if not isinstance(exc, HTTPException):  # registered for HTTPException only
        raise exc
    if not wants_html(request):
        return await http_exception_handler(request, exc)
    if exc.status_code == 404:
        title, message = "Not found", NOT_FOUND.format(path=request.url.path)
    else:
        title, message = f"Error {exc.status_code}", str(exc.detail)
    return HTMLResponse(message_page(title, message, kind="error"), exc.status_code, headers=exc.headers)


def internal_error_page() -> HTMLResponse:
    return HTMLResponse(message_page("Something went wrong", FAILED, kind="error"), 500)
