"""The App's web side: the webhook receiver, the setup pages, health and metrics.

``create_app(settings)`` builds it; the routes are thin. With no App credentials the
server is in setup mode: ``/`` registers the App through GitHub's manifest flow and the
webhook answers 503 until the next start.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from html import escape
from typing import Any
from urllib.parse import urlsplit

import pydantic_core
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from faultline import __version__
from faultline.app.observe import metrics as observed
from faultline.app.observe.feedback import FeedbackCollector, FeedbackStore
from faultline.app.settings import Settings
from faultline.app.web.error_pages import http_error, internal_error_page, wants_html
from faultline.app.web.feedback import add_feedback_page
from faultline.app.web.log_context import WEBHOOK_PATHS, delivery_fields, model_fields
from faultline.app.web.redeliver import recovering
from faultline.app.web.rule_pages import add_rule_pages
from faultline.app.web.setup import (
    ALREADY_STORED,
    STATE_COOKIE,
    STATE_LIFETIME_SECONDS,
    SetupError,
    SetupFlow,
    checked_webhook_url,
    install_url,
    is_local,
    load_manifest,
    message_page,
    registered_page,
    setup_page,
)
from faultline.app.web.status import runs_table
from faultline.app.web.webhooks import (
    HANDLED_EVENTS,
    Delivery,
    PayloadError,
    Skip,
    decide,
    read_delivery,
    request_for,
    signature_matches,
)
from faultline.app.work.queue import JobQueue, Queue
from faultline.app.work.request import AnalysisRequest

log = structlog.get_logger("faultline.server")

OUTCOME_HEADER = "X-Faultline-Outcome"
# Sent to the setup page as well as to the callback: a reload reuses the state it carries.
STATE_COOKIE_PATH = "/"
NOT_REGISTERED = "the GitHub App is not registered yet: open this server's home page"
RUNNING_TITLE = "Faultline is running"


class Metrics:
    """Prometheus metrics of one app (a registry each, so several apps can live in one process)."""

    def __init__(self, queue: Queue | None) -> None:
        self.registry = CollectorRegistry()
        self.deliveries = Counter(
            "faultline_webhook_deliveries",
            "Webhook deliveries received, by event and outcome",
            ["event", "outcome"],
            registry=self.registry,
        )
        if queue is not None:
            self.registry.register(_QueueCollector(queue))

    def delivery(self, event: str, outcome: str) -> None:
        # Only known event names become labels: the header is free text.
        label = event if event in HANDLED_EVENTS or event == "ping" else "other"
        self.deliveries.labels(event=label, outcome=outcome).inc()


class _QueueCollector(Collector):
    def __init__(self, queue: Queue) -> None:
        self._queue = queue

    def collect(self) -> Iterable[Metric]:
        stats = self._queue.stats()
        yield GaugeMetricFamily(
            "faultline_queue_pending", "Jobs waiting to run, retries included", stats.pending
        )
        yield GaugeMetricFamily("faultline_queue_running", "Jobs running now", stats.running)
        jobs = CounterMetricFamily("faultline_jobs", "Job runs finished since start", labels=["outcome"])
        for outcome, count in sorted(stats.jobs.items()):
            jobs.add_metric([outcome], count)
        yield jobs


class WebhookReceiver:
    """``POST /webhook``: size cap, signature, headers, JSON, decision, durable enqueue, in that order."""

    def __init__(self, settings: Settings, queue: Queue | None, metrics: Metrics) -> None:
        self.settings = settings
        self.queue = queue
        self.metrics = metrics
        # Set once the server is shutting down: deliveries still arriving get a 503, which
        # GitHub shows as failed (and which can be redelivered), never a lost 202.
        self.draining = False
        self._admit = _admitter(queue)

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.receive(Request(scope, receive))
        await response(scope, receive, send)

    async def receive(self, request: Request) -> Response:
        event = request.headers.get("x-github-event", "")
        delivery = request.headers.get("x-github-delivery", "")
        # "event" is structlog's key for the message itself, hence "github_event".
        started = time.perf_counter()
        # Tokens rather than ``bound_contextvars``, which copies the whole context each time.
        tokens = structlog.contextvars.bind_contextvars(delivery=delivery or None, github_event=event or None)
        try:
            return await self._receive(request, event, delivery)
        except Exception:
            # Never let one delivery take the server down; GitHub shows the 500 in its log.
            log.exception("delivery failed")
            self.metrics.delivery(event, "error")
            return JSONResponse({"error": "internal error", "delivery": delivery}, 500)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)
            observed.WEBHOOK_ACK_SECONDS.observe(time.perf_counter() - started)

    async def _receive(self, request: Request, event: str, delivery: str) -> Response:
        secret, queue = self.settings.webhook_secret, self.queue
        if secret is None or queue is None:
            return self._refuse(event, 503, NOT_REGISTERED)
        if self.draining:
            return self._refuse(event, 503, "the server is shutting down")
        body = await read_capped(request, self.settings.max_body_bytes)
        if body is None:
            return self._refuse(event, 413, f"body over {self.settings.max_body_bytes} bytes")
        if not signature_matches(secret.get_secret_value(), body, request.headers.get("x-hub-signature-256")):
            self.metrics.delivery("", "unverified")
            log.warning("delivery refused", status=401, reason="missing or wrong X-Hub-Signature-256")
            return JSONResponse({"error": "missing or wrong X-Hub-Signature-256"}, 401)
        if not event or not delivery:
            return self._refuse(event, 400, "X-GitHub-Event and X-GitHub-Delivery headers are required")
        read = read_delivery(event, body)
        if read is not None:
            # The common case, read without building the whole payload (``read_delivery``).
            fields, payload = model_fields(read), None
        else:
            # Ping, events not handled, and payloads that do not fit: read all of it, to say why.
            try:
                payload = pydantic_core.from_json(body)
            except ValueError:
                return self._refuse(event, 400, "body is not JSON")
            fields = delivery_fields(payload)
        tokens = structlog.contextvars.bind_contextvars(**fields)
        try:
            return await self._dispatch(queue, event, delivery, read, payload)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)

    async def _dispatch(
        self, queue: Queue, event: str, delivery: str, read: Delivery | None, payload: Any
    ) -> Response:
        if event == "ping":
            self.metrics.delivery(event, "ping")
            log.info("ping", status=200, zen=payload.get("zen") if isinstance(payload, dict) else None)
            return JSONResponse({"pong": True, "app_id": self.settings.app_id})
        app_id = self.settings.app_id
        try:
            if read is not None:
                decision = decide(event, read, delivery, app_id=app_id)
            else:
                decision = request_for(event, payload, delivery, app_id=app_id)
        except PayloadError as err:
            return self._refuse(event, 400, str(err))
        if isinstance(decision, Skip):
            self.metrics.delivery(event, "ignored")
            log.info("delivery ignored", status=204, reason=decision.reason)
            return Response(
                status_code=204, headers={OUTCOME_HEADER: _header_text(f"ignored: {decision.reason}")}
            )
        # The job is on disk before GitHub hears 202; GitHub gives a delivery 10 seconds.
        queued = await self._admit(decision)
        outcome = "queued" if queued else "duplicate"
        self.metrics.delivery(event, outcome)
        log.info(f"delivery {outcome}", status=202, trigger=decision.trigger, pull=decision.pull_number)
        return JSONResponse({"queued": queued, "delivery": delivery}, 202, headers={OUTCOME_HEADER: outcome})

    def _refuse(self, event: str, status: int, reason: str) -> JSONResponse:
        self.metrics.delivery(event, f"rejected_{status}")
        log.warning("delivery refused", status=status, reason=reason)
        return JSONResponse({"error": reason}, status)


async def read_capped(request: Request, limit: int) -> bytes | None:
    """The body, or None when it is over ``limit`` bytes, whatever Content-Length claims."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


Admit = Callable[[AnalysisRequest], Awaitable[bool]]


def _admitter(queue: Queue | None) -> Admit:
    """The queue's own ``admit`` on the event loop when it has one, else ``enqueue`` in a thread."""
    admit: Admit | None = getattr(queue, "admit", None)
    if admit is not None:
        return admit

    async def in_thread(request: AnalysisRequest) -> bool:
        assert queue is not None
        return await run_in_threadpool(queue.enqueue, request)

    return in_thread


class App(FastAPI):
    """FastAPI, with deliveries sent to the receiver ahead of FastAPI's telemetry check,
    middleware, routing, dependency solving and per-request exit stacks: a good part of the
    CPU a delivery took, on the path GitHub times and at the rate GitHub sends (the receiver
    catches its own errors). Everything else is FastAPI's."""

    receiver: WebhookReceiver | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        receiver = self.receiver
        if (
            receiver is not None
            and scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] in WEBHOOK_PATHS
        ):
            await receiver.asgi(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def _header_text(text: str) -> str:
    # A reason may quote payload text; header values must be plain ASCII here.
    return text.encode("ascii", "backslashreplace").decode("ascii")[:300]


def create_app(settings: Settings, *, queue: Queue | None = None) -> App:
    """The ASGI app. ``queue`` defaults to the SQLite queue in the data dir (its workers are
    started by ``serve``, not here)."""
    if settings.configured and queue is None:
        queue = JobQueue(settings)
    if not settings.configured:
        queue = None
    metrics = Metrics(queue)
    receiver = WebhookReceiver(settings, queue, metrics)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        log.info("serving", mode="configured" if settings.configured else "setup", url=settings.public_url)
        async with recovering(settings, queue):  # missed deliveries, asked again (redeliver.py)
            yield
        receiver.draining = True
        close = getattr(queue, "close_async", None)
        if close is not None:
            await close()

    app = App(title="Faultline", version=__version__, docs_url=None, redoc_url=None, lifespan=lifespan)
    app.receiver = receiver  # POST /webhook and POST /
    app.mount("/static", StaticFiles(packages=[("faultline.app.web", "static")]), name="static")
    app.add_exception_handler(Exception, _internal_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    # Reached only by other methods (App sends POSTs to the receiver first): they get a 405.
    app.add_api_route("/webhook", receiver.receive, methods=["POST"], include_in_schema=False)
    app.add_api_route("/", receiver.receive, methods=["POST"], include_in_schema=False)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        if queue is None:
            return JSONResponse({"status": "setup"})
        try:
            stats = await run_in_threadpool(queue.stats)
        except Exception as err:
            log.exception("queue unreachable")
            return JSONResponse({"status": "queue unreachable", "error": str(err)}, 503)
        status = "no worker alive" if stats.workers_alive == 0 else "ok"
        body = {"status": status, "pending": stats.pending, "running": stats.running}
        return JSONResponse({**body, "workers": stats.workers_alive}, 200 if status == "ok" else 503)

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        """Ready to take deliveries: registered, and the queue's store answers."""
        if queue is None:
            return JSONResponse({"status": "setup mode: the App is not registered"}, 503)
        if receiver.draining:
            return JSONResponse({"status": "shutting down"}, 503)
        try:
            stats = await run_in_threadpool(queue.stats)
        except Exception as err:
            log.exception("queue unreachable")
            return JSONResponse({"status": "queue unreachable", "error": str(err)}, 503)
        return JSONResponse({"status": "ready", "pending": stats.pending, "running": stats.running})

    @app.get("/metrics")
    async def prometheus() -> Response:
        data = await run_in_threadpool(_exposition, metrics.registry)
        return Response(data, media_type=CONTENT_TYPE_LATEST)

    add_rule_pages(app)
    if settings.configured:
        _add_status_page(app, settings, queue)
        metrics.registry.register(FeedbackCollector(FeedbackStore.in_dir(settings.data_dir)))
        add_feedback_page(app, settings)
    else:
        _add_setup_pages(app, settings)
    return app


def _add_status_page(app: FastAPI, settings: Settings, queue: Queue | None) -> None:
    @app.get("/", response_class=HTMLResponse)
    async def status() -> HTMLResponse:
        runs = await run_in_threadpool(runs_table, queue)
        more = ""
        if settings.app_slug:
            link = install_url(settings, settings.app_slug)
            slug = escape(settings.app_slug)
            more = f'<p><a href="{escape(link)}">Install {slug} on more repositories</a></p>'
        more += runs
        message = f"App {settings.app_id} receives webhooks at {settings.public_url}/webhook."
        return HTMLResponse(message_page(RUNNING_TITLE, message, more_html=more))


def _add_setup_pages(app: FastAPI, settings: Settings) -> None:
    flow = SetupFlow(settings)
    base_manifest = load_manifest()

    @app.get("/", response_model=None)
    async def setup(request: Request, webhook_url: str | None = None, org: str | None = None) -> Response:
        if is_local(settings.public_url) and request.url.hostname != urlsplit(settings.public_url).hostname:
            # GitHub sends the browser back to the public URL: the flow must start on that host
            # (localhost and 127.0.0.1 are two), or the state cookie is missing on the way back.
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(f"{settings.public_url}/{query}", 307)
        if flow.done is not None:
            return HTMLResponse(registered_page(settings, flow.done, flow.saved))
        stored = flow.stored_elsewhere()
        if stored is not None:
            # Registered by another process, or before this one started: no second App over it.
            message = ALREADY_STORED.format(path=stored)
            return HTMLResponse(message_page("The App is registered", message), 409)
        state = flow.state_for(request.cookies.get(STATE_COOKIE))
        try:
            page = setup_page(settings, base_manifest, state, checked_webhook_url(webhook_url), org or None)
        except SetupError as err:
            return HTMLResponse(message_page("Cannot register the App", str(err), kind="error"), 400)
        response = HTMLResponse(page)
        response.set_cookie(
            STATE_COOKIE,
            state,
            max_age=STATE_LIFETIME_SECONDS,
            path=STATE_COOKIE_PATH,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        return response

    @app.get("/setup/callback", response_class=HTMLResponse)
    async def callback(request: Request, code: str | None = None, state: str | None = None) -> HTMLResponse:
        try:
            credentials = await flow.complete(code, state, request.cookies.get(STATE_COOKIE))
        except SetupError as err:
            log.warning("setup refused", reason=str(err))
            return HTMLResponse(message_page("Cannot register the App", str(err), kind="error"), 400)
        log.info(
            "app registered",
            app_id=credentials.app_id,
            slug=credentials.slug,
            env=str(flow.saved.path if flow.saved else settings.env_file),
        )
        response = HTMLResponse(registered_page(settings, credentials, flow.saved))
        response.delete_cookie(STATE_COOKIE, path=STATE_COOKIE_PATH)
        return response


def _exposition(registry: CollectorRegistry) -> bytes:
    # The app's own metrics, then the process-wide ones (runs, GitHub calls, rate limits).
    return generate_latest(registry) + generate_latest(observed.REGISTRY)


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("request failed", path=request.url.path, exc_info=exc)
    if wants_html(request):
        return internal_error_page()
    return JSONResponse({"error": "internal error"}, 500)
