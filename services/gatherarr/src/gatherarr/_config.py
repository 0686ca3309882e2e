"""Configuration read once from environment variables, with every error reported together."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

PREFIX = "GATHERARR_"
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

T = TypeVar("T")


class TargetType(StrEnum):
    """Kind of *arr application a target is."""

    RADARR = "radarr"
    SONARR = "sonarr"


class ConfigError(Exception):
    """Raised when one or more environment variables are missing or invalid."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {e}" for e in errors))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds of the exponential backoff applied to transient failures."""

    max_attempts: int = 3
    base_delay: float = 1.0
    max_delay: float = 60.0


@dataclass(frozen=True, slots=True)
class TargetConfig:
    """One Radarr or Sonarr instance to trigger searches in."""

    name: str
    type: TargetType
    url: str
    api_key: str
    max_searches_per_run: int
    research_interval_seconds: float

    def __repr__(self) -> str:
        # The API key must never end up in a log line or traceback through repr().
        return (
            f"TargetConfig(name={self.name!r}, type={self.type.value!r}, url={self.url!r}, "
            f"api_key='***', max_searches_per_run={self.max_searches_per_run}, "
            f"research_interval_seconds={self.research_interval_seconds})"
        )


@dataclass(frozen=True, slots=True)
class Config:
    """The whole validated configuration of one gatherarr process."""

    targets: tuple[TargetConfig, ...]
    interval_seconds: float
    state_file: Path
    listen_host: str
    listen_port: int
    log_level: str
    dry_run: bool
    max_searches_per_run: int
    http_timeout_seconds: float
    retry: RetryPolicy
    shutdown_timeout_seconds: float

    @property
    def secrets(self) -> tuple[str, ...]:
        """API keys that log redaction must hide."""
        return tuple(t.api_key for t in self.targets)


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError("must be one of true/false/1/0/yes/no/on/off")


def _positive_int(raw: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError("must be an integer") from None
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def _non_negative_int(raw: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError("must be an integer") from None
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


def _positive_float(raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ValueError("must be a number") from None
    if not value > 0 or value == float("inf"):
        raise ValueError("must be a finite number greater than 0")
    return value


def _non_negative_float(raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ValueError("must be a number") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError("must be a finite number of 0 or more")
    return value


def _url(raw: str) -> str:
    value = raw.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an absolute http:// or https:// URL")
    return value


def _listen(raw: str) -> tuple[str, int]:
    host, sep, port_text = raw.strip().rpartition(":")
    if not sep or not host:
        raise ValueError("must be host:port, e.g. 0.0.0.0:9797")
    host = host.strip("[]")
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError("port must be an integer") from None
    if not 0 <= port <= 65535:
        raise ValueError("port must be between 0 and 65535")
    return host, port


def _log_level(raw: str) -> str:
    value = raw.strip().upper()
    if value not in _LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(_LOG_LEVELS)}")
    return value


def _target_type(raw: str) -> TargetType:
    try:
        return TargetType(raw.strip().lower())
    except ValueError:
        raise ValueError("must be radarr or sonarr") from None


def _api_key(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


class _Reader:
    """Reads variables, collecting one message per bad variable instead of stopping."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.errors: list[str] = []

    def get(self, name: str, parse: Callable[[str], T], default: T) -> T:
        raw = self.env.get(name)
        if raw is None:
            return default
        return self._parse(name, raw, parse, default)

    def require(self, name: str, parse: Callable[[str], T], placeholder: T) -> T:
        raw = self.env.get(name)
        if raw is None or not raw.strip():
            self.errors.append(f"{name}: is required but not set")
            return placeholder
        return self._parse(name, raw, parse, placeholder)

    def _parse(self, name: str, raw: str, parse: Callable[[str], T], fallback: T) -> T:
        try:
            return parse(raw)
        except ValueError as exc:
            # Never echo the raw value: it could be a secret put in the wrong variable.
            self.errors.append(f"{name}: {exc}")
            return fallback


def load_config(env: Mapping[str, str]) -> Config:
    """Build the configuration from ``env`` or raise ConfigError listing every bad variable."""
    r = _Reader(env)
    interval = r.get(f"{PREFIX}INTERVAL_SECONDS", _positive_float, 3600.0)
    state_file = r.get(f"{PREFIX}STATE_FILE", lambda s: Path(s.strip()), Path("/data/state.json"))
    listen_host, listen_port = r.get(f"{PREFIX}LISTEN", _listen, ("0.0.0.0", 9797))  # noqa: S104
    log_level = r.get(f"{PREFIX}LOG_LEVEL", _log_level, "INFO")
    dry_run = r.get(f"{PREFIX}DRY_RUN", _parse_bool, False)
    global_limit = r.get(f"{PREFIX}MAX_SEARCHES_PER_RUN", _non_negative_int, 20)
    target_limit = r.get(f"{PREFIX}TARGET_MAX_SEARCHES_PER_RUN", _non_negative_int, 10)
    research = r.get(f"{PREFIX}RESEARCH_INTERVAL_SECONDS", _non_negative_float, 604800.0)
    timeout = r.get(f"{PREFIX}HTTP_TIMEOUT_SECONDS", _positive_float, 30.0)
    retry = RetryPolicy(
        max_attempts=r.get(f"{PREFIX}RETRY_MAX_ATTEMPTS", _positive_int, 3),
        base_delay=r.get(f"{PREFIX}RETRY_BASE_SECONDS", _non_negative_float, 1.0),
        max_delay=r.get(f"{PREFIX}RETRY_MAX_DELAY_SECONDS", _non_negative_float, 60.0),
    )
    shutdown = r.get(f"{PREFIX}SHUTDOWN_TIMEOUT_SECONDS", _positive_float, 10.0)
    if str(state_file) in ("", "."):
        r.errors.append(f"{PREFIX}STATE_FILE: must be a file path")

    targets: list[TargetConfig] = []
    names = [n.strip() for n in env.get(f"{PREFIX}TARGETS", "").split(",") if n.strip()]
    if not names:
        r.errors.append(f"{PREFIX}TARGETS: is required, e.g. movies,tv")
    seen: set[str] = set()
    for name in names:
        if not _NAME_RE.match(name):
            r.errors.append(
                f"{PREFIX}TARGETS: target name {name!r} must start with a letter and contain "
                "only letters, digits and underscores"
            )
            continue
        key = name.upper()
        if key in seen:
            r.errors.append(f"{PREFIX}TARGETS: target name {name!r} is listed twice")
            continue
        seen.add(key)
        p = f"{PREFIX}{key}_"
        targets.append(
            TargetConfig(
                name=name.lower(),
                type=r.require(f"{p}TYPE", _target_type, TargetType.RADARR),
                url=r.require(f"{p}URL", _url, ""),
                api_key=r.require(f"{p}API_KEY", _api_key, ""),
                max_searches_per_run=r.get(
                    f"{p}MAX_SEARCHES_PER_RUN", _non_negative_int, target_limit
                ),
                research_interval_seconds=r.get(
                    f"{p}RESEARCH_INTERVAL_SECONDS", _non_negative_float, research
                ),
            )
        )
    if r.errors:
        raise ConfigError(r.errors)
    return Config(
        targets=tuple(targets),
        interval_seconds=interval,
        state_file=state_file,
        listen_host=listen_host,
        listen_port=listen_port,
        log_level=log_level,
        dry_run=dry_run,
        max_searches_per_run=global_limit,
        http_timeout_seconds=timeout,
        retry=retry,
        shutdown_timeout_seconds=shutdown,
    )
