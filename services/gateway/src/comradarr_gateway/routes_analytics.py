"""Analytics: time series of any metric, connectors side by side, content insights, and the
CSV export. Read from the analytics service's buckets (comradarr_timeseries) with the
user's time zone and hourly retention from the settings."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from comradarr_connectors import list_connectors
from comradarr_db import Connection
from comradarr_timeseries import (
    MAX_HOURS,
    METRICS,
    Bucket,
    Metric,
    Period,
    PeriodError,
    RangeName,
    Series,
    connectors_with_data,
    export_csv,
    hourly_horizon,
    metric,
    per_connector,
    per_connector_dims,
    resolve,
    timeseries,
)
from comradarr_timeseries import catalogue as names
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from . import analytics_repo
from .errors import invalid
from .models import ErrorBody
from .security import ProtectedRoute, request_connection
from .state import Gateway, gateway_of

ConnectorQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
RangeQuery = Annotated[
    RangeName | None,
    Query(
        alias="range",
        description="24h and 7d in hourly buckets, 30d and 90d in days; custom takes from/to"
        " (implied when from is given).",
    ),
]
FromQuery = Annotated[
    str | None,
    Query(
        alias="from",
        max_length=40,
        description="ISO 8601 date or date-time; a date is its local midnight, no offset"
        " means the configured time zone.",
    ),
]
ToQuery = Annotated[
    str | None,
    Query(
        alias="to",
        max_length=40,
        description="ISO 8601; a date includes that whole day. Default: now.",
    ),
]
BucketQuery = Annotated[
    Bucket | None,
    Query(description="Override the bucket size; hours only while they are kept."),
]
_BAD_INPUT: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No connector has that id"},
    422: {"model": ErrorBody, "description": "Unknown metric, or a range that cannot be read"},
}
# Insights scan the registry and the mirror: computed at most every 15 s per filter.
INSIGHTS_TTL_SECONDS = 15.0


class MetricInfo(BaseModel):
    """A metric the API offers."""

    name: str
    label: str
    kind: Literal["counter", "gauge", "ratio", "latency"]
    unit: Literal["count", "items", "fraction", "ms"]
    description: str
    split_by: str | None = Field(description="What group=dim splits it by (None: nothing).")


class SeriesLine(BaseModel):
    """One line: a connector's or all connectors', a dim's or all dims'."""

    connector_id: int | None = Field(description="None: all connectors together.")
    connector: str | None
    dim: str | None = Field(description="With group=dim: command type, state, category...")
    points: list[float | None] = Field(
        description="One value per bucket; counters are 0 where nothing happened, others"
        " None where nothing was measured."
    )
    total: float | None = Field(
        description="The whole range: a counter's sum, a ratio of the sums, a gauge's mean,"
        " a percentile of all the range's response times."
    )


class TimeSeries(BaseModel):
    """A metric over a range."""

    metric: str
    label: str
    unit: str
    kind: str
    range: RangeName
    bucket: Bucket
    start: datetime = Field(description="First bucket's start (inclusive).")
    end: datetime = Field(description="Last bucket's end (exclusive).")
    timezone: str
    buckets: list[str] = Field(description="Each bucket's start, ISO 8601 with offset.")
    series: list[SeriesLine]


class ConnectorFigures(BaseModel):
    """One connector over the range."""

    connector_id: int
    connector: str
    type: str | None = Field(description="None for a deleted connector.")
    searches: int
    items_searched: int
    items_completed: int
    items_found: int
    success_rate: float | None = Field(description="Items found / items of completed searches.")
    searches_failed: int
    items_exhausted: int
    gaps_new: int
    gaps_closed: int
    upgrades_new: int
    upgrades_closed: int
    requests: int
    errors: int
    error_rate: float | None
    errors_by_category: dict[str, int]
    response_p50_ms: float | None
    response_p95_ms: float | None
    queue_depth: float | None = Field(description="Mean queue entries over the range.")
    completion: float | None = Field(description="Mean library completion over the range.")


class Comparison(BaseModel):
    """Connectors side by side."""

    range: RangeName
    bucket: Bucket
    start: datetime
    end: datetime
    timezone: str
    connectors: list[ConnectorFigures]


class InsightItem(BaseModel):
    """An item in an insight list."""

    registry_id: int
    connector_id: int
    connector: str
    content_type: Literal["episode", "movie"]
    title: str | None
    series_id: int | None = Field(description="For episodes: the series to link to.")
    movie_id: int | None
    search_type: str
    state: str
    attempts: int
    searches: int | None = Field(default=None, description="Searches in the range.")
    found: int | None = Field(default=None, description="Of them, searches that found it.")
    last_searched_at: datetime | None
    last_error: str | None


class QualityShare(BaseModel):
    """Files of one quality."""

    quality: str
    items: int
    share: float = Field(description="Of all files (missing items not included).")


class Insights(BaseModel):
    """What gets searched, what is never found, what the library is made of."""

    range: RangeName
    start: datetime
    end: datetime
    connector_id: int | None
    most_searched: list[InsightItem]
    hardest_to_find: list[InsightItem]
    quality: list[QualityShare]
    files: int
    missing: int = Field(description="Monitored items that are out and have no file.")


COMPARED = [
    metric(n)
    for n in (
        names.SEARCHES,
        names.ITEMS_SEARCHED,
        names.ITEMS_COMPLETED,
        names.ITEMS_FOUND,
        "success_rate",
        names.SEARCHES_FAILED,
        names.ITEMS_EXHAUSTED,
        names.GAPS_NEW,
        names.GAPS_CLOSED,
        names.UPGRADES_NEW,
        names.UPGRADES_CLOSED,
        names.ARR_REQUESTS,
        names.ARR_ERRORS,
        "error_rate",
        "response_p50",
        "response_p95",
        names.QUEUE_DEPTH,
        "completion",
    )
]


def _metric(name: str, field: str = "metric") -> Metric:
    try:
        return metric(name)
    except KeyError as exc:
        raise invalid(("query", field), str(exc.args[0])) from None


async def _period(
    gw: Gateway,
    *,
    range_name: RangeName | None,
    start: str | None,
    end: str | None,
    bucket: Bucket | None,
    default: RangeName,
    max_hours: int | None = MAX_HOURS,
) -> tuple[Period, RangeName]:
    settings = await gw.app_settings()
    tz = ZoneInfo(settings.general.timezone)
    now = gw.now()
    chosen: RangeName = range_name or ("custom" if start else default)
    try:
        period = resolve(
            range_name=chosen,
            now=now,
            tz=tz,
            hourly_since=hourly_horizon(now, tz, settings.analytics.hourly_retention_days),
            start=start,
            end=end,
            bucket=bucket,
            max_hours=max_hours,
        )
    except PeriodError as exc:
        raise invalid(("query", exc.field), str(exc)) from None
    return period, chosen


async def _connector_names(conn: Connection) -> dict[int, tuple[str, str]]:
    return {c.id: (c.name, c.type) for c in await list_connectors(conn)}


async def _check_connector(conn: Connection, connector_id: int | None) -> None:
    if connector_id is None:
        return
    known = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM connectors WHERE id = $1)"
        " OR EXISTS (SELECT 1 FROM analytics_daily WHERE connector_id = $1)",
        connector_id,
    )
    if not known:
        raise HTTPException(404, "no connector has that id")


def _name(known: dict[int, tuple[str, str]], connector_id: int) -> str:
    return (
        known[connector_id][0] if connector_id in known else f"connector {connector_id} (deleted)"
    )


def _int(value: float | None) -> int:
    return round(value or 0)


def analytics_router() -> APIRouter:
    """Routes under /analytics."""
    router = APIRouter(prefix="/analytics", tags=["analytics"], route_class=ProtectedRoute)
    insights_cache: dict[tuple[Any, ...], tuple[float, Insights]] = {}

    @router.get("/metrics", response_model=list[MetricInfo])
    async def metrics() -> list[MetricInfo]:
        return [
            MetricInfo(
                name=m.name,
                label=m.label,
                kind=m.kind,
                unit=m.unit,
                description=m.description,
                split_by=m.dim_label or None,
            )
            for m in METRICS
        ]

    @router.get("/timeseries", response_model=TimeSeries, responses=_BAD_INPUT)
    async def series(
        request: Request,
        metric_name: Annotated[str, Query(alias="metric", max_length=40)],
        range_name: RangeQuery = None,
        start: FromQuery = None,
        end: ToQuery = None,
        bucket: BucketQuery = None,
        connector_id: ConnectorQuery = None,
        group: Annotated[
            Literal["none", "connector", "dim"],
            Query(description="One line for all, one per connector, or one per dim."),
        ] = "none",
    ) -> TimeSeries:
        gw = gateway_of(request)
        chosen = _metric(metric_name)
        period, range_used = await _period(
            gw, range_name=range_name, start=start, end=end, bucket=bucket, default="7d"
        )
        async with request_connection(request) as conn:
            await _check_connector(conn, connector_id)
            lines = await timeseries(
                conn,
                chosen,
                period=period,
                connector_id=connector_id,
                by_connector=group == "connector",
                by_dim=group == "dim",
            )
            known = await _connector_names(conn)
        if group == "connector":
            # Every connector gets its line, also one with nothing measured yet.
            have = {line.connector_id for line in lines}
            empty = [0.0 if chosen.kind == "counter" else None] * len(period.buckets())
            for cid in known:
                if cid not in have and (connector_id is None or cid == connector_id):
                    lines.append(
                        Series(
                            connector_id=cid,
                            dim=None,
                            points=list(empty),
                            total=0.0 if chosen.kind == "counter" else None,
                        )
                    )
            lines = [line for line in lines if line.connector_id != 0]
            lines.sort(key=lambda line: line.connector_id or 0)
        return TimeSeries(
            metric=chosen.name,
            label=chosen.label,
            unit=chosen.unit,
            kind=chosen.kind,
            range=range_used,
            bucket=period.bucket,
            start=period.start,
            end=period.end,
            timezone=period.tz.key,
            buckets=[period.label(k) for k in period.buckets()],
            series=[
                SeriesLine(
                    connector_id=line.connector_id,
                    connector=None
                    if line.connector_id is None
                    else _name(known, line.connector_id),
                    dim=line.dim,
                    points=line.points,
                    total=line.total,
                )
                for line in lines
            ],
        )

    @router.get("/comparison", response_model=Comparison, responses=_BAD_INPUT)
    async def comparison(
        request: Request,
        range_name: RangeQuery = None,
        start: FromQuery = None,
        end: ToQuery = None,
    ) -> Comparison:
        gw = gateway_of(request)
        period, range_used = await _period(
            gw, range_name=range_name, start=start, end=end, bucket=None, default="30d"
        )
        async with request_connection(request) as conn:
            figures = await per_connector(conn, COMPARED, period=period)
            errors = await per_connector_dims(conn, metric(names.ARR_ERRORS), period=period)
            known = await _connector_names(conn)
        rows = []
        for cid in sorted(set(known) | set(figures)):
            f = figures.get(cid, {})
            rows.append(
                ConnectorFigures(
                    connector_id=cid,
                    connector=_name(known, cid),
                    type=known[cid][1] if cid in known else None,
                    searches=_int(f.get(names.SEARCHES)),
                    items_searched=_int(f.get(names.ITEMS_SEARCHED)),
                    items_completed=_int(f.get(names.ITEMS_COMPLETED)),
                    items_found=_int(f.get(names.ITEMS_FOUND)),
                    success_rate=f.get("success_rate"),
                    searches_failed=_int(f.get(names.SEARCHES_FAILED)),
                    items_exhausted=_int(f.get(names.ITEMS_EXHAUSTED)),
                    gaps_new=_int(f.get(names.GAPS_NEW)),
                    gaps_closed=_int(f.get(names.GAPS_CLOSED)),
                    upgrades_new=_int(f.get(names.UPGRADES_NEW)),
                    upgrades_closed=_int(f.get(names.UPGRADES_CLOSED)),
                    requests=_int(f.get(names.ARR_REQUESTS)),
                    errors=_int(f.get(names.ARR_ERRORS)),
                    error_rate=f.get("error_rate"),
                    errors_by_category={
                        k: round(v) for k, v in sorted(errors.get(cid, {}).items()) if v
                    },
                    response_p50_ms=f.get("response_p50"),
                    response_p95_ms=f.get("response_p95"),
                    queue_depth=f.get(names.QUEUE_DEPTH),
                    completion=f.get("completion"),
                )
            )
        return Comparison(
            range=range_used,
            bucket=period.bucket,
            start=period.start,
            end=period.end,
            timezone=period.tz.key,
            connectors=rows,
        )

    @router.get("/insights", response_model=Insights, responses=_BAD_INPUT)
    async def insights(
        request: Request,
        range_name: RangeQuery = None,
        start: FromQuery = None,
        end: ToQuery = None,
        connector_id: ConnectorQuery = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
    ) -> Insights:
        gw = gateway_of(request)
        period, range_used = await _period(
            gw, range_name=range_name, start=start, end=end, bucket="day", default="30d"
        )
        key = (period.start, period.end, connector_id, limit)
        hit = insights_cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < INSIGHTS_TTL_SECONDS:
            return hit[1]
        async with request_connection(request) as conn:
            await _check_connector(conn, connector_id)
            known = await _connector_names(conn)
            top = await analytics_repo.most_searched(
                conn, start=period.start, end=period.end, connector_id=connector_id, limit=limit
            )
            hard = await analytics_repo.hardest_to_find(
                conn, connector_id=connector_id, limit=limit
            )
            quality, missing = await analytics_repo.quality_mix(
                conn, connector_id=connector_id, now=gw.now()
            )
        files = sum(n for _q, n in quality)

        def item(row: dict[str, Any]) -> InsightItem:
            return InsightItem(
                registry_id=row["registry_id"],
                connector_id=row["connector_id"],
                connector=_name(known, row["connector_id"]),
                content_type=row["content_type"],
                title=row["title"],
                series_id=row["series_id"],
                movie_id=row["content_id"] if row["content_type"] == "movie" else None,
                search_type=row["search_type"],
                state=row["state"],
                attempts=row["attempts"],
                searches=row.get("searches"),
                found=row.get("found"),
                last_searched_at=row["last_searched_at"],
                last_error=row["last_error"],
            )

        answer = Insights(
            range=range_used,
            start=period.start,
            end=period.end,
            connector_id=connector_id,
            most_searched=[item(r) for r in top],
            hardest_to_find=[item(r) for r in hard],
            quality=[
                QualityShare(quality=q, items=n, share=n / files if files else 0.0)
                for q, n in quality
            ],
            files=files,
            missing=missing,
        )
        if len(insights_cache) >= 256:
            insights_cache.clear()
        insights_cache[key] = (time.monotonic(), answer)
        return answer

    @router.get(
        "/export.csv",
        response_class=StreamingResponse,
        responses={
            200: {"content": {"text/csv": {}}, "description": "RFC 4180 CSV with a header row"},
            **_BAD_INPUT,
        },
    )
    async def export(
        request: Request,
        range_name: RangeQuery = None,
        start: FromQuery = None,
        end: ToQuery = None,
        bucket: BucketQuery = None,
        metrics: Annotated[
            str | None,
            Query(
                max_length=2000,
                description="Comma-separated metric names (GET /analytics/metrics); default all.",
            ),
        ] = None,
        connector_id: ConnectorQuery = None,
    ) -> StreamingResponse:
        gw = gateway_of(request)
        chosen = (
            [_metric(n.strip(), "metrics") for n in metrics.split(",") if n.strip()]
            if metrics
            else list(METRICS)
        )
        if not chosen:
            raise invalid(("query", "metrics"), "name at least one metric")
        chosen = list(dict.fromkeys(chosen))  # each column once
        # Streamed, not charted: any number of hours while they are kept.
        period, _ = await _period(
            gw,
            range_name=range_name,
            start=start,
            end=end,
            bucket=bucket,
            default="30d",
            max_hours=None,
        )
        async with request_connection(request) as conn:
            await _check_connector(conn, connector_id)
            known = await _connector_names(conn)
            ids = (
                [connector_id]
                if connector_id is not None
                else sorted(set(known) | set(await connectors_with_data(conn, period=period)))
            )
        last_day = (period.end - timedelta(seconds=1)).astimezone(period.tz).date()
        stamp = f"{period.start.astimezone(period.tz).date()}_{last_day}"
        return StreamingResponse(
            export_csv(
                gw.ctx.pool.acquire,
                period=period,
                metrics=chosen,
                connectors=ids,
                names={cid: name for cid, (name, _t) in known.items()},
            ),
            media_type="text/csv; charset=utf-8; header=present",
            headers={
                "Content-Disposition": f'attachment; filename="comradarr-analytics-{stamp}.csv"',
                "Cache-Control": "no-store",
            },
        )

    return router
