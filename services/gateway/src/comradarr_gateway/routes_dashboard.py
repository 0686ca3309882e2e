"""The dashboard: how the library is doing, and what happened lately."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from comradarr_timeseries import hourly_horizon, metric, resolve, timeseries
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from . import dashboard_repo
from .security import ProtectedRoute
from .state import gateway_of

Kind = Literal["search", "sync", "discovery", "health"]


class Figures(BaseModel):
    """Headline figures (gateway/dashboard_repo.py says exactly what each counts)."""

    gaps: int = Field(description="Search registry entries of type gap (missing items).")
    upgrades: int = Field(description="Search registry entries of type upgrade or format.")
    queued: int = Field(description="Entries waiting to be searched (all but exhausted).")
    searched_today: int = Field(description="Searches that ended since local midnight.")
    found_today: int
    success_rate_today: float | None = Field(description="found / searched; None: none yet.")
    searched_7d: int = Field(description="Searches that ended in the last 7 days.")
    found_7d: int
    success_rate_7d: float | None


class DailyPoint(BaseModel):
    """One day of a connector's completion (from the analytics service, when it has it)."""

    day: date
    completion: float


class ConnectorCompletion(BaseModel):
    """Monitored items with a file, of all monitored items, for one connector."""

    connector_id: int
    name: str
    type: str
    health_status: str
    enabled: bool
    monitored: int
    with_file: int
    completion: float | None = Field(description="with_file / monitored; None: no items.")
    daily: list[DailyPoint] = Field(
        default_factory=list,
        description="Completion per day over the last 30 days, oldest first (empty until"
        " daily figures exist).",
    )


class NextSweep(BaseModel):
    """A schedule about to fire."""

    schedule_id: int
    schedule_name: str
    connector_id: int
    connector_name: str
    sync_mode: str
    sweep_type: str
    at: datetime


class RunningSweep(BaseModel):
    """A sweep under way."""

    connector_id: int
    connector_name: str
    stage: Literal["syncing", "discovering"]
    sync_mode: str | None
    started_at: datetime
    fetched: int | None = Field(description="Records read so far (the sync's progress).")
    total: int | None = Field(description="Records to read, when the app says.")


class Dashboard(BaseModel):
    """Everything the home page shows but the activity feed."""

    timezone: str
    figures: Figures
    connectors: list[ConnectorCompletion]
    next_sweeps: list[NextSweep]
    running: list[RunningSweep]


class ActivityItem(BaseModel):
    """One event, as a sentence naming the connector and the items."""

    at: datetime
    kind: Kind
    connector_id: int
    connector_name: str
    outcome: str
    text: str


def dashboard_router() -> APIRouter:
    """Routes /dashboard and /activity."""
    router = APIRouter(tags=["dashboard"], route_class=ProtectedRoute)

    @router.get("/dashboard", response_model=Dashboard)
    async def dashboard(request: Request) -> Dashboard:
        gw = gateway_of(request)
        now = gw.now()
        settings = await gw.app_settings()
        tz = settings.general.timezone
        # The sparkline: the analytics service's daily completion (GET /analytics/timeseries
        # ?metric=completion&range=30d&group=connector reads the same), days it sampled only.
        zone = ZoneInfo(tz)
        month = resolve(
            range_name="30d",
            now=now,
            tz=zone,
            hourly_since=hourly_horizon(now, zone, settings.analytics.hourly_retention_days),
        )
        async with gw.ctx.pool.acquire() as conn:
            figures = await dashboard_repo.figures(conn, now=now, tz=tz)
            connectors = await dashboard_repo.completion(conn, now=now)
            upcoming = await dashboard_repo.next_sweeps(conn, now=now)
            running = await dashboard_repo.running_sweeps(conn, now=now)
            lines = await timeseries(conn, metric("completion"), period=month, by_connector=True)
        days = month.buckets()
        daily = {
            line.connector_id: [
                DailyPoint(day=day, completion=round(value, 4))
                for day, value in zip(days, line.points, strict=True)
                if value is not None and isinstance(day, date)
            ]
            for line in lines
        }
        return Dashboard(
            timezone=tz,
            figures=Figures(**figures),
            connectors=[
                ConnectorCompletion(**c, daily=daily.get(c["connector_id"], [])) for c in connectors
            ],
            next_sweeps=[NextSweep(**s) for s in upcoming],
            running=[RunningSweep(**r) for r in running],
        )

    @router.get("/activity", response_model=list[ActivityItem])
    async def activity(
        request: Request,
        kind: Annotated[list[Kind] | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = dashboard_repo.FEED_LIMIT,
    ) -> list[ActivityItem]:
        """The newest events (searches, syncs, discoveries, health changes), newest first;
        `kind` (repeatable) keeps only those kinds."""
        kinds = tuple(kind) if kind else dashboard_repo.KINDS
        async with gateway_of(request).ctx.pool.acquire() as conn:
            items = await dashboard_repo.activity(conn, kinds=kinds, limit=limit)
        return [
            ActivityItem(
                at=a.at,
                kind=a.kind,  # type: ignore[arg-type]
                connector_id=a.connector_id,
                connector_name=a.connector_name,
                outcome=a.outcome,
                text=a.text,
            )
            for a in items
        ]

    return router
