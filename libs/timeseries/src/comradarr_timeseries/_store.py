"""Writing the analytics tables (the analytics service is their only writer).

Every count is added to its UTC hour and, in the same statement, to its calendar day in
the configured time zone. Rolling hours into days after the retention age is then only
deleting the hours: each day already holds exactly the sum of its hours, so no total
changes, and reading a 90-day range touches 90 daily rows per series instead of 2,160.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from comradarr_db import Connection

from ._periods import local_day, local_midnight

# The user's time zone as the gateway stores it (validated there; 'UTC' when unset).
TIMEZONE_SETTING = "general.timezone"
# How long hourly buckets are kept before only their days remain, and how long days are.
HOURLY_RETENTION_SETTING = "analytics.hourly_retention_days"
DAILY_RETENTION_SETTING = "analytics.daily_retention_days"
DEFAULT_HOURLY_RETENTION_DAYS = 30
DEFAULT_DAILY_RETENTION_DAYS = 730


@dataclass(frozen=True, slots=True)
class Count:
    """An amount to add: a counter's increment (samples 0) or one gauge reading (samples 1)."""

    at: datetime
    connector_id: int
    metric: str
    dim: str = ""
    value: int = 0
    samples: int = 0


@dataclass(frozen=True, slots=True)
class LatencyCount:
    """Requests of one kind whose response time fell in one histogram bin, in one hour."""

    hour: datetime
    connector_id: int
    kind: str
    bin: int
    count: int


_ADD_COUNTS = """
WITH r AS (
    SELECT * FROM unnest($1::timestamptz[], $2::int[], $3::text[], $4::text[], $5::bigint[],
                         $6::bigint[]) AS r(at, connector_id, metric, dim, value, samples)
), hourly AS (
    INSERT INTO analytics_hourly AS h (metric, bucket, connector_id, dim, value, samples)
    SELECT metric, date_trunc('hour', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', connector_id,
           dim, sum(value), sum(samples)
    FROM r GROUP BY 1, 2, 3, 4
    ON CONFLICT (metric, bucket, connector_id, dim) DO UPDATE
    SET value = h.value + EXCLUDED.value, samples = h.samples + EXCLUDED.samples
)
INSERT INTO analytics_daily AS d (metric, day, connector_id, dim, value, samples)
SELECT metric, (at AT TIME ZONE $7)::date, connector_id, dim, sum(value), sum(samples)
FROM r GROUP BY 1, 2, 3, 4
ON CONFLICT (metric, day, connector_id, dim) DO UPDATE
SET value = d.value + EXCLUDED.value, samples = d.samples + EXCLUDED.samples
"""

# Two histograms (bins and counts arrays) merged bin by bin into one, bins in order.
_MERGE = """(
    SELECT array_agg(b ORDER BY b), array_agg(n ORDER BY b) FROM (
        SELECT b, sum(n)::bigint AS n FROM (
            SELECT * FROM unnest({0}.bins, {0}.counts) AS x(b, n)
            UNION ALL SELECT * FROM unnest(EXCLUDED.bins, EXCLUDED.counts)
        ) u GROUP BY b
    ) m
)"""
# Each kind's counts, and again under kind '' for all kinds together: one histogram row per
# (kind, hour or day, connector), merged into the stored one.
_ADD_LATENCY = f"""
WITH given AS (
    SELECT * FROM unnest($1::timestamptz[], $2::int[], $3::text[], $4::smallint[], $5::bigint[])
        AS r(at, connector_id, kind, bin, n)
), r AS (
    SELECT at, connector_id, kind, bin, n FROM given
    UNION ALL SELECT at, connector_id, '', bin, n FROM given
), hours AS (
    SELECT kind, date_trunc('hour', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket,
           connector_id, bin, sum(n)::bigint AS n
    FROM r GROUP BY 1, 2, 3, 4
), days AS (
    SELECT kind, (at AT TIME ZONE $6)::date AS day, connector_id, bin, sum(n)::bigint AS n
    FROM r GROUP BY 1, 2, 3, 4
), hourly AS (
    INSERT INTO analytics_latency_hourly AS h (kind, bucket, connector_id, bins, counts)
    SELECT kind, bucket, connector_id, array_agg(bin ORDER BY bin), array_agg(n ORDER BY bin)
    FROM hours GROUP BY 1, 2, 3
    ON CONFLICT (kind, bucket, connector_id) DO UPDATE SET (bins, counts) = {_MERGE.format("h")}
)
INSERT INTO analytics_latency_daily AS d (kind, day, connector_id, bins, counts)
SELECT kind, day, connector_id, array_agg(bin ORDER BY bin), array_agg(n ORDER BY bin)
FROM days GROUP BY 1, 2, 3
ON CONFLICT (kind, day, connector_id) DO UPDATE SET (bins, counts) = {_MERGE.format("d")}
"""  # noqa: S608 (constant fragments)


async def add_counts(conn: Connection, counts: Sequence[Count], *, tz: str) -> None:
    """Add counts to their hours and days (one statement; call inside the fold's transaction)."""
    if not counts:
        return
    await conn.execute(
        _ADD_COUNTS,
        [c.at for c in counts],
        [c.connector_id for c in counts],
        [c.metric for c in counts],
        [c.dim for c in counts],
        [c.value for c in counts],
        [c.samples for c in counts],
        tz,
    )


async def add_latency(conn: Connection, rows: Sequence[LatencyCount], *, tz: str) -> None:
    """Add response-time histogram counts to their hours and days."""
    if not rows:
        return
    await conn.execute(
        _ADD_LATENCY,
        [r.hour for r in rows],
        [r.connector_id for r in rows],
        [r.kind for r in rows],
        [r.bin for r in rows],
        [r.count for r in rows],
        tz,
    )


def hourly_horizon(now: datetime, tz: ZoneInfo, retention_days: int) -> datetime:
    """Where hourly buckets begin: the local midnight retention_days before today's."""
    return local_midnight(local_day(now, tz) - timedelta(days=retention_days), tz)


def daily_horizon(now: datetime, tz: ZoneInfo, retention_days: int) -> date:
    """The first day kept."""
    return local_day(now, tz) - timedelta(days=retention_days)


@dataclass(frozen=True, slots=True)
class Pruned:
    """Rows removed by one roll-up."""

    hourly: int
    daily: int


async def roll_up(
    conn: Connection, *, now: datetime, tz: ZoneInfo, hourly_days: int, daily_days: int
) -> Pruned:
    """Drop hourly buckets older than hourly_days (their days hold their totals) and days
    older than daily_days; one transaction, skipped while another replica does it."""
    hours_before = hourly_horizon(now, tz, hourly_days)
    days_before = daily_horizon(now, tz, daily_days)
    async with conn.transaction():
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _ROLLUP_LOCK):
            return Pruned(hourly=0, daily=0)
        hourly = 0
        for table in ("analytics_hourly", "analytics_latency_hourly"):
            status = await conn.execute(f"DELETE FROM {table} WHERE bucket < $1", hours_before)  # noqa: S608
            hourly += int(status.split()[-1])
        daily = 0
        for table in ("analytics_daily", "analytics_latency_daily"):
            status = await conn.execute(f"DELETE FROM {table} WHERE day < $1", days_before)  # noqa: S608
            daily += int(status.split()[-1])
    return Pruned(hourly=hourly, daily=daily)


_ROLLUP_LOCK = 0x414E4C59  # "ANLY"


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """What the writer reads from the user's settings."""

    tz: ZoneInfo
    hourly_retention_days: int
    daily_retention_days: int


_KNOWN_TO_POSTGRES = {"UTC"}


def _zone(name: object) -> ZoneInfo:
    try:
        return ZoneInfo(str(name))
    except (ValueError, KeyError):  # the gateway validates; an odd stored value means UTC
        return ZoneInfo("UTC")


def _days(value: object, default: int) -> int:
    return (
        value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default
    )


async def read_settings(conn: Connection) -> StoreSettings:
    """The time zone and retention ages as stored by the gateway (defaults when unset)."""
    rows = await conn.fetch(
        "SELECT key, value FROM settings WHERE key = ANY($1::text[])",
        [TIMEZONE_SETTING, HOURLY_RETENTION_SETTING, DAILY_RETENTION_SETTING],
    )
    stored = {r["key"]: r["value"] for r in rows}
    tz = _zone(stored.get(TIMEZONE_SETTING, "UTC"))
    if tz.key not in _KNOWN_TO_POSTGRES:
        # PostgreSQL must know the zone to date the days (its view of zones is slow: once).
        if await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1)", tz.key
        ):
            _KNOWN_TO_POSTGRES.add(tz.key)
        else:
            tz = ZoneInfo("UTC")
    hourly = _days(stored.get(HOURLY_RETENTION_SETTING), DEFAULT_HOURLY_RETENTION_DAYS)
    return StoreSettings(
        tz=tz,
        hourly_retention_days=hourly,
        # Days are what remains of rolled-up hours: never dropped before the hours are.
        daily_retention_days=max(
            _days(stored.get(DAILY_RETENTION_SETTING), DEFAULT_DAILY_RETENTION_DAYS), hourly
        ),
    )
