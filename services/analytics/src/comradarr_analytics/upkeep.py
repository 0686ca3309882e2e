"""Analytics' part of a maintenance run: hours past analytics.hourly_retention_days (their
days keep them) and days past analytics.daily_retention_days."""

from __future__ import annotations

from datetime import datetime

from comradarr_runtime import ServiceContext
from comradarr_settings import MaintenanceSettings
from comradarr_timeseries import read_settings, roll_up


async def prune(ctx: ServiceContext, s: MaintenanceSettings, now: datetime) -> dict[str, int]:
    """Rows removed per kind of bucket."""
    async with ctx.pool.acquire() as conn:
        store = await read_settings(conn)
        pruned = await roll_up(
            conn,
            now=now,
            tz=store.tz,
            hourly_days=store.hourly_retention_days,
            daily_days=store.daily_retention_days,
        )
    return {"analytics_hourly": pruned.hourly, "analytics_daily": pruned.daily}
