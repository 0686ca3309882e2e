"""Application settings the user edits: the schema, defaults and the key/value mapping."""

from __future__ import annotations

from functools import cache
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from comradarr_mirror import SearchSettings
from comradarr_schedules import is_valid as is_valid_cron
from comradarr_settings import MIN_PROCESSED_MESSAGE_DAYS, MaintenanceSettings
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .text import Line

AuthMode = Literal["required", "local_bypass"]
LogLevel = Literal["trace", "debug", "info", "warning", "error"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


@cache
def _zones() -> frozenset[str]:
    # available_timezones() walks the whole tz directory on every call (tens of ms); the
    # installed zones do not change while the process runs.
    return frozenset(available_timezones())


def _check_tz(v: str) -> str:
    if v not in _zones() and v != "UTC":
        raise ValueError("unknown time zone (use an IANA name like Europe/Berlin)")
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("unknown time zone (use an IANA name like Europe/Berlin)") from exc
    return v


class GeneralSettings(_Strict):
    """Name, time zone and log level."""

    app_name: str = Field(default="Comradarr", min_length=1, max_length=64)
    timezone: str = Field(default="UTC", max_length=64)
    log_level: LogLevel = "info"

    _tz = field_validator("timezone")(_check_tz)


class SecuritySettings(_Strict):
    """Authentication mode and session lifetimes."""

    auth_mode: AuthMode = "required"
    session_idle_minutes: int = Field(default=60 * 24, ge=5, le=60 * 24 * 30)
    session_absolute_hours: int = Field(default=24 * 7, ge=1, le=24 * 90)


class AnalyticsSettings(_Strict):
    """How long analytics keep hourly detail and daily totals (the analytics service rolls
    hours into days after hourly_retention_days; days are kept at least as long)."""

    hourly_retention_days: int = Field(default=30, ge=7, le=365)
    daily_retention_days: int = Field(default=730, ge=30, le=3650)


def _check_public_url(v: str) -> str:
    v = v.strip()
    if v and (urlsplit(v).scheme not in ("http", "https") or not urlsplit(v).netloc):
        raise ValueError("must be empty or an http(s) URL such as https://comradarr.example.com")
    return v.rstrip("/")


class NotificationSettings(_Strict):
    """Notification-wide settings (channels have their own)."""

    # Read by the notifier: its delivery log keeps finished deliveries this long.
    delivery_log_retention_days: int = Field(default=30, ge=1, le=3650)
    # Where notifications link to (the UI's address as people reach it); empty = no links.
    public_url: str = Field(default="", max_length=512)

    _url = field_validator("public_url")(_check_public_url)


class AppSettings(_Strict):
    """Every setting, by section."""

    general: GeneralSettings = Field(default_factory=GeneralSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    analytics: AnalyticsSettings = Field(default_factory=AnalyticsSettings)
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    # Upkeep: its schedule and how long each growing table keeps its rows.
    maintenance: MaintenanceSettings = Field(default_factory=MaintenanceSettings)


class GeneralPatch(_Strict):
    """Changes to general settings (absent fields stay as they are)."""

    app_name: Line | None = Field(default=None, min_length=1, max_length=64)
    timezone: str | None = Field(default=None, max_length=64)
    log_level: LogLevel | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return None if v is None else _check_tz(v)


class PriorityWeightsPatch(_Strict):
    """Changes to the priority weights (bounds as comradarr_mirror.PriorityWeights)."""

    age: float | None = Field(default=None, ge=0, le=1000)
    missing: float | None = Field(default=None, ge=0, le=1000)
    user: float | None = Field(default=None, ge=0, le=1000)
    failures: float | None = Field(default=None, ge=0, le=1000)
    type: float | None = Field(default=None, ge=0, le=1000)
    format: float | None = Field(default=None, ge=-1000, le=1000)


class SearchPatch(_Strict):
    """Changes to Settings → Search (bounds as comradarr_mirror.SearchSettings). Rate,
    batch size, cooldown, backoff, attempts and budget are the throttle profile's."""

    priority_weights: PriorityWeightsPatch | None = None
    season_pack_threshold: float | None = Field(default=None, ge=0, le=1)
    air_delay_hours: float | None = Field(default=None, ge=0, le=24 * 90)
    search_gaps: bool | None = None
    search_upgrades: bool | None = None


class SecurityPatch(_Strict):
    """Changes to security settings (need the current password)."""

    auth_mode: AuthMode | None = None
    session_idle_minutes: int | None = Field(default=None, ge=5, le=60 * 24 * 30)
    session_absolute_hours: int | None = Field(default=None, ge=1, le=24 * 90)


class AnalyticsPatch(_Strict):
    """Changes to analytics retention."""

    hourly_retention_days: int | None = Field(default=None, ge=7, le=365)
    daily_retention_days: int | None = Field(default=None, ge=30, le=3650)


class NotificationsPatch(_Strict):
    """Changes to notification-wide settings."""

    delivery_log_retention_days: int | None = Field(default=None, ge=1, le=3650)
    public_url: str | None = Field(default=None, max_length=512)

    @field_validator("public_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else _check_public_url(v)


def _check_cron(v: str | None) -> str | None:
    if v is not None and not is_valid_cron(v.strip()):
        raise ValueError("must be a five-field cron expression, e.g. '0 4 * * 0' (Sundays 04:00)")
    return None if v is None else " ".join(v.split())


class MaintenancePatch(_Strict):
    """Changes to upkeep (bounds as in MaintenanceSettings)."""

    enabled: bool | None = None
    cron: str | None = Field(default=None, max_length=64)
    search_history_days: int | None = Field(default=None, ge=7, le=3650)
    exhausted_entries_days: int | None = Field(default=None, ge=0, le=3650)
    api_key_usage_days: int | None = Field(default=None, ge=1, le=3650)
    connector_health_days: int | None = Field(default=None, ge=1, le=3650)
    run_history_days: int | None = Field(default=None, ge=1, le=3650)
    processed_messages_days: int | None = Field(default=None, ge=MIN_PROCESSED_MESSAGE_DAYS, le=365)
    dead_letters_days: int | None = Field(default=None, ge=1, le=3650)

    _cron = field_validator("cron")(_check_cron)


class SettingsPatch(_Strict):
    """PATCH /settings body: any subset of sections and fields."""

    general: GeneralPatch | None = None
    search: SearchPatch | None = None
    security: SecurityPatch | None = None
    analytics: AnalyticsPatch | None = None
    notifications: NotificationsPatch | None = None
    maintenance: MaintenancePatch | None = None
    current_password: str | None = Field(
        default=None,
        max_length=1024,
        description="Required when any security setting changes.",
    )


def flatten(patch: BaseModel, prefix: str = "") -> dict[str, Any]:
    """Dotted keys of the fields a patch sets, e.g. {'search.priority_weights.gap': 2.0}."""
    out: dict[str, Any] = {}
    for name in patch.model_fields_set:
        value = getattr(patch, name)
        if value is None:
            continue
        key = f"{prefix}{name}"
        if isinstance(value, BaseModel):
            out.update(flatten(value, key + "."))
        else:
            out[key] = value
    return out


def build(stored: dict[str, Any]) -> AppSettings:
    """Defaults overlaid with stored dotted keys (unknown stored keys are ignored)."""
    tree: dict[str, Any] = AppSettings().model_dump()
    for key, value in stored.items():
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            nxt = node.get(part)
            if not isinstance(nxt, dict):
                break
            node = nxt
        else:
            if parts[-1] in node:
                node[parts[-1]] = value
    return AppSettings.model_validate(tree)
