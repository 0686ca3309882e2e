"""Discovery's part of a maintenance run: its run history and orphaned registry entries."""

from __future__ import annotations

from datetime import datetime

from comradarr_mirror import cleanup_orphans
from comradarr_runtime import ServiceContext, cutoff, delete_orphans, prune_history_table
from comradarr_settings import MaintenanceSettings


async def prune(ctx: ServiceContext, s: MaintenanceSettings, now: datetime) -> dict[str, int]:
    """Rows removed per table."""
    runs = await prune_history_table(
        ctx, table="discovery_runs", at="created_at", before=cutoff(now, s.run_history_days)
    )
    runs += await delete_orphans(ctx, table="discovery_runs")
    async with ctx.pool.acquire() as conn:
        orphans = await cleanup_orphans(conn)
    return {"discovery_runs": runs, "search_registry": orphans}
