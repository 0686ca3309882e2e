"""Reading the analytics tables: time series, per-connector totals, export rows.

One fetch per stored kind (counts, response-time histograms) over a period's table (hours
or days), grouped in SQL by what the answer splits on (bucket, connector, dim); the
metric's arithmetic (sums, gauge means, ratios, percentiles of merged histograms) is done
here, in one place for the chart, the comparison and the CSV export.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, get_args

from comradarr_db import Connection
from comradarr_proto import EndpointKind
from comradarr_proto.latency import merge, percentile

from ._periods import Bucket, Period
from .catalogue import GAUGES, Metric

ENDPOINT_KINDS: tuple[EndpointKind, ...] = get_args(EndpointKind)
Key = datetime | date | None  # a bucket's key; None when summed over the whole period
# (bucket key, connector id or 0 for all, stored metric, dim or '' when not split)
AmountKey = tuple[Key, int, str, str]
HistKey = tuple[Key, int, str]


def _table(bucket: Bucket, latency: bool) -> tuple[str, str]:
    prefix = "analytics_latency" if latency else "analytics"
    return (f"{prefix}_hourly", "bucket") if bucket == "hour" else (f"{prefix}_daily", "day")


def _bounds(period: Period) -> tuple[Any, Any]:
    if period.bucket == "hour":
        return period.start, period.end
    return period.first_day, period.end_day


@dataclass(frozen=True, slots=True, kw_only=True)
class Split:
    """What an answer is split by: buckets, connectors, the metric's dim."""

    by_bucket: bool = True
    by_connector: bool = False
    by_dim: bool = False

    def columns(self, time_column: str) -> tuple[str, str, str]:
        """SQL for the bucket key, connector and dim columns of the grouping."""
        return (
            time_column if self.by_bucket else "NULL::date",
            "connector_id" if self.by_connector else "0",
            "dim" if self.by_dim else "''",
        )


async def fetch_amounts(
    conn: Connection,
    *,
    period: Period,
    metrics: Iterable[str],
    split: Split,
    connector_id: int | None = None,
) -> dict[AmountKey, float]:
    """Stored metrics' amounts per (bucket, connector, metric, dim): counters summed,
    gauges as the mean of their readings over the bucket (or the period), then summed
    across connectors and dims."""
    names = sorted(set(metrics))
    if not names:
        return {}
    table, column = _table(period.bucket, latency=False)
    k, c, d = split.columns(column)
    # Inner: each series (connector, dim) over the grouping's time span; outer: across
    # connectors and dims. Constant column names only; every value is a parameter.
    sql = f"""
        SELECT k, c, metric, d, sum(CASE WHEN s > 0 THEN v::float8 / s ELSE v::float8 END) AS a
        FROM (
            SELECT {k} AS k, connector_id, {c} AS c, metric, dim, {d} AS d,
                   sum(value) AS v, sum(samples) AS s
            FROM {table}
            WHERE metric = ANY($1::text[]) AND {column} >= $2 AND {column} < $3
              AND ($4::int IS NULL OR connector_id = $4)
            GROUP BY 1, 2, 3, 4, 5, 6
        ) x GROUP BY 1, 2, 3, 4
    """  # noqa: S608
    start, end = _bounds(period)
    rows = await conn.fetch(sql, names, start, end, connector_id)
    return {(r["k"], r["c"], r["metric"], r["d"]): float(r["a"]) for r in rows}


async def fetch_histograms(
    conn: Connection, *, period: Period, split: Split, connector_id: int | None = None
) -> dict[HistKey, dict[int, int]]:
    """Response-time histograms per (bucket, connector, endpoint kind), merged as split.

    Each stored row is one histogram (bins and counts as arrays): the rows are read as
    they are and merged here, which costs less than taking them apart in SQL."""
    table, column = _table(period.bucket, latency=True)
    # Kind '' holds all kinds merged by the writer: read it unless split by kind.
    kinds = "kind = ANY($4::text[])" if split.by_dim else "kind = ''"
    sql = f"""
        SELECT {column} AS k, connector_id AS c, kind AS d, bins, counts FROM {table}
        WHERE {kinds} AND {column} >= $1 AND {column} < $2
          AND ($3::int IS NULL OR connector_id = $3)
    """  # noqa: S608
    start, end = _bounds(period)
    args: list[Any] = [start, end, connector_id]
    if split.by_dim:
        args.append(list(ENDPOINT_KINDS))
    out: dict[HistKey, dict[int, int]] = {}
    for r in await conn.fetch(sql, *args):
        key = (
            r["k"] if split.by_bucket else None,
            r["c"] if split.by_connector else 0,
            r["d"],
        )
        found = out.get(key)
        if found is None:
            out[key] = dict(zip(r["bins"], r["counts"], strict=True))
            continue
        for b, n in zip(r["bins"], r["counts"], strict=True):
            found[b] = found.get(b, 0) + n
    return out


def evaluate(
    metric: Metric,
    amounts: Mapping[AmountKey, float],
    histograms: Mapping[HistKey, Mapping[int, int]],
    key: Key,
    connector: int,
    dim: str,
) -> float | None:
    """A metric's value for one bucket key, connector (0: all) and dim ('' unless split).

    Counters are 0 where nothing was counted; gauges, ratios and percentiles are None
    where nothing was measured (a chart shows a gap, not a zero)."""
    if metric.kind == "latency":
        histogram = histograms.get((key, connector, dim))
        return None if not histogram else percentile(histogram, metric.quantile)
    if metric.kind == "ratio":
        numerator = amounts.get((key, connector, metric.numerator, dim), 0.0)
        den_dim = dim if metric.denominator_by_dim else ""
        denominator = amounts.get((key, connector, metric.denominator, den_dim), 0.0)
        return numerator / denominator if denominator > 0 else None
    found = amounts.get((key, connector, metric.name, dim))
    if found is None:
        return None if metric.name in GAUGES else 0.0
    return found


async def fetch_for(
    conn: Connection,
    metrics: Sequence[Metric],
    *,
    period: Period,
    split: Split,
    connector_id: int | None = None,
) -> tuple[dict[AmountKey, float], dict[HistKey, dict[int, int]]]:
    """What evaluate() needs for these metrics, in at most three queries."""
    stored: set[str] = set()
    undivided: set[str] = set()  # denominators read without the dim split
    for m in metrics:
        stored.update(m.stored)
        if m.kind == "ratio" and split.by_dim and not m.denominator_by_dim:
            stored.discard(m.denominator)
            undivided.add(m.denominator)
    amounts = await fetch_amounts(
        conn, period=period, metrics=stored, split=split, connector_id=connector_id
    )
    if undivided:
        flat = Split(by_bucket=split.by_bucket, by_connector=split.by_connector)
        amounts.update(
            await fetch_amounts(
                conn, period=period, metrics=undivided, split=flat, connector_id=connector_id
            )
        )
    histograms: dict[HistKey, dict[int, int]] = {}
    if any(m.kind == "latency" for m in metrics):
        histograms = await fetch_histograms(
            conn, period=period, split=split, connector_id=connector_id
        )
    return amounts, histograms


@dataclass(frozen=True, slots=True)
class Series:
    """One line of a chart: a connector's (or all), a dim's (or all)."""

    connector_id: int | None
    dim: str | None
    points: list[float | None]
    total: float | None


def _total(
    metric: Metric, points: list[float | None], histograms: Sequence[Mapping[int, int]]
) -> float | None:
    """The whole period's value from its buckets' (a gauge: the mean of its buckets)."""
    if metric.kind == "latency":
        merged = merge(histograms)
        return percentile(merged, metric.quantile) if merged else None
    values = [p for p in points if p is not None]
    if metric.kind == "counter":
        return sum(values)
    if metric.kind == "gauge":
        return sum(values) / len(values) if values else None
    return None  # ratios: computed from the period's sums by the caller


async def timeseries(
    conn: Connection,
    metric: Metric,
    *,
    period: Period,
    connector_id: int | None = None,
    by_connector: bool = False,
    by_dim: bool = False,
) -> list[Series]:
    """A metric over a period, one point per bucket, as one series or split."""
    split = Split(by_connector=by_connector, by_dim=by_dim and bool(metric.dim_label))
    amounts, histograms = await fetch_for(
        conn, [metric], period=period, split=split, connector_id=connector_id
    )
    keys = period.buckets()
    series_keys = sorted(
        {(c, d) for (_k, c, name, d) in amounts if name in metric.stored}
        | {(c, d) for (_k, c, d) in histograms}
    ) or [(0, "")]
    ratio_totals: dict[tuple[int, str], float | None] = {}
    if metric.kind == "ratio":
        whole = Split(by_bucket=False, by_connector=split.by_connector, by_dim=split.by_dim)
        sums, _ = await fetch_for(
            conn, [metric], period=period, split=whole, connector_id=connector_id
        )
        ratio_totals = {sk: evaluate(metric, sums, {}, None, *sk) for sk in series_keys}
    out = []
    for c, d in series_keys:
        points = [evaluate(metric, amounts, histograms, k, c, d) for k in keys]
        hists = [histograms[(k, c, d)] for k in keys if (k, c, d) in histograms]
        total = (
            ratio_totals.get((c, d)) if metric.kind == "ratio" else _total(metric, points, hists)
        )
        out.append(
            Series(
                connector_id=c if by_connector else connector_id,
                dim=d if split.by_dim else None,
                points=points,
                total=total,
            )
        )
    return out


async def per_connector(
    conn: Connection, metrics: Sequence[Metric], *, period: Period
) -> dict[int, dict[str, float | None]]:
    """Each metric over the whole period, per connector that has any data."""
    split = Split(by_bucket=False, by_connector=True)
    amounts, histograms = await fetch_for(conn, metrics, period=period, split=split)
    connectors = sorted({c for (_k, c, _m, _d) in amounts} | {c for (_k, c, _d) in histograms})
    return {
        c: {m.name: evaluate(m, amounts, histograms, None, c, "") for m in metrics}
        for c in connectors
    }


async def per_connector_dims(
    conn: Connection, metric: Metric, *, period: Period
) -> dict[int, dict[str, float]]:
    """A counter's dims over the whole period, per connector (e.g. errors by category)."""
    split = Split(by_bucket=False, by_connector=True, by_dim=True)
    amounts = await fetch_amounts(conn, period=period, metrics=[metric.name], split=split)
    out: dict[int, dict[str, float]] = {}
    for (_k, c, _m, d), value in amounts.items():
        out.setdefault(c, {})[d] = value
    return out
