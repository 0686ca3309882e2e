"""Analytics settings, read from COMRADARR_ANALYTICS_* variables with documented defaults.

How long hourly and daily buckets are kept is a user setting (Settings → analytics, stored
by the gateway); these are the intervals of the service's own loops.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AnalyticsConfig(BaseSettings):
    """How often the analytics service samples and rolls up."""

    model_config = SettingsConfigDict(env_prefix="COMRADARR_ANALYTICS_", extra="ignore")

    # Queue depth per connector and state: at least every 5 minutes.
    queue_sample_seconds: float = Field(default=300.0, gt=0, le=300)
    # Library completion (items with a file / monitored items) per connector.
    completion_sample_seconds: float = Field(default=3600.0, gt=0, le=86400)
    # Dropping hourly buckets past their age (and days past theirs).
    rollup_interval_seconds: float = Field(default=3600.0, gt=0)
    # How long the time zone and retention settings are cached.
    settings_ttl_seconds: float = Field(default=60.0, ge=0)
