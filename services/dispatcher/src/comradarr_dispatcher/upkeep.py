"""The dispatcher's part of a maintenance run: search history, exhausted entries and the
webhook de-duplication records it writes."""

from __future__ import annotations

from datetime import datetime

from comradarr_runtime import ServiceContext, cutoff, delete_in_batches, delete_orphans
from comradarr_settings import MaintenanceSettings

from .queue import prune_exhausted, prune_history


async def prune(ctx: ServiceContext, s: MaintenanceSettings, now: datetime) -> dict[str, int]:
    """Fold and delete old history, drop long-exhausted entries; rows removed per table."""
    async with ctx.pool.acquire() as conn:
        history = await prune_history(conn, retention_days=s.search_history_days, now=now)
        exhausted = await prune_exhausted(conn, retention_days=s.exhausted_entries_days, now=now)
    # Kept so a redelivered webhook announces the same finds: as long as message markers.
    found = await delete_in_batches(
        ctx,
        table="webhook_found",
        where="received_at < $1",
        args=(cutoff(now, s.processed_messages_days),),
    )
    found += await delete_orphans(ctx, table="webhook_found")
    return {"search_history": history, "search_registry": exhausted, "webhook_found": found}
