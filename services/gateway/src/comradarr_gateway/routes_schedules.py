"""Sweep schedules: CRUD with cron and time-zone checks, a preview for the cron builder, the
run log, and run-now (a RequestSweep on the bus)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from comradarr_db import Connection
from comradarr_logging import get_logger
from comradarr_schedules import (
    Schedule,
    ScheduleNotFoundError,
    create_schedule,
    delete_schedule,
    describe,
    get_schedule,
    is_valid,
    is_valid_timezone,
    list_runs,
    list_schedules,
    next_runs,
    update_schedule,
)
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field

from . import repo
from .errors import invalid
from .models import ErrorBody, Strict
from .security import Principal, ProtectedRoute, current_principal
from .state import Gateway, gateway_of
from .sweeps import SweepRefused, refused, request_sweep
from .text import Line

log = get_logger(__name__)

IdPath = Annotated[int, Path(ge=1, le=2**53)]
NEXT_RUNS = 5
SweepType = Literal["gaps", "upgrades", "both"]
SyncMode = Literal["incremental", "full"]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No schedule has that id"}
}
_UNAVAILABLE = {"model": ErrorBody, "description": "The message bus is unavailable"}
CronText = Annotated[str, Field(min_length=9, max_length=120, examples=["0 3 * * *"])]
TzText = Annotated[str, Field(min_length=1, max_length=64, examples=["Europe/Berlin"])]


class ScheduleOut(BaseModel):
    """A schedule with its cron in words and the next runs (UTC)."""

    id: int
    name: str
    connector_id: int
    sweep_type: SweepType
    sync_mode: SyncMode
    cron: str
    timezone: str
    enabled: bool
    next_run_at: datetime | None
    last_fired_at: datetime | None
    created_at: datetime
    description: str
    next_runs: list[datetime]


class ScheduleCreate(Strict):
    """A new schedule; timezone defaults to the application's time zone setting. Its sweeps
    search under the connector's throttle profile (set on the connector)."""

    name: Line = Field(default="", max_length=100)
    connector_id: int = Field(ge=1, le=2**31 - 1)
    sweep_type: SweepType = "both"
    sync_mode: SyncMode = "incremental"
    cron: CronText
    timezone: TzText | None = None
    enabled: bool = True


class ScheduleUpdate(Strict):
    """Changes to a schedule."""

    name: Line | None = Field(default=None, max_length=100)
    connector_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    sweep_type: SweepType | None = None
    sync_mode: SyncMode | None = None
    cron: CronText | None = None
    timezone: TzText | None = None
    enabled: bool | None = None


class CronPreview(BaseModel):
    """A cron expression in words and when it would fire next."""

    cron: str
    timezone: str
    description: str
    next_runs: list[datetime]


class SweepRunOut(BaseModel):
    """One sweep a schedule fired or skipped, with its summary once complete."""

    id: int
    schedule_id: int | None
    connector_id: int
    fire_time: datetime | None
    status: str
    reason: str | None
    correlation_id: str | None
    fired_at: datetime
    completed_at: datetime | None
    sync_outcome: str | None
    items_synced: int
    gaps_found: int
    upgrades_found: int
    items_queued: int


class SweepRequested(BaseModel):
    """A sweep was requested on the bus."""

    schedule_id: int
    connector_id: int
    message_id: str
    correlation_id: str


def _describe(cron: str) -> str:
    try:
        return describe(cron)
    except Exception:  # cron-descriptor rejects a few expressions croniter accepts
        return cron


def check_cron(cron: str, tz: str, *, loc: tuple[str, ...]) -> list[datetime]:
    """The next runs of a valid expression, or a 422 naming the field."""
    field = loc[-1]
    if not is_valid_timezone(tz) or tz != tz.strip():
        raise invalid((*loc[:-1], "timezone"), "unknown time zone (use an IANA name)")
    try:
        ok = is_valid(cron)
    except Exception:
        ok = False
    if not ok:
        raise invalid(loc, f"{field} must be a five-field cron expression, e.g. '0 3 * * *'")
    try:
        return next_runs(cron, tz=tz, after=datetime.now().astimezone(), count=NEXT_RUNS)
    except Exception:
        raise invalid(loc, f"{field} never fires (e.g. February 30th)") from None


def schedule_out(s: Schedule) -> ScheduleOut:
    """The API view of a schedule."""
    try:
        upcoming = s.upcoming(count=NEXT_RUNS) if s.enabled else []
    except Exception:
        upcoming = []
    return ScheduleOut(
        id=s.id,
        name=s.name,
        connector_id=s.connector_id,
        sweep_type=s.sweep_type,
        sync_mode=s.sync_mode,
        cron=s.cron,
        timezone=s.timezone,
        enabled=s.enabled,
        next_run_at=s.next_run_at,
        last_fired_at=s.last_fired_at,
        created_at=s.created_at,
        description=_describe(s.cron),
        next_runs=upcoming,
    )


async def _check_refs(conn: Connection, values: dict[str, Any]) -> None:
    if "connector_id" in values:
        kind = await conn.fetchval(
            "SELECT type FROM connectors WHERE id = $1", values["connector_id"]
        )
        if kind is None:
            raise invalid(("body", "connector_id"), "no connector has that id")
        if kind == "prowlarr":
            raise invalid(
                ("body", "connector_id"),
                "a Prowlarr connector has no library to sweep; choose a Sonarr, Radarr or"
                " Whisparr connector",
            )


async def _default_tz(gw: Gateway) -> str:
    return (await gw.app_settings()).general.timezone


def schedules_router() -> APIRouter:
    """Routes under /schedules."""
    router = APIRouter(prefix="/schedules", tags=["schedules"], route_class=ProtectedRoute)

    @router.get("", response_model=list[ScheduleOut])
    async def list_all(
        request: Request,
        connector_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    ) -> list[ScheduleOut]:
        async with gateway_of(request).ctx.pool.acquire() as conn:
            return [schedule_out(s) for s in await list_schedules(conn, connector_id=connector_id)]

    @router.get("/preview", response_model=CronPreview)
    async def preview(
        request: Request,
        cron: Annotated[str, Query(min_length=1, max_length=120)],
        timezone: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    ) -> CronPreview:
        """The cron builder's live preview: the expression in words and the next 5 runs."""
        tz = timezone or await _default_tz(gateway_of(request))
        runs = check_cron(cron, tz, loc=("query", "cron"))
        return CronPreview(cron=cron, timezone=tz, description=_describe(cron), next_runs=runs)

    @router.post("", status_code=201, response_model=ScheduleOut)
    async def create(body: ScheduleCreate, request: Request) -> ScheduleOut:
        gw = gateway_of(request)
        tz = body.timezone or await _default_tz(gw)
        check_cron(body.cron, tz, loc=("body", "cron"))
        async with gw.ctx.pool.acquire() as conn:
            await _check_refs(conn, body.model_dump())
            s = await create_schedule(
                conn,
                connector_id=body.connector_id,
                cron=body.cron,
                name=body.name,
                sweep_type=body.sweep_type,
                sync_mode=body.sync_mode,
                timezone=tz,
                enabled=body.enabled,
            )
        log.info("schedule created", schedule_id=s.id, connector_id=s.connector_id)
        return schedule_out(s)

    @router.get("/{schedule_id}", response_model=ScheduleOut, responses=_NOT_FOUND)
    async def get_one(schedule_id: IdPath, request: Request) -> ScheduleOut:
        async with gateway_of(request).ctx.pool.acquire() as conn:
            return schedule_out(await _get(conn, schedule_id))

    @router.patch("/{schedule_id}", response_model=ScheduleOut, responses=_NOT_FOUND)
    async def update(schedule_id: IdPath, body: ScheduleUpdate, request: Request) -> ScheduleOut:
        changes = body.model_dump(exclude_unset=True)
        changes = {k: v for k, v in changes.items() if v is not None}
        async with gateway_of(request).ctx.pool.acquire() as conn, conn.transaction():
            current = await _get(conn, schedule_id)
            if "cron" in changes or "timezone" in changes:
                check_cron(
                    changes.get("cron", current.cron),
                    changes.get("timezone", current.timezone),
                    loc=("body", "cron"),
                )
            await _check_refs(conn, changes)
            s = await update_schedule(conn, schedule_id=schedule_id, changes=changes)
        return schedule_out(s)

    @router.delete("/{schedule_id}", status_code=204, response_class=Response, responses=_NOT_FOUND)
    async def delete(schedule_id: IdPath, request: Request) -> Response:
        async with gateway_of(request).ctx.pool.acquire() as conn:
            try:
                await delete_schedule(conn, schedule_id=schedule_id)
            except ScheduleNotFoundError:
                raise HTTPException(404, "no schedule has that id") from None
        log.info("schedule deleted", schedule_id=schedule_id)
        return Response(status_code=204)

    @router.get("/{schedule_id}/runs", response_model=list[SweepRunOut], responses=_NOT_FOUND)
    async def runs(
        schedule_id: IdPath,
        request: Request,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> list[SweepRunOut]:
        async with gateway_of(request).ctx.pool.acquire() as conn:
            await _get(conn, schedule_id)
            if not await repo.table_exists(conn, name="sweep_runs"):
                return []
            rows = await list_runs(conn, schedule_id=schedule_id, limit=limit)
        return [SweepRunOut.model_validate(r) for r in rows]

    @router.post(
        "/{schedule_id}/run-now",
        status_code=202,
        response_model=SweepRequested,
        responses={
            **_NOT_FOUND,
            409: {"model": ErrorBody, "description": "The sweep would be skipped (says why)"},
            503: _UNAVAILABLE,
        },
    )
    async def run_now(
        schedule_id: IdPath,
        request: Request,
        principal: Principal = Depends(current_principal),  # noqa: B008
    ) -> SweepRequested:
        gw = gateway_of(request)
        async with gw.ctx.pool.acquire() as conn:
            s = await _get(conn, schedule_id)
        try:
            started = await request_sweep(
                gw,
                connector_id=s.connector_id,
                sync_mode=s.sync_mode,
                sweep_type=s.sweep_type,
                schedule_id=s.id,
                requested_by=f"user:{principal.username}",
            )
        except SweepRefused as exc:
            raise refused(exc) from None
        return SweepRequested(
            schedule_id=s.id,
            connector_id=s.connector_id,
            message_id=started.message_id,
            correlation_id=started.correlation_id,
        )

    return router


async def _get(conn: Connection, schedule_id: int) -> Schedule:
    try:
        return await get_schedule(conn, schedule_id=schedule_id)
    except ScheduleNotFoundError:
        raise HTTPException(404, "no schedule has that id") from None
