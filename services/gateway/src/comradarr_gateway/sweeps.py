"""Sweeps asked for by people (sync now, a schedule's run-now, a new connector's first
sweep) and the schedules a new connector gets.

A request the sync would only skip is refused here with the sync's own reason
(``comradarr_connectors.sweep_refusal``, ``running_sweep``), so the person who pressed the
button reads why at once instead of finding a skipped run later.
"""

from __future__ import annotations

from datetime import datetime

from comradarr_connectors import running_sweep, sweep_refusal
from comradarr_db import Connection
from comradarr_logging import get_correlation_id, get_logger
from comradarr_proto import RequestSweep
from comradarr_schedules import Schedule, create_schedule, describe
from fastapi import HTTPException
from pydantic import BaseModel

from .state import Gateway

log = get_logger(__name__)

# The first minute an hourly sweep may take; each further connector moves 17 minutes on, so
# connectors added one after another do not all sweep at the same minute. Minute 0 is
# avoided: it is when the *arr apps themselves and most people's own cron jobs run.
FIRST_MINUTE = 7
MINUTE_STEP = 17
# Weekly full reconciliation: Sunday at 04:xx local time, when nobody watches and the *arr
# apps' own nightly jobs (backups at 02:xx-03:xx by default) are done.
FULL_SWEEP_HOUR = 4
FULL_SWEEP_WEEKDAY = 0


class SweepStarted(BaseModel):
    """A sweep was handed to the sync service."""

    connector_id: int
    schedule_id: int | None
    sync_mode: str
    sweep_type: str
    message_id: str
    correlation_id: str


class PlannedSchedule(BaseModel):
    """A schedule a new connector gets, in words."""

    name: str
    cron: str
    timezone: str
    sync_mode: str
    sweep_type: str
    description: str


class SweepRefused(Exception):
    """The sweep would be skipped; reason says why in words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def why_not(conn: Connection, *, connector_id: int, now: datetime) -> str | None:
    """Why a sweep asked for now would be skipped by the sync (None: it will run)."""
    reason = await sweep_refusal(conn, connector_id=connector_id, scheduled=False)
    if reason is None:
        reason = await running_sweep(conn, connector_id=connector_id, now=now)
    return reason


async def request_sweep(
    gw: Gateway,
    *,
    connector_id: int,
    sync_mode: str,
    sweep_type: str = "both",
    schedule_id: int | None = None,
    requested_by: str,
) -> SweepStarted:
    """Publish a sweep, or raise SweepRefused (with the reason) / HTTPException 503."""
    async with gw.ctx.pool.acquire() as conn:
        reason = await why_not(conn, connector_id=connector_id, now=gw.now())
    if reason is not None:
        raise SweepRefused(reason)
    # The request's own correlation id (X-Correlation-Id): the click's id follows the sweep
    # through sync, discovery and the dispatcher to the *arr command.
    cid = get_correlation_id()
    msg = RequestSweep(
        connector_id=connector_id,
        sweep_type=sweep_type,
        sync_mode=sync_mode,
        schedule_id=schedule_id,
        requested_by=requested_by[:100],
    )
    if cid is not None:
        msg = msg.model_copy(update={"correlation_id": cid})
    try:
        await gw.ctx.bus.publish(msg)
    except Exception:
        log.warning("could not publish a sweep request", connector_id=connector_id)
        raise HTTPException(503, "the message bus is unavailable; try again") from None
    log.info("sweep requested", connector_id=connector_id, mode=sync_mode, schedule_id=schedule_id)
    return SweepStarted(
        connector_id=connector_id,
        schedule_id=schedule_id,
        sync_mode=sync_mode,
        sweep_type=sweep_type,
        message_id=msg.message_id,
        correlation_id=msg.correlation_id,
    )


def refused(exc: SweepRefused) -> HTTPException:
    """The 409 a refused sweep answers with."""
    return HTTPException(409, f"sweep not started: {exc.reason}")


async def plan_default_schedules(
    conn: Connection, *, connector_type: str, timezone: str, ordinal: int | None = None
) -> list[PlannedSchedule]:
    """The schedules a new connector of this type gets (none for Prowlarr).

    ordinal is how many library connectors exist before it (counted when None): it picks
    the minute, so connectors do not all sweep at once.
    """
    if connector_type == "prowlarr":
        return []
    if ordinal is None:
        ordinal = int(
            await conn.fetchval("SELECT count(*) FROM connectors WHERE type <> 'prowlarr'")
        )
    minute = (FIRST_MINUTE + MINUTE_STEP * ordinal) % 60 or FIRST_MINUTE
    full_minute = (minute + 30) % 60
    plans = [
        ("Hourly incremental sweep", f"{minute} * * * *", "incremental"),
        (
            "Weekly full sweep",
            f"{full_minute} {FULL_SWEEP_HOUR} * * {FULL_SWEEP_WEEKDAY}",
            "full",
        ),
    ]
    return [
        PlannedSchedule(
            name=name,
            cron=cron,
            timezone=timezone,
            sync_mode=mode,
            sweep_type="both",
            description=describe(cron),
        )
        for name, cron, mode in plans
    ]


async def create_default_schedules(
    conn: Connection, *, connector_id: int, plans: list[PlannedSchedule]
) -> list[Schedule]:
    """Store the planned schedules for a connector just created."""
    return [
        await create_schedule(
            conn,
            connector_id=connector_id,
            cron=p.cron,
            name=p.name,
            sweep_type=p.sweep_type,
            sync_mode=p.sync_mode,
            timezone=p.timezone,
        )
        for p in plans
    ]
