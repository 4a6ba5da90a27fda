"""The App's log lines in both formats (JSON lines, and the readable lines of a terminal, where
a person runs the first registration): the manifest code is redacted in tracebacks too."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog

from faultline.app.cli.serve import configure_logging

SECRET = "c0de-that-buys-the-key"


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers, root.level = handlers, level
    structlog.reset_defaults()


@pytest.mark.parametrize("json_lines", [True, False])
def test_a_traceback_never_shows_the_manifest_code(
    restored_logging: None, capsys: pytest.CaptureFixture[str], json_lines: bool
) -> None:
    configure_logging(json_lines=json_lines)
    try:
        raise RuntimeError(f"POST https://api.github.com/app-manifests/{SECRET}/conversions failed")
    except RuntimeError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    logged = capsys.readouterr().err
    assert "RuntimeError" in logged and "/app-manifests/[redacted]/conversions" in logged
    assert SECRET not in logged
