"""Request and response bodies of the REST API (the UI's contract)."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from comradarr_throttle import zone
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .text import ArrApiKey, Line, Password, Secret, Username

ConnectorType = Literal["sonarr", "radarr", "whisparr", "prowlarr"]
MAX_URL = 2048


class Strict(BaseModel):
    """Request bodies refuse unknown fields (a typo is an error, not a silent no-op) and
    NaN or Infinity (JSON parsers accept them; no field means them)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ErrorBody(BaseModel):
    """Every error: a human-readable detail."""

    detail: Any


# --- setup and auth ----------------------------------------------------------------------


class SetupStatus(BaseModel):
    """Whether the first administrator still has to be created, and the app's name."""

    setup_required: bool
    app_name: str = Field(description="The name the web UI shows (Settings > General).")


class Credentials(Strict):
    """Setup: the first administrator's name and password."""

    username: Username
    password: Password


class LoginRequest(Strict):
    """Login form."""

    username: Username
    password: Secret


class LoginResponse(BaseModel):
    """A signed-in session; csrf_token goes in X-CSRF-Token on every write."""

    username: str
    csrf_token: str


class MeResponse(BaseModel):
    """Who the caller is."""

    username: str
    csrf_token: str | None
    auth_mode: Literal["session", "api_key", "local_bypass"]


class PasswordChange(Strict):
    """Change the administrator's password."""

    current_password: Secret
    new_password: Password


class Done(BaseModel):
    """An action that returns nothing else."""

    ok: bool = True


class SessionInfo(BaseModel):
    """A signed-in session (its token is never shown)."""

    id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    client_ip: str
    user_agent: str
    current: bool = Field(description="The session making this request.")


class SessionsEnded(BaseModel):
    """How many other sessions were signed out."""

    ended: int


# --- API keys ----------------------------------------------------------------------------


RatePerMinute = Annotated[
    int,
    Field(
        ge=1,
        le=100_000,
        description="Requests per minute this key may make (over it: 429 with Retry-After).",
    ),
]


class ApiKeyCreate(Strict):
    """A new API key."""

    description: Line = Field(min_length=1, max_length=200)
    scope: Literal["read", "full"] = "read"
    rate_per_minute: RatePerMinute | None = Field(
        default=None, description="Unset: the server default (COMRADARR_API_KEY_RATE_PER_MINUTE)."
    )


class ApiKeyUpdate(Strict):
    """Changes to a key: its description, or its limit (null: back to the server default)."""

    description: Line | None = Field(default=None, min_length=1, max_length=200)
    rate_per_minute: RatePerMinute | None = None


class ApiKeyInfo(BaseModel):
    """An API key as listed (the token itself is never shown again)."""

    id: int
    description: str
    scope: Literal["read", "full"]
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    rate_per_minute: int | None = Field(description="This key's own limit; null: the default.")
    effective_rate_per_minute: int = Field(description="The limit that applies to this key.")


class ApiKeyCreated(ApiKeyInfo):
    """The one response that carries the token: store it now."""

    key: str


# --- connectors --------------------------------------------------------------------------


def check_url(value: str) -> str:
    """http(s) only, a host, no userinfo, no query or fragment, bounded length."""
    if len(value) > MAX_URL:
        raise ValueError(f"must be at most {MAX_URL} characters")
    if any(ord(c) < 33 or c in "\\\x7f" for c in value):
        raise ValueError("must not contain spaces, control characters or backslashes")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValueError("is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("must start with http:// or https://")
    if not parts.hostname:
        raise ValueError("must name a host")
    if "@" in parts.netloc:
        raise ValueError("must not contain a user name or password (put the API key in api_key)")
    if parts.query or parts.fragment or "?" in value or "#" in value:
        raise ValueError("must not contain a query string or fragment")
    if port == 0:
        raise ValueError("port must be between 1 and 65535")
    try:
        addr = ipaddress.ip_address(parts.hostname)
    except ValueError:
        addr = None
    if addr is not None and (addr.is_link_local or addr.is_unspecified or addr.is_multicast):
        raise ValueError("must not point at a link-local, unspecified or multicast address")
    return value.rstrip("/")


_CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
EVERY_DAY: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class SearchWindowIn(Strict):
    """A time range searches may go out in, on days of the week (the day it starts): an end
    not after the start runs past midnight; start = end is the whole day."""

    days: list[Day] = Field(default_factory=lambda: list(EVERY_DAY), min_length=1, max_length=7)
    start: str = Field(pattern=_CLOCK, examples=["01:00"])
    end: str = Field(pattern=_CLOCK, examples=["07:00"])


class SearchWindowOut(BaseModel):
    """A stored search window."""

    days: list[Day]
    start: str
    end: str


def _timezone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        zone(value)
    except ValueError:
        raise ValueError("unknown time zone (use an IANA name such as Europe/Berlin)") from None
    return value


class _ConnectorFields(Strict):
    @field_validator("url", check_fields=False)
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else check_url(v)

    @field_validator("search_timezone", check_fields=False)
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return _timezone(v)


class ConnectorCreate(_ConnectorFields):
    """A new connector."""

    type: ConnectorType
    name: Line = Field(min_length=1, max_length=100)
    url: str = Field(max_length=MAX_URL, examples=["http://sonarr:8989"])
    api_key: ArrApiKey
    enabled: bool = True
    verify_ssl: bool = True
    timeout_seconds: float = Field(default=30.0, ge=1, le=300, description="Seconds (1-300).")
    confirm_duplicate: bool = Field(
        default=False, description="Add it even though a connector of this type has the URL."
    )
    format_upgrades: bool = Field(
        default=True,
        description="Search files whose quality meets the cutoff but whose custom-format score"
        " is below their profile's cutoff score (Sonarr v4+, Radarr, Whisparr).",
    )
    queue_limit: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="Searches wait while the app's download queue holds at least this many"
        " items (read at most once a minute; a failed read lets them go on). Null: no limit.",
    )
    search_windows: list[SearchWindowIn] = Field(
        default_factory=list,
        max_length=14,
        description="When searches may go out (empty: any time).",
    )
    search_timezone: str | None = Field(
        default=None,
        max_length=64,
        description="IANA zone of the windows; defaults to the application's time zone.",
    )
    throttle_profile_id: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="The throttle profile its searches go out under; null: the default"
        " profile (GET /throttle-profiles/default).",
    )


class ConnectorUpdate(_ConnectorFields):
    """Changes to a connector (api_key replaces the stored key when given)."""

    type: ConnectorType | None = None
    name: Line | None = Field(default=None, min_length=1, max_length=100)
    url: str | None = Field(default=None, max_length=MAX_URL)
    api_key: ArrApiKey | None = None
    enabled: bool | None = None
    verify_ssl: bool | None = None
    timeout_seconds: float | None = Field(default=None, ge=1, le=300, description="Seconds.")
    format_upgrades: bool | None = None
    queue_limit: int | None = Field(
        default=None, ge=1, le=100_000, description="Null clears the limit."
    )
    search_windows: list[SearchWindowIn] | None = Field(default=None, max_length=14)
    search_timezone: str | None = Field(default=None, max_length=64)
    throttle_profile_id: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="Null: use the default profile."
    )


class ConnectorTest(_ConnectorFields):
    """An unsaved connector to try."""

    type: ConnectorType
    url: str = Field(max_length=MAX_URL)
    api_key: ArrApiKey
    verify_ssl: bool = True
    timeout: float = Field(default=10.0, ge=1, le=60, description="Seconds (1-60).")


class ConnectorOut(BaseModel):
    """A connector as every response shows it: the key only as its last four characters."""

    id: int
    type: ConnectorType
    name: str
    url: str
    api_key_masked: str
    enabled: bool
    verify_ssl: bool
    timeout_seconds: float
    app_name: str | None
    app_version: str | None
    api_version: str | None
    health_status: str
    health_messages: list[Any]
    health_checked_at: datetime | None
    format_upgrades: bool = Field(
        description="Files below their profile's custom-format cutoff score are searched."
    )
    queue_limit: int | None = Field(
        description="Searches wait while the app's download queue holds at least this many."
    )
    search_windows: list[SearchWindowOut] = Field(description="Empty: searches go any time.")
    search_timezone: str
    throttle_profile_id: int | None = Field(
        description="Its own throttle profile; null: the default profile."
    )
    created_at: datetime
    updated_at: datetime


class TestResult(BaseModel):
    """A connection test: what answered, or the precise categorized failure."""

    ok: bool
    url: str
    elapsed_ms: float
    app: str | None = None
    app_name: str | None = None
    version: str | None = None
    api_version: str | None = None
    instance_name: str | None = None
    error: str | None = Field(
        default=None,
        description="Category: timeout, connection_refused, dns, tls, authentication, "
        "not_found, rate_limited, server, application, protocol, unsupported, network.",
    )
    message: str | None = None
    status_code: int | None = None


class HealthPoint(BaseModel):
    """One recorded health reading."""

    status: str
    messages: list[Any]
    checked_at: datetime


class ConnectorHealth(BaseModel):
    """Current health and recent history."""

    connector_id: int
    status: str
    messages: list[Any]
    checked_at: datetime | None
    history: list[HealthPoint]


class SyncRun(BaseModel):
    """One sync run (written by the sync service)."""

    id: int
    mode: str
    sweep_type: str
    started_at: datetime
    ended_at: datetime | None
    outcome: str
    fetched: int
    inserted: int
    updated: int
    deleted: int
    error: str | None


class SyncRuns(BaseModel):
    """A page of sync runs; available is false until the sync service created its table."""

    available: bool
    items: list[SyncRun]


class ConnectorStats(BaseModel):
    """Counts about one connector."""

    connector_id: int
    health_checks: int
    sync_runs: int
    last_sync_at: datetime | None
    items: dict[str, int] = Field(description="Rows per mirror table, where those tables exist.")


# --- system ------------------------------------------------------------------------------


class RotateSecretKey(Strict):
    """Re-encrypt every stored secret under a freshly generated SECRET_KEY."""

    current_password: Secret


class RotateResult(BaseModel):
    """What rotation did."""

    rotated: int
    key_file: str
    restart_required: bool
    message: str


class HealthReport(BaseModel):
    """Public health: no secrets, nothing a stranger could use."""

    status: Literal["healthy", "degraded"]
    database: Literal["ok", "fail"]
    nats: Literal["ok", "fail"]
    memory_rss_bytes: int | None
    connectors: dict[str, int] = Field(description="Connector count per health status.")
    queue_paused: bool | None
    checks: dict[str, str]
