"""Sync settings, read from COMRADARR_SYNC_* variables with documented defaults."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SyncConfig(BaseSettings):
    """How the sync service paces and protects itself."""

    model_config = SettingsConfigDict(env_prefix="COMRADARR_SYNC_", extra="ignore")

    # Syncs of different connectors running at once in one process.
    max_concurrent_connectors: int = Field(default=4, ge=1)
    # Series whose episodes are fetched at once within one sync.
    episode_fetch_concurrency: int = Field(default=4, ge=1)
    # Rows per staging + merge statement.
    batch_rows: int = Field(default=5000, ge=100)
    # Connections one sync writes its batches through at once (each merges its own).
    write_connections: int = Field(default=2, ge=1)
    # Failed attempts in a row before the connector is marked unhealthy and paused.
    failure_threshold: int = Field(default=3, ge=1)
    pause_minutes: float = Field(default=60.0, ge=0)
    # Deliveries of one sweep command (the bus retries with backoff in between).
    max_attempts: int = Field(default=3, ge=1)
    retry_backoff_seconds: tuple[float, ...] = (5.0, 30.0, 120.0)
    # At most one SyncProgressed per this many seconds.
    progress_interval_seconds: float = Field(default=1.0, ge=0)
