"""The notifier's part of a maintenance run: its delivery log, by its own retention setting
(notifications.delivery_log_retention_days)."""

from __future__ import annotations

from datetime import datetime

from comradarr_runtime import ServiceContext
from comradarr_settings import MaintenanceSettings

from .deliveries import prune_deliveries


async def prune(ctx: ServiceContext, s: MaintenanceSettings, now: datetime) -> dict[str, int]:
    """Rows removed per table."""
    async with ctx.pool.acquire() as conn:
        removed = await prune_deliveries(conn, now=now)
    return {"notification_deliveries": removed}
