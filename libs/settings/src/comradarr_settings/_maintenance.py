"""Upkeep settings: when maintenance runs and how long each growing table keeps its rows.

Stored by the gateway in the settings table under ``maintenance.<field>``; every service
reads them when a maintenance run reaches it, so a saved change applies to the next run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAINTENANCE_PREFIX = "maintenance."
# JetStream keeps commands 7 days and may redeliver them until then: a processed-message
# marker must outlive that, or a late redelivery would do its work twice.
MIN_PROCESSED_MESSAGE_DAYS = 8


class MaintenanceSettings(BaseModel):
    """When upkeep runs and what it keeps (days of age)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    enabled: bool = True
    # Five-field cron in the general time zone: Sundays at 04:00.
    cron: str = Field(default="0 4 * * 0", max_length=64)
    # Searches older than this are folded into daily counts (what analytics shows) and go.
    search_history_days: int = Field(default=90, ge=7, le=3650)
    # Exhausted queue entries untouched this long are removed (their history folded first);
    # an item still missing is queued afresh by the next discovery. 0 keeps them.
    exhausted_entries_days: int = Field(default=180, ge=0, le=3650)
    api_key_usage_days: int = Field(default=90, ge=1, le=3650)
    connector_health_days: int = Field(default=30, ge=1, le=3650)
    # Sync, discovery and sweep runs (the run history pages).
    run_history_days: int = Field(default=90, ge=1, le=3650)
    processed_messages_days: int = Field(default=14, ge=MIN_PROCESSED_MESSAGE_DAYS, le=365)
    dead_letters_days: int = Field(default=30, ge=1, le=3650)


def maintenance_from_rows(stored: Mapping[str, Any]) -> MaintenanceSettings:
    """The settings from stored ``maintenance.*`` keys over the defaults (bad values ignored)."""
    values = MaintenanceSettings().model_dump()
    for key, value in stored.items():
        name = key.removeprefix(MAINTENANCE_PREFIX)
        if key.startswith(MAINTENANCE_PREFIX) and name in values:
            candidate = {**values, name: value}
            try:
                MaintenanceSettings.model_validate(candidate)
            except ValueError:
                continue  # one bad stored value must not stop upkeep; the default applies
            values = candidate
    return MaintenanceSettings.model_validate(values)
