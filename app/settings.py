"""The App's settings: environment variables prefixed FAULTLINE_, or a .env file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    public_url: str = "http://localhost:8000"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: Path = Path("data")
    env_file: Path = Path(".env")
    workers: int = Field(default=2, ge=1, le=32)
    max_body_bytes: int = 25 * 1024 * 1024
    # Scale-out mode: the queue and the web processes' shared memory live in this Redis.
    redis_url: str | None = None
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

    @field_validator("github_api_url", "github_url", "public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def configured(self) -> bool:
        """True when the App's credentials are all there (not in setup mode)."""
        return self.app_id is not None and self.private_key is not None and self.webhook_secret is not None

    @property
    def queue_path(self) -> Path:
        return self.data_dir / "queue.sqlite3"

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
