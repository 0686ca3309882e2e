"""Prowlarr indexer health (informational: nothing waits on it)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from . import indexers_repo
from .security import ProtectedRoute
from .state import gateway_of

IndexerState = Literal["healthy", "rate_limited", "failing", "disabled"]


class IndexerStatistics(BaseModel):
    """Prowlarr's own counts for the indexer (indexerstats)."""

    queries: int
    grabs: int
    failed_queries: int
    failed_grabs: int
    avg_response_ms: int


class IndexerView(BaseModel):
    """One Prowlarr indexer as last polled."""

    connector_id: int = Field(description="The Prowlarr connector it belongs to.")
    connector_name: str
    indexer_id: int = Field(description="Prowlarr's id of the indexer.")
    name: str
    protocol: str | None
    privacy: str | None
    implementation: str | None
    enabled: bool
    state: IndexerState
    since: datetime = Field(description="When it entered this state (as far as polls saw).")
    until: datetime | None = Field(description="Rate limited: when Prowlarr uses it again.")
    last_failure: datetime | None
    message: str | None
    last_checked_at: datetime
    stale: bool = Field(description="Its Prowlarr did not answer the last poll(s).")
    statistics: IndexerStatistics | None = Field(
        description="None when this Prowlarr does not serve indexer statistics."
    )


class ProwlarrSource(BaseModel):
    """A Prowlarr connector and its last poll."""

    connector_id: int
    name: str
    enabled: bool
    last_checked_at: datetime | None = Field(description="Last poll, answered or not.")
    last_success_at: datetime | None
    error: str | None = Field(description="Why the last poll failed (None: it answered).")
    stale: bool
    age_seconds: int | None = Field(description="Seconds since it last answered.")
    statistics_served: bool | None
    interval_seconds: float


class IndexerSummary(BaseModel):
    """Counts by state, and whether every enabled indexer is rate limited right now."""

    total: int
    healthy: int
    rate_limited: int
    failing: int
    disabled: int
    all_rate_limited: bool
    all_rate_limited_until: datetime | None = Field(
        description="When every indexer is rate limited: when the first comes back."
    )
    stale: bool = Field(description="Some Prowlarr did not answer its last poll(s).")


class IndexersPage(BaseModel):
    """Indexer health across every Prowlarr connector (unhealthy first)."""

    summary: IndexerSummary
    sources: list[ProwlarrSource]
    indexers: list[IndexerView]


def _stats(row: dict[str, object]) -> IndexerStatistics | None:
    if row["queries"] is None:
        return None
    return IndexerStatistics.model_validate(
        {k: row[k] or 0 for k in IndexerStatistics.model_fields}
    )


def indexers_router() -> APIRouter:
    """Routes under /indexers."""
    router = APIRouter(prefix="/indexers", tags=["indexers"], route_class=ProtectedRoute)

    @router.get("", response_model=IndexersPage)
    async def list_indexers(request: Request) -> IndexersPage:
        gw = gateway_of(request)
        now = gw.now()
        async with gw.ctx.pool.acquire() as conn:
            health = await indexers_repo.indexer_health(conn, now=now)
        until = health.all_rate_limited(now=now)
        counts = {state: 0 for state in ("healthy", "rate_limited", "failing", "disabled")}
        for i in health.indexers:
            counts[i["state"]] += 1
        return IndexersPage(
            summary=IndexerSummary(
                total=len(health.indexers),
                **counts,
                all_rate_limited=until is not None,
                all_rate_limited_until=until,
                stale=any(s["stale"] for s in health.sources),
            ),
            sources=[
                ProwlarrSource(
                    connector_id=s["connector_id"],
                    name=s["name"],
                    enabled=s["enabled"],
                    last_checked_at=s["last_attempt_at"],
                    last_success_at=s["last_success_at"],
                    error=s["last_error"],
                    stale=s["stale"],
                    age_seconds=s["age_seconds"],
                    statistics_served=s["stats_served"],
                    interval_seconds=s["interval_seconds"],
                )
                for s in health.sources
            ],
            indexers=[
                IndexerView(
                    connector_id=i["connector_id"],
                    connector_name=i["connector_name"],
                    indexer_id=i["indexer_id"],
                    name=i["name"],
                    protocol=i["protocol"],
                    privacy=i["privacy"],
                    implementation=i["implementation"],
                    enabled=i["enabled"],
                    state=i["state"],
                    since=i["state_since"],
                    until=i["disabled_till"] if i["state"] == "rate_limited" else None,
                    last_failure=i["most_recent_failure"],
                    message=i["message"],
                    last_checked_at=i["checked_at"],
                    stale=i["stale"],
                    statistics=_stats(i),
                )
                for i in health.indexers
            ],
        )

    return router
