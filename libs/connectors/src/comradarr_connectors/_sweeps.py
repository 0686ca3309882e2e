"""Whether a connector can be swept now: one rule for the sync (which skips), the scheduler
(which records a skipped run) and the gateway (which answers the person who asked)."""

from __future__ import annotations

from datetime import datetime, timedelta

from comradarr_db import Connection

# A sweep counts as running until its summary arrives, or for at most this long (a lost
# event must not block a connector's schedules forever).
SWEEP_TIMEOUT = timedelta(hours=6)


async def sweep_refusal(conn: Connection, *, connector_id: int, scheduled: bool) -> str | None:
    """Why the connector cannot be swept at all right now, in words; None when it can.

    Repeated sync failures pause scheduled sweeps only: a person asking for a sweep wants
    to see whether the connector works again.
    """
    row = await conn.fetchrow(
        "SELECT c.type, c.enabled, s.paused_until > now() AS paused"
        " FROM connectors c LEFT JOIN sync_connector_state s ON s.connector_id = c.id"
        " WHERE c.id = $1",
        connector_id,
    )
    if row is None:
        return "connector not found"
    if not row["enabled"]:
        return "connector disabled: enable it to sweep"
    if row["type"] == "prowlarr":
        return "Prowlarr has no library to sweep"
    if row["paused"] and scheduled:
        return "paused after repeated sync failures"
    return None


async def running_sweep(conn: Connection, *, connector_id: int, now: datetime) -> str | None:
    """Why a new sweep of the connector must wait (its previous one still runs), or None."""
    open_run = await conn.fetchval(
        "SELECT fired_at FROM sweep_runs WHERE connector_id = $1 AND status = 'fired'"
        " AND fired_at > $2 ORDER BY fired_at DESC LIMIT 1",
        connector_id,
        now - SWEEP_TIMEOUT,
    )
    if open_run is not None:
        return f"the previous sweep (started {open_run:%H:%M} UTC) is still running"
    # A manual sweep has no sweep_runs row until its events arrive: sync's own run log.
    started = await conn.fetchval(
        "SELECT started_at FROM sync_runs WHERE connector_id = $1 AND outcome = 'running'"
        " AND started_at > $2 ORDER BY started_at DESC LIMIT 1",
        connector_id,
        now - SWEEP_TIMEOUT,
    )
    if started is not None:
        return f"a sync of this connector (started {started:%H:%M} UTC) is still running"
    return None
