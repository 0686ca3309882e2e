"""Notifier settings, read from COMRADARR_NOTIFIER_* variables with documented defaults.

Two settings live with the application settings instead (the gateway's settings table,
section "notifications"), because a user changes them in the UI:
``notifications.delivery_log_retention_days`` and ``notifications.public_url``.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotifierConfig(BaseSettings):
    """How deliveries are paced, retried and kept."""

    model_config = SettingsConfigDict(env_prefix="COMRADARR_NOTIFIER_", extra="ignore")

    # The sender looks for due deliveries this often (and at once when an event arrives).
    tick_seconds: float = Field(default=5.0, gt=0)
    # One send's bound, Apprise's own timeouts included.
    send_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    # Attempts per delivery; the waits between them (the last repeats).
    max_attempts: int = Field(default=4, ge=1, le=20)
    retry_backoff_seconds: tuple[float, ...] = (30.0, 120.0, 600.0)
    # A claimed delivery is due again after this long if its sender vanished mid-send.
    lease_seconds: float = Field(default=120.0, gt=0)
    # Channels sent to side by side in one round.
    send_concurrency: int = Field(default=4, ge=1, le=64)
    # The delivery log is pruned this often (retention days come from the settings).
    prune_interval_seconds: float = Field(default=3600.0, gt=0)
