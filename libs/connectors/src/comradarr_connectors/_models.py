"""What a connector is, as the rest of Comradarr sees it (never with its key in clear)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

ConnectorType = Literal["sonarr", "radarr", "whisparr", "prowlarr"]
HealthStatus = Literal["unknown", "healthy", "degraded", "unhealthy", "offline", "auth_failed"]
# Health states in which nothing is dispatched and scheduled sweeps wait (auth_failed: the app
# refused the API key; re-entering it, or a passing health check, clears it).
BLOCKING_HEALTH: tuple[HealthStatus, ...] = ("unhealthy", "offline", "auth_failed")
# The same as an SQL list, for statements that filter connectors.
BLOCKING_HEALTH_SQL = "(" + ", ".join(f"'{h}'" for h in BLOCKING_HEALTH) + ")"


def mask(api_key: str) -> str:
    """Show only the last four characters of a key."""
    return f"****{api_key[-4:]}" if len(api_key) > 4 else "****"


class Connector(BaseModel):
    """A stored connector; the API key appears only as its last four characters."""

    model_config = ConfigDict(frozen=True)

    id: int
    type: ConnectorType
    name: str
    url: str
    api_key_last4: str
    enabled: bool
    verify_ssl: bool
    timeout_seconds: float
    app_name: str | None
    app_version: str | None
    api_version: str | None
    health_status: HealthStatus
    health_messages: list[Any]
    health_checked_at: datetime | None
    throttle_profile_id: int | None
    # Search files below their profile's custom-format cutoff score (quality cutoff met).
    format_upgrades: bool = True
    # Searches wait while the app's download queue holds at least this many (None: off).
    queue_limit: int | None = None
    # Allowed search times: [{"days": ["mon", ...], "start": "01:00", "end": "07:00"}] in
    # search_timezone; empty: any time (comradarr_throttle.parse_windows reads them).
    search_windows: list[dict[str, Any]] = []
    search_timezone: str = "UTC"
    paused_until: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def api_key_masked(self) -> str:
        """The key as every response shows it."""
        return f"****{self.api_key_last4}"
