"""The gateway's part of a maintenance run: API-key usage, expired sessions, stale
failed-login counters."""

from __future__ import annotations

from datetime import datetime, timedelta

from comradarr_runtime import ServiceContext, cutoff, delete_in_batches
from comradarr_settings import MaintenanceSettings

# A failed-login counter unlocked and untouched this long counts for nothing any more.
LOGIN_FAILURE_AGE = timedelta(days=1)


async def prune(ctx: ServiceContext, s: MaintenanceSettings, now: datetime) -> dict[str, int]:
    """Rows removed per table."""
    usage = await delete_in_batches(
        ctx,
        table="api_key_usage",
        where="used_at < $1",
        args=(cutoff(now, s.api_key_usage_days),),
    )
    sessions = await delete_in_batches(ctx, table="sessions", where="expires_at <= $1", args=(now,))
    failures = await delete_in_batches(
        ctx,
        table="login_failures",
        where="(locked_until IS NULL OR locked_until < $1)"
        " AND coalesce(last_failed_at, first_failed_at) < $2",
        args=(now, now - LOGIN_FAILURE_AGE),
    )
    return {"api_key_usage": usage, "sessions": sessions, "login_failures": failures}
