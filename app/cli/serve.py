"""``faultline serve``: check the settings, start the job workers, run the web server.

A missing or malformed setting stops the start with one line naming it (exit 2). With no
App credentials at all the server starts in setup mode, to register the App.
"""

from __future__ import annotations

import fcntl
import gc
import io
import logging
import signal
import sqlite3
import sys
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, TextIO
from urllib.parse import urlsplit

import structlog
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from pydantic import ValidationError

from faultline.app.settings import Settings
from faultline.app.web.log_context import QUIET_DELIVERIES
from faultline.app.web.redact import redact, redact_secrets

if TYPE_CHECKING:
    from faultline.app.work.queue import JobQueue

EXIT_OK, EXIT_START_FAILED, EXIT_CONFIG = 0, 1, 2
ENV_PREFIX = "FAULTLINE_"
CREDENTIALS = ("app_id", "private_key", "webhook_secret")
URL_SETTINGS = ("public_url", "github_url", "github_api_url")
LOCK_FILE = "serve.lock"
# Webhook requests are short; do not let a stuck client hold the shutdown.
GRACEFUL_SHUTDOWN_SECONDS = 10


class StartError(Exception):
    """One line for stderr, naming the setting at fault."""


def serve(host: str | None = None, port: int | None = None, *, work: bool = True) -> int:
    """``work``: run the jobs in this process too (``faultline serve`` without Redis);
    ``faultline web``, or any server with ``FAULTLINE_REDIS_URL``, only receives."""
    try:
        settings = load_settings()
    except StartError as err:
        print(f"faultline: {err}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(json_lines=not sys.stderr.isatty())
    port = port or settings.port
    if "public_url" not in settings.model_fields_set:
        # The default public URL follows the port actually served.
        settings = settings.model_copy(update={"public_url": f"http://localhost:{port}"})
    try:
        return _run(settings, host or settings.host, port, work=work and not settings.scale_out)
    except StartError as err:
        print(f"faultline: {err}", file=sys.stderr)
        return EXIT_CONFIG


def _run(settings: Settings, host: str, port: int, *, work: bool) -> int:
    # Imported once the settings are known good: a bad setting is reported without the wait.
    from faultline.app.web.server import create_app
    from faultline.app.web.setup import SetupError

    # uvicorn re-raises the signal that stopped it once it is done, with the handler it found:
    # a no-op handler here lets the workers stop gracefully instead of the process dying at once.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _after_uvicorn)
    queue = None
    lock = None
    started = False
    try:
        if settings.configured:
            if work:
                lock = lock_data_dir(settings.data_dir)
            queue = open_queue(settings)
        try:
            app = create_app(settings, queue=queue)
        except SetupError as err:
            raise StartError(str(err)) from None
        if queue is not None and work:
            # The data dir's lock is held: every lease in the file is a dead process's.
            queue.start(exclusive=True)
            started = True
        server = uvicorn.Server(_uvicorn_config(app, host, port))
        freeze_startup_objects()
        try:
            server.run()
        except SystemExit as exit_:  # uvicorn exits this way when it cannot bind the port
            return int(exit_.code or EXIT_START_FAILED)
        return EXIT_OK if server.started else EXIT_START_FAILED
    finally:
        if started and queue is not None:
            queue.stop()
        if lock is not None:
            lock.close()


def freeze_startup_objects() -> None:
    """Leave what start-up made (modules, models, the app) out of every garbage collection
    from now on: a full collection over them stalls every delivery in flight for tens of
    milliseconds, and they live as long as the process anyway."""
    gc.collect()
    gc.freeze()


def _after_uvicorn(signum: int, _frame: FrameType | None) -> None:
    logging.getLogger("faultline.serve").info("stopping on %s", signal.Signals(signum).name)


def _uvicorn_config(app: object, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        log_config=None,  # our logging setup renders uvicorn's records too
        proxy_headers=True,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


def load_settings() -> Settings:
    """Settings from the environment and the dotenv file, checked. Raises StartError.

    Without credentials there, those a registration saved in the data dir (when it
    could not write the dotenv file) are used: the App is registered already."""
    try:
        settings = Settings()
        if settings.env_file != Path(".env"):
            settings = Settings(_env_file=settings.env_file)  # type: ignore[call-arg]
        if not settings.configured and settings.credentials_file.exists():
            settings = _with_saved_credentials(settings)
    except ValidationError as err:
        raise StartError(describe(err)) from None
    check(settings)
    return settings


def _with_saved_credentials(settings: Settings) -> Settings:
    saved = settings.credentials_file
    try:
        saved.read_bytes()
    except OSError as err:
        raise StartError(
            f"{saved}: cannot be read ({err.strerror}); it holds the App's credentials"
        ) from None
    loaded = Settings(_env_file=(settings.env_file, saved))  # type: ignore[call-arg]
    if not loaded.configured:
        raise StartError(
            f"{saved}: holds no complete App credentials: complete it, or move it away to register again"
        )
    return loaded


def describe(err: ValidationError) -> str:
    first = err.errors()[0]
    name = ENV_PREFIX + str(first["loc"][0]).upper() if first["loc"] else "settings"
    message = first["msg"].removeprefix("Value error, ")
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{name}: {message[:1].lower()}{message[1:]}{more}"


def check(settings: Settings) -> None:
    """What pydantic cannot see: credentials given in part, a key that does not load, URLs."""
    given = [name for name in CREDENTIALS if getattr(settings, name) is not None]
    if given and len(given) < len(CREDENTIALS):
        missing = next(name for name in CREDENTIALS if name not in given)
        raise StartError(
            f"{_env(missing)} is missing ({', '.join(_env(name) for name in given)} set: "
            "give all three, or none to register the App)"
        )
    for name in URL_SETTINGS:
        url = getattr(settings, name)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise StartError(f"{_env(name)}: {url!r} is not an http(s) URL")
    if settings.private_key is not None:
        _check_key(settings.private_key.get_secret_value())


def _check_key(pem: str) -> None:
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as err:
        raise StartError(f"{_env('private_key')}: cannot be loaded ({err})") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise StartError(f"{_env('private_key')}: is not an RSA key (GitHub App keys are RSA)")


def _env(name: str) -> str:
    return ENV_PREFIX + name.upper()


def lock_data_dir(data_dir: Path) -> IO[bytes]:
    """Hold a lock on the data dir: its queue must have a single consumer, since one process
    puts back the jobs another left running."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        handle = (data_dir / LOCK_FILE).open("ab")
    except OSError as err:
        raise StartError(f"{_env('data_dir')}: cannot use {data_dir}: {err.strerror}") from None
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise StartError(f"{_env('data_dir')}: another faultline serve is using {data_dir}") from None
    return handle


def open_queue(settings: Settings) -> JobQueue:
    from redis.exceptions import RedisError

    from faultline.app.work.queue import JobQueue

    try:
        queue = JobQueue(settings)
        queue.ping()
    except (OSError, sqlite3.Error) as err:
        raise StartError(f"{_env('data_dir')}: cannot open the queue {settings.queue_path}: {err}") from None
    except RedisError as err:
        raise StartError(f"{_env('redis_url')}: cannot reach Redis: {err}") from None
    return queue


def _redacted_traceback(out: TextIO, exc_info: structlog.typing.ExcInfo) -> None:
    """A plain traceback, redacted: the console renderer writes it after the processors ran,
    and a pretty one (rich, when installed) would list every local value, keys included."""
    text = io.StringIO()
    structlog.dev.plain_traceback(text, exc_info)
    out.write(redact(text.getvalue()))


def configure_logging(*, json_lines: bool) -> None:
    """structlog for our lines and for the standard library's (uvicorn, huey): one format.

    JSON lines when stderr is not a terminal (containers), readable lines otherwise.
    """
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # Redacted last, once the message (an access log line, a traceback) is text.
    renderer: list[structlog.types.Processor] = (
        [structlog.processors.format_exc_info, redact_secrets, structlog.processors.JSONRenderer()]
        if json_lines
        else [redact_secrets, structlog.dev.ConsoleRenderer(exception_formatter=_redacted_traceback)]
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
        )
    )
    # No line says where it was logged from, or by which thread or process: skip finding out
    # (the logging HOWTO's optimisations), which is a good part of what a line costs.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").addFilter(QUIET_DELIVERIES)
