"""The App deployed as a bench runs it, against a GitHub simulator served in this process:

- ``sqlite``: one ``faultline serve`` (receiver and workers in one process, SQLite queue);
- ``redis``: ``faultline web`` plus W ``faultline worker`` processes over a redis-server
  (the Debian package) started on a free port.

Shared by ``webhook_load.py`` and ``chaos.py``; ``restart`` kills one process (SIGKILL) and
starts it again on the same data dir and port.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from faultline.app.web.webhooks import sign  # noqa: E402
from tests.app.redis_server import RedisServer, free_port  # noqa: E402
from tests.github_sim import GitHubSim  # noqa: E402

READY_SECONDS = 60.0
# What a process logs once its workers take jobs (serve and worker alike).
WORKING = b"workers started"


def env_for(
    sim: GitHubSim, base_url: str, data_dir: Path, redis_url: str | None, extra: dict[str, str] | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAULTLINE_")}
    env |= {
        "FAULTLINE_APP_ID": str(sim.app.id),
        "FAULTLINE_PRIVATE_KEY": sim.app.private_pem,
        "FAULTLINE_WEBHOOK_SECRET": sim.app.webhook_secret,
        "FAULTLINE_GITHUB_API_URL": base_url.rstrip("/"),
        "FAULTLINE_DATA_DIR": str(data_dir),
        "FAULTLINE_ENV_FILE": str(data_dir / "none.env"),
        "FAULTLINE_SETTLE_SECONDS": "0",
        **(extra or {}),
    }
    if redis_url is not None:
        env["FAULTLINE_REDIS_URL"] = redis_url
    return env


def delivery_headers(secret: str, body: bytes, delivery_id: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": delivery_id,
        "X-Hub-Signature-256": sign(secret, body),
    }


def wait_ready(url: str) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"the server at {url} did not become ready")


class Deployment:
    """The server processes of one mode; ``url`` is the receiver's."""

    def __init__(
        self,
        mode: str,
        sim: GitHubSim,
        base_url: str,
        folder: Path,
        workers: int,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.mode = mode
        self.data_dir = folder / mode
        self.data_dir.mkdir(parents=True)
        self.redis = RedisServer(folder / "redis", durable=True) if mode == "redis" else None
        if self.redis is not None:
            self.redis.start()
        redis_url = self.redis.url if self.redis else None
        self.env = env_for(sim, base_url, self.data_dir, redis_url, extra_env)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = "serve" if self.redis is None else "web"
        # name -> the command's arguments; the workers come after the receiver.
        self.commands = {"web": [command, "--port", str(self.port)]}
        if self.redis is not None:
            self.commands |= {f"worker-{number}": ["worker"] for number in range(workers)}
        self._starts: dict[str, int] = {}  # "workers started" lines logged before the last restart
        self.processes = {name: self._spawn(name) for name in self.commands}
        wait_ready(self.url)

    @property
    def redis_url(self) -> str | None:
        return self.redis.url if self.redis is not None else None

    @property
    def label(self) -> str:
        if self.redis is None:
            return "sqlite (serve, embedded workers)"
        return f"redis (web + {len(self.commands) - 1} workers)"

    @property
    def workers(self) -> list[str]:
        """The processes that run jobs: the serve process in embedded mode."""
        return ["web"] if self.redis is None else [name for name in self.commands if name != "web"]

    def _spawn(self, name: str) -> subprocess.Popen[bytes]:
        handle = (self.data_dir / f"{name}.log").open("ab")
        command = [sys.executable, "-m", "faultline.app.cli.main", *self.commands[name]]
        return subprocess.Popen(command, env=self.env, stdout=handle, stderr=handle)

    def restart(self, name: str) -> None:
        """SIGKILL the process and start it again on the same data dir (and port)."""
        process = self.processes[name]
        process.kill()
        process.wait()
        self._starts[name] = self._working(name)
        self.processes[name] = self._spawn(name)

    def working(self, name: str) -> bool:
        """Whether the process started last under ``name`` runs jobs yet."""
        return self._working(name) > self._starts.get(name, 0)

    def _working(self, name: str) -> int:
        return (self.data_dir / f"{name}.log").read_bytes().count(WORKING)

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            process.wait(timeout=60)
        if self.redis is not None:
            self.redis.stop()
