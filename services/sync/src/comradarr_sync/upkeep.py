"""The sync service's part of a maintenance run: its run history and connector health
history (the latest row per connector always stays)."""

from __future__ import annotations

from datetime import datetime

from comradarr_runtime import ServiceContext, cutoff, delete_orphans, prune_history_table
from comradarr_settings import MaintenanceSettings


async def prune(ctx: ServiceContext, s: MaintenanceSettings, now: datetime) -> dict[str, int]:
    """Rows removed per table."""
    runs = await prune_history_table(
        ctx,
        table="sync_runs",
        at="started_at",
        before=cutoff(now, s.run_history_days),
        where="outcome <> 'running'",
    )
    return {
        "sync_runs": runs + await delete_orphans(ctx, table="sync_runs"),
        "connector_health_history": await prune_history_table(
            ctx,
            table="connector_health_history",
            at="checked_at",
            before=cutoff(now, s.connector_health_days),
        ),
    }
