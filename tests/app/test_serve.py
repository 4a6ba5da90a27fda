"""``faultline serve`` as a real process: start-up checks, setup mode, a delivery, shutdown."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from faultline.app.cli.serve import load_settings
from faultline.app.settings import CREDENTIALS_FILE, Settings
from faultline.app.web.setup import STATE_COOKIE
from faultline.app.work.queue import JobQueue
from faultline.app.work.request import AnalysisRequest
from tests.app.conftest import APP_ID, WEBHOOK_SECRET, MakeSettings, private_key_pem, signed_headers
from tests.app.payloads import example
from tests.github_sim import running_sim

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 20.0
BAD_PEM = "-----BEGIN RSA PRIVATE KEY-----\\nbm90IGEga2V5\\n-----END RSA PRIVATE KEY-----"


def clean_env(**values: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("FAULTLINE_")}
    env["PYTHONPATH"] = str(ROOT)
    return env | {f"FAULTLINE_{name}": value for name, value in values.items()}


def credentials() -> dict[str, str]:
    return {"APP_ID": str(APP_ID), "PRIVATE_KEY": private_key_pem(), "WEBHOOK_SECRET": WEBHOOK_SECRET}


def faultline(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "faultline.app.cli.main", "serve", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"APP_ID": "abc"}, "faultline: FAULTLINE_APP_ID: input should be a valid integer"),
        (
            {"PRIVATE_KEY": "/no/such/key.pem"},
            "faultline: FAULTLINE_PRIVATE_KEY: is neither PEM text nor the path",
        ),
        (
            # A key pasted as base64: too long for a file name, and never echoed back.
            {"PRIVATE_KEY": "TUlJRXBBSUJBQUtDQVFFQTJ" * 40},
            "faultline: FAULTLINE_PRIVATE_KEY: is neither PEM text nor the path",
        ),
        ({"WEBHOOK_SECRET": "changeme"}, "faultline: FAULTLINE_WEBHOOK_SECRET: is a placeholder"),
        ({"PORT": "99999"}, "faultline: FAULTLINE_PORT: input should be less than or equal to 65535"),
        ({"APP_ID": "12"}, "faultline: FAULTLINE_PRIVATE_KEY is missing (FAULTLINE_APP_ID set"),
        ({**credentials(), "PRIVATE_KEY": BAD_PEM}, "faultline: FAULTLINE_PRIVATE_KEY: cannot be loaded"),
        (
            {"PUBLIC_URL": "faultline.example.org"},
            "faultline: FAULTLINE_PUBLIC_URL: 'faultline.example.org' is not",
        ),
        (
            {"GITHUB_API_URL": "ftp://ghe.example"},
            "faultline: FAULTLINE_GITHUB_API_URL: 'ftp://ghe.example' is not",
        ),
    ],
)
def test_bad_setting_stops_the_start_with_one_line_naming_it(
    tmp_path: Path, values: dict[str, str], expected: str
) -> None:
    result = faultline(tmp_path, clean_env(**values))
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(expected), result.stderr
    assert "TUlJRXBBSUJBQUtDQVFFQTJ" not in result.stderr


def test_bad_setting_in_the_env_file_is_named_too(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("FAULTLINE_WORKERS=0\n")
    result = faultline(tmp_path, clean_env())
    assert (result.returncode, result.stderr.strip()) == (
        2,
        "faultline: FAULTLINE_WORKERS: input should be greater than or equal to 1",
    )


def test_env_file_setting_names_the_file_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_settings: MakeSettings
) -> None:
    (tmp_path / "conf").mkdir()
    key = private_key_pem().replace("\n", "\\n")
    (tmp_path / "conf" / "app.env").write_text(
        f"FAULTLINE_APP_ID=77\nFAULTLINE_PRIVATE_KEY={key}\nFAULTLINE_WEBHOOK_SECRET=from-the-file\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FAULTLINE_ENV_FILE", "conf/app.env")
    settings = load_settings()
    assert (settings.app_id, settings.configured) == (77, True)


class Server:
    def __init__(self, process: subprocess.Popen[str], url: str, log: Path) -> None:
        self.process, self.url, self.log = process, url, log

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=START_TIMEOUT + 30)

    def log_lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]


StartServe = Callable[[dict[str, str]], Server]


@pytest.fixture
def serve_process(tmp_path: Path) -> Iterator[StartServe]:
    started: list[Server] = []

    def start(env: dict[str, str]) -> Server:
        port = free_port()
        log = tmp_path / f"serve-{port}.log"
        command = [sys.executable, "-m", "faultline.app.cli.main", "serve", "--port", str(port)]
        with log.open("w") as stderr:
            process = subprocess.Popen(
                command, cwd=tmp_path, env=env, stderr=stderr, stdout=stderr, text=True
            )
        server = Server(process, f"http://127.0.0.1:{port}", log)
        started.append(server)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                httpx.get(f"{server.url}/healthz", timeout=1)
                return server
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"faultline serve did not start:\n{log.read_text()}") from None
                time.sleep(0.05)

    yield start
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()


def test_without_credentials_it_serves_the_registration_page(
    serve_process: StartServe, tmp_path: Path
) -> None:
    server = serve_process(clean_env())
    # The page moves the browser to the public URL's host, which by default follows the port.
    page = httpx.get(f"{server.url}/", follow_redirects=True)
    assert page.status_code == 200
    assert str(page.url) == f"{server.url.replace('127.0.0.1', 'localhost')}/"
    assert "Register the GitHub App" in page.text
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "setup"}
    assert server.stop() == 0
    assert not (tmp_path / "data").exists()


def test_configured_it_queues_a_delivery_and_stops_on_sigterm(
    serve_process: StartServe, tmp_path: Path
) -> None:
    # GitHub's API is unreachable here: the job fails and is scheduled for a retry, which is fine.
    env = clean_env(
        **credentials(),
        GITHUB_API_URL=f"http://127.0.0.1:{free_port()}",
        WORKERS="3",
        # The job meets no GitHub: it need not keep trying, nor keep the stop waiting for it.
        GITHUB_RETRY_BUDGET_SECONDS="1",
        SHUTDOWN_GRACE_SECONDS="2",
        REDELIVER_EVERY_SECONDS="0",
    )
    server = serve_process(env)
    assert httpx.get(f"{server.url}/healthz").json()["workers"] == 3
    body = json.dumps(example("pull_request.opened")).encode()
    headers = signed_headers("pull_request", body, delivery="serve-guid")
    response = httpx.post(f"{server.url}/webhook", content=body, headers=headers)
    assert response.status_code == 202

    # A second server on the same data dir is refused: one process owns the queue.
    second = faultline(tmp_path, env, "--port", str(free_port()))
    assert second.returncode == 2
    assert "another faultline serve is using data" in second.stderr

    assert server.stop() == 0
    queued = [line for line in server.log_lines() if line.get("event") == "delivery queued"]
    assert len(queued) == 1
    # One line a delivery: uvicorn's access line of it is left out, the other requests keep theirs.
    access = [str(line.get("event")) for line in server.log_lines() if line.get("logger") == "uvicorn.access"]
    assert not [text for text in access if "POST /webhook" in text]
    assert [text for text in access if "GET /healthz" in text]
    assert {key: queued[0][key] for key in ("delivery", "github_event", "action", "repo")} == {
        "delivery": "serve-guid",
        "github_event": "pull_request",
        "action": "opened",
        "repo": "Codertocat/Hello-World",
    }
    # The delivery id is remembered in the queue file: a redelivery after the restart is not queued.
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    redelivered = AnalysisRequest("serve-guid", "pull_request.opened", 1, "Codertocat", "Hello-World", 2)
    assert not JobQueue(settings).enqueue(redelivered)


def test_the_manifest_code_never_reaches_the_log(serve_process: StartServe) -> None:
    # The code from GitHub buys the new App's private key for an hour: no log line may hold it.
    with running_sim() as sim:
        sim.sim.register_manifest_code("c0de-that-buys-the-key", slug="faultline-acme")
        server = serve_process(clean_env(GITHUB_API_URL=sim.base_url))
        with httpx.Client(base_url=server.url.replace("127.0.0.1", "localhost")) as browser:
            browser.get("/")
            state = browser.cookies.get(STATE_COOKIE)
            forged = browser.get("/setup/callback", params={"code": "f0rged-c0de", "state": "forged"})
            assert forged.status_code == 400
            done = browser.get("/setup/callback", params={"code": "c0de-that-buys-the-key", "state": state})
            assert done.status_code == 200, done.text
        assert server.stop() == 0
    log = server.log.read_text()
    assert "c0de-that-buys-the-key" not in log and "f0rged-c0de" not in log and state not in log
    events = [line["event"] for line in server.log_lines()]
    access = [event for event in events if isinstance(event, str) and "/setup/callback" in event]
    assert len(access) == 2 and all("/setup/callback?[redacted] HTTP/1.1" in event for event in access)
    conversion = [event for event in events if isinstance(event, str) and "/app-manifests/" in event]
    assert conversion and all("/app-manifests/[redacted]/conversions" in event for event in conversion)
    assert {"setup refused", "app registered"} <= set(events)


def test_credentials_saved_in_the_data_dir_are_what_the_next_start_uses(
    serve_process: StartServe, tmp_path: Path
) -> None:
    blocker = tmp_path / "read-only"
    blocker.write_text("")  # not a folder: the .env file under it cannot be written
    with running_sim() as sim:
        sim.sim.register_manifest_code("code-1", slug="faultline-acme")
        env = clean_env(GITHUB_API_URL=sim.base_url, ENV_FILE=str(blocker / ".env"))
        server = serve_process(env)
        with httpx.Client(base_url=server.url.replace("127.0.0.1", "localhost")) as browser:
            browser.get("/")
            state = browser.cookies.get(STATE_COOKIE)
            done = browser.get("/setup/callback", params={"code": "code-1", "state": state})
            assert done.status_code == 200 and "the next start reads" in done.text
        assert server.stop() == 0
        saved = tmp_path / "data" / CREDENTIALS_FILE
        before = saved.read_bytes()

        again = serve_process(env)  # registered: it starts as the App, not in setup mode
        assert httpx.get(f"{again.url}/healthz").json()["status"] == "ok"
        assert "Faultline is running" in httpx.get(f"{again.url}/").text
        assert httpx.get(f"{again.url}/setup/callback", params={"code": "c", "state": "s"}).status_code == 404
        assert again.stop() == 0
    assert saved.read_bytes() == before


def test_an_incomplete_credentials_file_stops_the_start_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / CREDENTIALS_FILE).write_text("FAULTLINE_APP_ID=12\n")
    result = faultline(tmp_path, clean_env())
    assert result.returncode == 2
    assert result.stderr == (
        f"faultline: {Path('data') / CREDENTIALS_FILE}: holds no complete App credentials: "
        "complete it, or move it away to register again\n"
    )
