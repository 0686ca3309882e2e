"""Connector configuration, retry policy and API version detection."""

from __future__ import annotations

import dataclasses
import enum
import random
import re

from comradarr_arr._errors import ArrUnsupportedError


class AppKind(enum.StrEnum):
    """The *arr applications Comradarr talks to."""

    SONARR = "sonarr"
    RADARR = "radarr"
    WHISPARR = "whisparr"
    PROWLARR = "prowlarr"


class Shape(enum.StrEnum):
    """Which resource family an app serves."""

    SERIES = "series"  # series + episodes (Sonarr, Whisparr v2)
    MOVIE = "movie"  # movies (Radarr, Whisparr v3 Eros)
    INDEXER = "indexer"  # indexers (Prowlarr)


@dataclasses.dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Exponential backoff with jitter for network errors, 5xx and 429."""

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 30.0
    # Upper bound on a server-requested Retry-After, so a bad header cannot park us for days.
    max_retry_after: float = 600.0

    def backoff(self, *, attempt: int, rng: random.Random) -> float:
        """Delay before retry number ``attempt`` (0-based): equal jitter over the exponential."""
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return float(ceiling / 2 + rng.uniform(0, ceiling / 2))


# The *arr apps' keys are 32 hex characters; anything printable ASCII without spaces is
# accepted (proxies in front of them may use other tokens), nothing that an HTTP header
# cannot carry.
API_KEY_PATTERN = r"^[\x21-\x7e]+$"
_API_KEY = re.compile(API_KEY_PATTERN)


def api_key_problem(api_key: str) -> str | None:
    """Why this API key cannot be sent in a header, or None when it can."""
    if not api_key:
        return "the API key is empty"
    if _API_KEY.match(api_key) is None:
        return (
            "the API key contains characters an HTTP header cannot carry "
            "(only printable ASCII, no spaces); re-enter it"
        )
    return None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConnectorConfig:
    """How to reach one *arr instance."""

    name: str
    url: str
    api_key: str = dataclasses.field(repr=False)
    # A stored connector's id: its requests are counted for analytics (comradarr_arr._stats).
    connector_id: int | None = None
    app: AppKind | None = None
    verify_tls: bool = True
    timeout: float = 30.0
    max_concurrency: int = 4
    page_size: int = 1000
    retry: RetryPolicy = dataclasses.field(default_factory=RetryPolicy)
    # Bounds on one answer, whatever the app (or something posing as it) sends: `timeout`
    # limits each wait for bytes, these the whole. A read one (pages, commands, status)
    # is held in memory; a streamed list (every series, every movie) is parsed as it comes.
    max_body_bytes: int = 64 * 2**20
    max_request_seconds: float = 300.0
    max_stream_bytes: int = 2**30
    max_stream_seconds: float = 3600.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class ApiInfo:
    """What version detection found: the app, its version and how to talk to it."""

    app: AppKind
    app_name: str
    version: str
    major: int
    api_base: str
    shape: Shape
    instance_name: str | None = None

    @property
    def api_version(self) -> str:
        """The API version segment, e.g. ``v3``."""
        return self.api_base.rsplit("/", 1)[-1]

    @property
    def uses_subresources(self) -> bool:
        """Sonarr v5 replaced the ``include*`` flags with ``includeSubresources``."""
        return self.api_base == "/api/v5"


# (app, major version) -> (api base, shape). Whisparr's two product lines share the
# app name and API v3 but not the resource shape: v2 is Sonarr-based, v3 "Eros" Radarr-based.
_SUPPORTED: dict[tuple[AppKind, int], tuple[str, Shape]] = {
    (AppKind.SONARR, 3): ("/api/v3", Shape.SERIES),
    (AppKind.SONARR, 4): ("/api/v3", Shape.SERIES),
    (AppKind.SONARR, 5): ("/api/v5", Shape.SERIES),
    (AppKind.RADARR, 3): ("/api/v3", Shape.MOVIE),
    (AppKind.RADARR, 4): ("/api/v3", Shape.MOVIE),
    (AppKind.RADARR, 5): ("/api/v3", Shape.MOVIE),
    (AppKind.WHISPARR, 2): ("/api/v3", Shape.SERIES),
    (AppKind.WHISPARR, 3): ("/api/v3", Shape.MOVIE),
    (AppKind.PROWLARR, 1): ("/api/v1", Shape.INDEXER),
    (AppKind.PROWLARR, 2): ("/api/v1", Shape.INDEXER),
}

_MAJOR = re.compile(r"^\s*(\d+)")


def resolve_api(
    *, app_name: str | None, version: str | None, instance_name: str | None = None
) -> ApiInfo:
    """Map ``appName`` and ``version`` from system/status to an API base and shape."""
    found = f"{app_name or '<no appName>'} {version or '<no version>'}"
    try:
        app = AppKind((app_name or "").strip().lower())
    except ValueError:
        raise ArrUnsupportedError(
            f"unsupported application: found {found}; expected Sonarr, Radarr, Whisparr or Prowlarr"
        ) from None
    match = _MAJOR.match(version or "")
    if match is None:
        raise ArrUnsupportedError(f"unreadable version: found {found}")
    major = int(match.group(1))
    entry = _SUPPORTED.get((app, major))
    if entry is None:
        known = sorted(m for (a, m) in _SUPPORTED if a is app)
        raise ArrUnsupportedError(
            f"unsupported version: found {found}; supported {app.value} major versions: "
            + ", ".join(str(m) for m in known)
        )
    api_base, shape = entry
    return ApiInfo(
        app=app,
        app_name=app_name or app.value,
        version=version or "",
        major=major,
        api_base=api_base,
        shape=shape,
        instance_name=instance_name,
    )
