"""Schedules for the gateway: create, read, update, delete, and the scheduler's run log.

The table lives in the scheduler's migrations; the gateway writes definitions, the
scheduler writes run times (next_run_at is reset here whenever the timing changes, so the
scheduler recomputes it on its next tick).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from comradarr_db import Connection

from ._cron import default_timezone, describe, is_valid, is_valid_timezone, next_runs

SWEEP_TYPES = ("gaps", "upgrades", "both")
SYNC_MODES = ("incremental", "full")
_COLUMNS = """
    id, name, connector_id, sweep_type, sync_mode, cron, timezone, enabled, next_run_at,
    last_fired_at, created_at
"""
_UPDATABLE = {
    "name",
    "connector_id",
    "sweep_type",
    "sync_mode",
    "cron",
    "timezone",
    "enabled",
}


class ScheduleNotFoundError(LookupError):
    """No schedule has that id."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Schedule:
    """A sweep schedule as stored."""

    id: int
    name: str
    connector_id: int
    sweep_type: str
    sync_mode: str
    cron: str
    timezone: str
    enabled: bool
    next_run_at: datetime | None
    last_fired_at: datetime | None
    created_at: datetime

    @property
    def description(self) -> str:
        """The cron expression in words."""
        return describe(self.cron)

    def upcoming(self, *, count: int = 5, after: datetime | None = None) -> list[datetime]:
        """The next `count` runs in UTC."""
        return next_runs(self.cron, tz=self.timezone, after=after or datetime.now(UTC), count=count)


def _check(values: dict[str, Any]) -> None:
    if "cron" in values and not is_valid(values["cron"]):
        raise ValueError(f"not a five-field cron expression: {values['cron']!r}")
    if "timezone" in values and not is_valid_timezone(values["timezone"]):
        raise ValueError(f"unknown time zone {values['timezone']!r}")
    if "sweep_type" in values and values["sweep_type"] not in SWEEP_TYPES:
        raise ValueError(f"sweep_type must be one of {SWEEP_TYPES}")
    if "sync_mode" in values and values["sync_mode"] not in SYNC_MODES:
        raise ValueError(f"sync_mode must be one of {SYNC_MODES}")


def _row(record: Any) -> Schedule:
    return Schedule(**dict(record))


async def create_schedule(
    conn: Connection,
    *,
    connector_id: int,
    cron: str,
    name: str = "",
    sweep_type: str = "both",
    sync_mode: str = "incremental",
    timezone: str | None = None,
    enabled: bool = True,
) -> Schedule:
    """Insert a schedule (timezone defaults to the process TZ); validated first."""
    tz = timezone or default_timezone()
    _check({"cron": cron, "timezone": tz, "sweep_type": sweep_type, "sync_mode": sync_mode})
    row = await conn.fetchrow(
        "INSERT INTO schedules (name, connector_id, sweep_type, sync_mode, cron, timezone,"  # noqa: S608
        " enabled) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        f" RETURNING {_COLUMNS}",
        name,
        connector_id,
        sweep_type,
        sync_mode,
        cron,
        tz,
        enabled,
    )
    return _row(row)


async def get_schedule(conn: Connection, *, schedule_id: int) -> Schedule:
    """One schedule by id."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM schedules WHERE id = $1",  # noqa: S608 - constant columns
        schedule_id,
    )
    if row is None:
        raise ScheduleNotFoundError(f"schedule {schedule_id} does not exist")
    return _row(row)


async def list_schedules(conn: Connection, *, connector_id: int | None = None) -> list[Schedule]:
    """Every schedule (optionally of one connector), by id."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM schedules"  # noqa: S608
        " WHERE ($1::int IS NULL OR connector_id = $1) ORDER BY id",
        connector_id,
    )
    return [_row(r) for r in rows]


async def update_schedule(
    conn: Connection, *, schedule_id: int, changes: dict[str, Any]
) -> Schedule:
    """Change the given fields; a new cron/timezone/enabled makes the scheduler recompute."""
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise ValueError(f"cannot update: {', '.join(sorted(unknown))}")
    _check(changes)
    sets: list[str] = []
    values: list[Any] = [schedule_id]
    for column, value in sorted(changes.items()):
        values.append(value)
        sets.append(f"{column} = ${len(values)}")
    if {"cron", "timezone", "enabled"} & set(changes):
        # NULL means "compute from now": the scheduler sets it without firing.
        sets.append("next_run_at = NULL")
    if not sets:
        return await get_schedule(conn, schedule_id=schedule_id)
    row = await conn.fetchrow(
        f"UPDATE schedules SET {', '.join(sets)} WHERE id = $1 RETURNING {_COLUMNS}",  # noqa: S608
        *values,
    )
    if row is None:
        raise ScheduleNotFoundError(f"schedule {schedule_id} does not exist")
    return _row(row)


async def delete_schedule(conn: Connection, *, schedule_id: int) -> None:
    """Remove a schedule (its run log goes with it)."""
    status = await conn.execute("DELETE FROM schedules WHERE id = $1", schedule_id)
    if status == "DELETE 0":
        raise ScheduleNotFoundError(f"schedule {schedule_id} does not exist")


async def list_runs(
    conn: Connection,
    *,
    schedule_id: int | None = None,
    connector_id: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Recent sweep runs (fired or skipped, with the summary once complete), newest first."""
    rows = await conn.fetch(
        "SELECT id, schedule_id, connector_id, fire_time, status, reason, correlation_id,"
        " fired_at, completed_at, sync_outcome, items_synced, gaps_found, upgrades_found,"
        " items_queued FROM sweep_runs"
        " WHERE ($1::bigint IS NULL OR schedule_id = $1) AND ($2::int IS NULL OR connector_id = $2)"
        " ORDER BY fired_at DESC, id DESC LIMIT $3",
        schedule_id,
        connector_id,
        limit,
    )
    return [dict(r) for r in rows]
