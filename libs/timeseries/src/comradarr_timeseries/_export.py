"""CSV export: RFC 4180 (CRLF, quoted where needed, a header row), ISO 8601 times, streamed.

The period is read a slice at a time (a day of hours, or a month of days), each slice with
its own short-lived connection, so memory stays flat however long the range is and a slow
download never holds a database connection for long.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import timedelta

from comradarr_db import Connection

from ._periods import HOUR, Period, local_midnight
from ._query import Split, evaluate, fetch_for
from .catalogue import Metric

Acquire = Callable[[], AbstractAsyncContextManager[Connection]]
FIXED_COLUMNS = ("time", "connector_id", "connector")
# Cells a spreadsheet would run as a formula (CSV injection): prefixed with a quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    """Text for a CSV cell that a spreadsheet shows as text, never runs."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def format_value(metric: Metric, value: float | None) -> str:
    """A metric's value as a CSV cell ('' when not measured)."""
    if value is None:
        return ""
    if metric.kind == "counter":
        return str(round(value))
    if metric.unit == "fraction":
        return f"{value:.4f}"
    return f"{value:.1f}" if metric.unit == "ms" else f"{value:.2f}"


def slices(period: Period) -> list[Period]:
    """The period cut into slices of at most a day of hours or 31 days."""
    out = []
    if period.bucket == "hour":
        start = period.start
        while start < period.end:
            end = min(start + 24 * HOUR, period.end)
            out.append(Period(start=start, end=end, bucket="hour", tz=period.tz))
            start = end
        return out
    day = period.first_day
    while day < period.end_day:
        last = min(day + timedelta(days=31), period.end_day)
        out.append(
            Period(
                start=local_midnight(day, period.tz),
                end=local_midnight(last, period.tz),
                bucket="day",
                tz=period.tz,
            )
        )
        day = last
    return out


async def connectors_with_data(conn: Connection, *, period: Period) -> list[int]:
    """Connectors with any stored count or response time in the period's days."""
    rows = await conn.fetch(
        "SELECT connector_id FROM analytics_daily WHERE day >= $1 AND day < $2"
        " UNION SELECT connector_id FROM analytics_latency_daily"
        " WHERE kind = '' AND day >= $1 AND day < $2"
        " ORDER BY 1",
        period.first_day,
        period.end_day + timedelta(days=1),  # an hour period's last UTC hour may be local tomorrow
    )
    return [r["connector_id"] for r in rows]


async def export_csv(
    acquire: Acquire,
    *,
    period: Period,
    metrics: Sequence[Metric],
    connectors: Sequence[int],
    names: Mapping[int, str],
) -> AsyncIterator[bytes]:
    """The CSV: a header, then one row per bucket and connector, oldest first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*FIXED_COLUMNS, *(m.name for m in metrics)])
    split = Split(by_connector=True)
    only = connectors[0] if len(connectors) == 1 else None
    for part in slices(period):
        async with acquire() as conn:
            amounts, histograms = await fetch_for(
                conn, metrics, period=part, split=split, connector_id=only
            )
        for key in part.buckets():
            label = part.label(key)
            for connector in connectors:
                writer.writerow(
                    [
                        label,
                        connector,
                        safe_text(names.get(connector, f"connector {connector} (deleted)")),
                        *(
                            format_value(m, evaluate(m, amounts, histograms, key, connector, ""))
                            for m in metrics
                        ),
                    ]
                )
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
