"""The App's settings: environment variables prefixed FAULTLINE_, or a .env file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from faultline.app.links import RuleLinks

_PLACEHOLDERS = {"changeme", "change-me", "secret", "xxx", "todo"}
# In the data dir: where registration writes the App's credentials when the env file
# cannot be written; a start without credentials reads them from there.
CREDENTIALS_FILE = "app-credentials.env"
CREDENTIAL_NAMES = ("FAULTLINE_APP_ID", "FAULTLINE_PRIVATE_KEY", "FAULTLINE_WEBHOOK_SECRET")


class Settings(BaseSettings):
    """Configuration of ``faultline serve``.

    With no App id, key and secret the server starts in setup mode: it serves
    the page that registers the App through GitHub's manifest flow and writes
    them to ``.env``.
    """

    model_config = SettingsConfigDict(env_prefix="FAULTLINE_", env_file=".env", extra="ignore")

    app_id: int | None = None
    app_slug: str | None = None
    # PEM text (newlines may be written as \n) or the path of a PEM file.
    private_key: SecretStr | None = None
    webhook_secret: SecretStr | None = None
    github_api_url: str = "https://api.github.com"
    github_url: str = "https://github.com"
    # Calls to GitHub (app/github/transport.py): a call waits at most the retry budget in
    # all (rate-limit pauses, backoff after 5xx and network errors, the first backoff
    # doubling each time); beyond it the job goes back to the queue with GitHub's delay.
    github_timeout_seconds: float = Field(default=30.0, gt=0)
    github_retry_budget_seconds: float = Field(default=60.0, ge=0)
    github_backoff_seconds: float = Field(default=1.0, ge=0)
    # Content-creating requests per window and installation (GitHub allows about 80 a minute).
    github_write_limit: int = Field(default=80, ge=0)
    github_write_window_seconds: float = Field(default=60.0, gt=0)
    # Requests of the hour's budget kept back: below it a run waits for the reset.
    github_rate_limit_reserve: int = Field(default=50, ge=0)
    # Files whose contents one GraphQL query reads; 0: one REST request per file.
    github_read_batch: int = Field(default=50, ge=0, le=100)
    public_url: str = "http://localhost:8000"
    # Where comments and check runs link each rule: unset, this server's own /rules/ pages
    # (the repository's when the public URL is local); else as the CLI's FAULTLINE_DOCS_URL.
    docs_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: Path = Path("data")
    env_file: Path = Path(".env")
    workers: int = Field(default=2, ge=1, le=32)
    max_body_bytes: int = 25 * 1024 * 1024
    # Scale-out: the queue and the run ledger in this Redis (redis://host:port/db); then
    # ``faultline serve`` only receives and ``faultline worker`` processes run the jobs.
    # Unset: both live in SQLite in the data dir and ``serve`` runs the jobs itself.
    redis_url: SecretStr | None = None
    # A run that keeps meeting errors time cures is given up (its check run completed as
    # failed) once its next try would start later than this after its first attempt.
    outage_deadline_seconds: float = Field(default=1800.0, gt=0)
    # Backoff between tries: about base * 2**errors, at most max, never less than GitHub asks.
    retry_base_seconds: float = Field(default=5.0, ge=0)
    retry_max_seconds: float = Field(default=300.0, ge=0)
    # A worker holds a run (and its pull request) for this long and renews it every third
    # of it while the run goes on; a killed worker's runs are taken over once it expires.
    lease_seconds: float = Field(default=60.0, gt=0)
    # How often owed runs (due, or whose lease expired, but not on the queue) are queued again,
    # and how long a due run may wait on the queue before it counts as lost.
    sweep_seconds: float = Field(default=30.0, gt=0)
    sweep_grace_seconds: float = Field(default=300.0, ge=0)
    # Pushes in quick succession: a pull request's newest delivery waits this long for a newer
    # one before its run starts, and every older head is completed as superseded.
    settle_seconds: float = Field(default=2.0, ge=0)
    # SIGTERM: running jobs get this long to finish; the rest go back to the queue.
    shutdown_grace_seconds: float = Field(default=20.0, ge=0)
    # Missed deliveries: how often GitHub's delivery log is scanned for failed ones (0: never),
    # and how far back the first scan looks (GitHub keeps deliveries 3 days).
    redeliver_every_seconds: float = Field(default=600, ge=0)
    redeliver_lookback_hours: float = Field(default=24, gt=0, le=72)

    @field_validator("private_key", mode="before")
    @classmethod
    def _load_key(cls, value: object) -> object:
        if not isinstance(value, str) or not value.strip():
            return None if value == "" else value
        text = value.strip().replace("\\n", "\n")
        if not text.startswith("-----BEGIN"):
            text = _read_key_file(text)
        if "PRIVATE KEY-----" not in text:
            raise ValueError("is not a PEM private key")
        return text

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _real_secret(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in _PLACEHOLDERS:
            raise ValueError("is a placeholder; set the secret GitHub signs webhooks with")
        return value or None

    @field_validator("redis_url", mode="before")
    @classmethod
    def _redis_url(cls, value: object) -> object:
        if (
            isinstance(value, str)
            and value.strip()
            and not value.startswith(("redis://", "rediss://", "unix://"))
        ):
            raise ValueError("is not a redis://, rediss:// or unix:// URL")
        return value or None

    @field_validator("github_api_url", "github_url", "public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def configured(self) -> bool:
        """True when the App's credentials are all there (not in setup mode)."""
        return self.app_id is not None and self.private_key is not None and self.webhook_secret is not None

    @property
    def rule_links(self) -> RuleLinks:
        return RuleLinks.of(self.docs_url) if self.docs_url else RuleLinks.served_at(self.public_url)

    @property
    def queue_path(self) -> Path:
        return self.data_dir / "queue.sqlite3"

    @property
    def scale_out(self) -> bool:
        """True when the queue is in Redis: the web process then runs no job."""
        return self.redis_url is not None

    @property
    def credentials_file(self) -> Path:
        return self.data_dir / CREDENTIALS_FILE


def _read_key_file(value: str) -> str:
    """The PEM text in the file ``value`` names. Errors never repeat ``value``:
    it may be the key itself, pasted in another encoding (base64, no header)."""
    try:
        path = Path(value).expanduser()
        found = path.is_file()
    except (OSError, ValueError):  # a long or odd value is not a path: "File name too long"
        found = False
    if not found:
        raise ValueError("is neither PEM text nor the path of a PEM file")
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"names a file that cannot be read ({type(err).__name__})") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
