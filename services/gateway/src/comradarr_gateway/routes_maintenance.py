"""The Maintenance page's API: database size by table, maintenance runs (last, next, what
they removed), retention settings (edited through PATCH /settings) and "run now".

The runs are the scheduler's (it writes maintenance_runs); "run now" is a command to it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from comradarr_logging import get_logger
from comradarr_proto import RequestMaintenance
from comradarr_schedules import next_fire
from comradarr_settings import MaintenanceSettings
from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel

from .models import ErrorBody
from .security import Principal, ProtectedRoute, current_principal
from .state import gateway_of

log = get_logger(__name__)

_TABLES = """
SELECT c.relname AS name, pg_total_relation_size(c.oid) AS bytes,
       greatest(c.reltuples, 0)::bigint AS rows
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()
ORDER BY bytes DESC, name
"""


class TableSize(BaseModel):
    """One table: its size on disk (with indexes and TOAST) and its estimated row count."""

    name: str
    bytes: int
    rows: int


class MaintenanceStep(BaseModel):
    """What one service removed."""

    service: str
    removed: dict[str, int]
    seconds: float
    error: str | None = None


class MaintenanceRun(BaseModel):
    """One maintenance run."""

    id: int
    trigger: Literal["schedule", "manual"]
    requested_by: str
    status: Literal["running", "vacuuming", "completed", "partial"]
    started_at: datetime
    finished_at: datetime | None
    seconds: float | None
    removed: int
    steps: list[MaintenanceStep]
    vacuumed: list[str]
    vacuum_seconds: float | None
    error: str | None


class Retention(BaseModel):
    """Every retention the maintenance run applies, with the section that holds it."""

    maintenance: MaintenanceSettings
    delivery_log_retention_days: int
    hourly_retention_days: int
    daily_retention_days: int


class MaintenanceOverview(BaseModel):
    """Everything the Maintenance page shows."""

    database_bytes: int
    tables: list[TableSize]
    running: bool
    last_run: MaintenanceRun | None
    next_run_at: datetime | None
    timezone: str
    runs: list[MaintenanceRun]
    retention: Retention


class MaintenanceAccepted(BaseModel):
    """Run now: the scheduler starts the run."""

    accepted: bool
    message: str


def _run(row: Any) -> MaintenanceRun:
    steps = [MaintenanceStep(service=name, **value) for name, value in sorted(row["steps"].items())]
    finished = row["finished_at"]
    return MaintenanceRun(
        id=row["id"],
        trigger=row["trigger"],
        requested_by=row["requested_by"],
        status=row["status"],
        started_at=row["started_at"],
        finished_at=finished,
        seconds=(finished - row["started_at"]).total_seconds() if finished else None,
        removed=row["removed"],
        steps=steps,
        vacuumed=list(row["vacuumed"]),
        vacuum_seconds=row["vacuum_seconds"],
        error=row["error"],
    )


async def _exists(conn: Any, table: str) -> bool:
    return await conn.fetchval("SELECT to_regclass($1)", table) is not None


def maintenance_router() -> APIRouter:
    """Routes under /maintenance."""
    router = APIRouter(prefix="/maintenance", tags=["maintenance"], route_class=ProtectedRoute)

    @router.get("", response_model=MaintenanceOverview)
    async def overview(request: Request) -> MaintenanceOverview:
        """Database size by table, the runs and the next one, the retention settings."""
        gw = gateway_of(request)
        settings = await gw.app_settings()
        tz = settings.general.timezone
        m = settings.maintenance
        runs: list[MaintenanceRun] = []
        stored = None
        async with gw.ctx.pool.acquire() as conn:
            size = await conn.fetchval("SELECT pg_database_size(current_database())")
            tables = [TableSize(**dict(r)) for r in await conn.fetch(_TABLES)]
            if await _exists(conn, "maintenance_runs"):
                rows = await conn.fetch("SELECT * FROM maintenance_runs ORDER BY id DESC LIMIT 10")
                runs = [_run(r) for r in rows]
                stored = await conn.fetchrow("SELECT * FROM maintenance_schedule")
        next_run = None
        if m.enabled:
            if stored is not None and (stored["cron"], stored["timezone"]) == (m.cron, tz):
                next_run = stored["next_run_at"]
            else:  # changed since the scheduler last looked: what it will compute
                next_run = next_fire(m.cron, tz=tz, after=gw.now())
        finished = [r for r in runs if r.finished_at is not None]
        return MaintenanceOverview(
            database_bytes=size,
            tables=tables,
            running=any(r.finished_at is None for r in runs),
            last_run=finished[0] if finished else None,
            next_run_at=next_run,
            timezone=tz,
            runs=runs,
            retention=Retention(
                maintenance=m,
                delivery_log_retention_days=settings.notifications.delivery_log_retention_days,
                hourly_retention_days=settings.analytics.hourly_retention_days,
                daily_retention_days=settings.analytics.daily_retention_days,
            ),
        )

    @router.post(
        "/run",
        status_code=202,
        response_model=MaintenanceAccepted,
        responses={409: {"model": ErrorBody}, 503: {"model": ErrorBody}},
    )
    async def run_now(
        request: Request,
        principal: Principal = Depends(current_principal),  # noqa: B008
    ) -> MaintenanceAccepted:
        """Start a maintenance run now; 409 while one is still running."""
        gw = gateway_of(request)
        async with gw.ctx.pool.acquire() as conn:
            running = await _exists(conn, "maintenance_runs") and await conn.fetchval(
                "SELECT id FROM maintenance_runs WHERE status IN ('running', 'vacuuming')"
            )
        if running:
            raise HTTPException(409, f"maintenance run {running} is still running")
        try:
            await gw.ctx.bus.publish(RequestMaintenance(requested_by=f"user:{principal.username}"))
        except Exception as exc:
            log.warning("maintenance request not published", error=repr(exc))
            raise HTTPException(503, "the message bus is unavailable; try again shortly") from None
        return MaintenanceAccepted(
            accepted=True,
            message="maintenance started: every service prunes its tables, then the database"
            " is vacuumed",
        )

    return router
