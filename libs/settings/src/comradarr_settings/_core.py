"""Settings shared by every Comradarr service."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ._errors import SettingsError

LogLevel = Literal["trace", "debug", "info", "warning", "error"]
Port = Annotated[int, Field(ge=1, le=65535)]

# Well-known placeholders people paste from examples; refusing them beats shipping them.
_PLACEHOLDER_KEYS = {"changeme", "changethis", "secret", "your-secret-key", "comradarr"}
_MIN_SECRET_LEN = 32


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "comradarr"


class CoreSettings(BaseSettings):
    """Configuration every service reads from the environment."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    database_url: str | None = None
    nats_url: str | None = None
    secret_key: SecretStr | None = None
    host: str = "0.0.0.0"  # noqa: S104 - a home-server UI is meant to be reachable on the LAN
    port: Port = 3000
    gateway_port: Port = 8000
    tz: str = "UTC"
    log_level: LogLevel = "info"
    base_url: str = "/"
    data_dir: Path = Field(default_factory=_default_data_dir, alias="COMRADARR_DATA_DIR")
    # Port of a service's own /health and /metrics when it runs alone (distributed mode).
    service_port: Port = Field(default=9000, alias="COMRADARR_SERVICE_PORT")
    # Subject and stream prefix; tests give each run its own.
    bus_prefix: str = Field(default="comradarr", alias="COMRADARR_BUS_PREFIX")
    # Servers each JetStream stream is kept on: 3 on a 3-node NATS cluster survives a node.
    bus_replicas: int = Field(default=1, ge=1, le=5, alias="COMRADARR_BUS_REPLICAS")
    db_pool_min: int = Field(default=10, ge=1, alias="COMRADARR_DB_POOL_MIN")
    db_pool_max: int = Field(default=25, ge=1, alias="COMRADARR_DB_POOL_MAX")
    db_pool_max_idle_seconds: float = Field(default=300, gt=0, alias="COMRADARR_DB_POOL_MAX_IDLE")
    db_pool_max_lifetime_queries: int = Field(
        default=50_000, ge=1, alias="COMRADARR_DB_POOL_MAX_QUERIES"
    )
    shutdown_timeout_seconds: float = Field(default=20, gt=0, alias="COMRADARR_SHUTDOWN_TIMEOUT")
    # How often a process publishes the counts of its requests to the *arr apps (analytics).
    arr_stats_interval_seconds: float = Field(
        default=60, gt=0, le=3600, alias="COMRADARR_ARR_STATS_INTERVAL"
    )

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if not v.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return v

    @field_validator("nats_url")
    @classmethod
    def _check_nats_url(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        for part in v.split(","):
            if not part.strip().startswith(("nats://", "tls://", "ws://", "wss://")):
                raise ValueError("must be nats://host:port (comma-separated for a cluster)")
        return v

    @field_validator("secret_key")
    @classmethod
    def _check_secret_key(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None or v.get_secret_value() == "":
            return None
        raw = v.get_secret_value()
        if raw.lower() in _PLACEHOLDER_KEYS:
            raise ValueError("is a placeholder; set a random value (openssl rand -hex 32)")
        if len(raw) < _MIN_SECRET_LEN:
            raise ValueError(f"must be at least {_MIN_SECRET_LEN} characters")
        return v

    @field_validator("tz")
    @classmethod
    def _check_tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            hint = "use an IANA name like Europe/Berlin"
            raise ValueError(f"unknown time zone {v!r} ({hint})") from exc
        return v

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_level(cls, v: Any) -> Any:
        return v.lower() if isinstance(v, str) else v

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, v: str) -> str:
        if not v.startswith("/") or "//" in v or "\\" in v or ".." in v:
            raise ValueError("must be a path starting with / (e.g. / or /comradarr)")
        return v if v == "/" else v.rstrip("/")

    def resolved_secret_key(self) -> str:
        """The SECRET_KEY, generated once and kept (mode 0600) in the data dir when unset."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        return ensure_secret_key_file(self.data_dir / "secret_key")


S = TypeVar("S", bound=BaseSettings)


def _env_name(cls: type[BaseSettings], loc: tuple[int | str, ...]) -> str:
    field = str(loc[0]) if loc else "?"
    info = cls.model_fields.get(field)
    if info is not None and isinstance(info.alias, str):
        return info.alias.upper()
    prefix = str(cls.model_config.get("env_prefix") or "")
    return (prefix + field).upper()


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Read settings from the environment, raising SettingsError naming every bad variable."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        problems = [(_env_name(cls, err["loc"]), err["msg"]) for err in exc.errors()]
        raise SettingsError(problems) from None


def ensure_secret_key_file(path: Path) -> str:
    """Return the key stored at path, creating a strong one (mode 0600) on first use."""
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            os.chmod(path, 0o600)
        key = path.read_text(encoding="ascii").strip()
        if len(key) >= _MIN_SECRET_LEN:
            return key
        raise SettingsError([("SECRET_KEY", f"the stored key in {path} is too short or corrupt")])
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_urlsafe(48)
    # O_EXCL: two services starting at once must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return ensure_secret_key_file(path)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return key
