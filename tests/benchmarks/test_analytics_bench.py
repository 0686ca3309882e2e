"""Analytics benchmark: a year of hourly data for 10 connectors (hours kept for the whole
year, the worst case for the tables; days as the writer keeps them), read through the
gateway API in this process.

Run: uv run pytest -m benchmark -s tests/benchmarks/test_analytics_bench.py
Prints ONE JSON object. Targets: a 90-day time series and the 90-day comparison each
<= 100 ms (asserted on the CPU a request costs: gateway, client and database backends; wall
times printed beside it, which on a shared machine add the wait for a core); the CSV export of the whole year (hourly, every metric) streamed with flat
memory (its memory growth no larger than a month's export, give or take).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import statistics
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from comradarr_bus import Bus
from comradarr_crypto import PasswordHasher
from comradarr_gateway.config import GatewaySettings
from comradarr_gateway.service import create_app
from comradarr_runtime import ServiceContext
from comradarr_settings import CoreSettings

from tests.benchmarks._calibration import calibration_ms
from tests.benchmarks._procstat import cpu_seconds

pytestmark = pytest.mark.benchmark

CONNECTORS = 10
DAYS = 365
RUNS = 15
ADMIN, PASSWORD = "admin", "Bench-Password-123!"
TZ = "Europe/Berlin"

# (metric, dim, samples per hour (gauges), share of hours it appears in, values up to)
COUNTERS = [
    ("searches", "EpisodeSearch", 0, 1.0, 12),
    ("searches", "SeasonSearch", 0, 0.3, 2),
    ("items_searched", "EpisodeSearch", 0, 1.0, 100),
    ("items_searched", "SeasonSearch", 0, 0.3, 20),
    ("searches_completed", "EpisodeSearch", 0, 1.0, 12),
    ("items_completed", "EpisodeSearch", 0, 1.0, 100),
    ("items_found", "EpisodeSearch", 0, 1.0, 30),
    ("searches_failed", "EpisodeSearch", 0, 0.1, 2),
    ("items_failed", "EpisodeSearch", 0, 0.1, 10),
    ("items_exhausted", "", 0, 0.2, 5),
    ("gaps_new", "", 0, 0.17, 40),
    ("gaps_closed", "", 0, 0.17, 30),
    ("upgrades_new", "", 0, 0.17, 20),
    ("upgrades_closed", "", 0, 0.17, 10),
    ("syncs", "success", 0, 0.17, 1),
    ("items_synced", "", 0, 0.17, 5000),
    ("arr_requests", "command", 0, 1.0, 12),
    ("arr_requests", "command_status", 0, 1.0, 40),
    ("arr_requests", "history", 0, 1.0, 12),
    ("arr_requests", "system", 0, 1.0, 12),
    ("arr_requests", "library", 0, 0.17, 300),
    ("arr_errors", "network", 0, 0.2, 3),
    ("arr_errors", "server", 0, 0.05, 2),
    ("rate_limited", "", 0, 0.02, 1),
    *[
        ("queue_depth", s, 12, 1.0, 5000)
        for s in ("pending", "queued", "searching", "cooldown", "exhausted")
    ],
    ("library_monitored", "", 1, 1.0, 200_000),
    ("library_with_file", "", 1, 1.0, 180_000),
]
# (endpoint kind, centre bin, share of hours): 6 bins around the centre each.
LATENCY = [
    ("command", 24, 1.0),
    ("command_status", 20, 1.0),
    ("history", 26, 1.0),
    ("system", 16, 1.0),
    ("library", 36, 0.17),
]


async def seed_year(pool: asyncpg.Pool, end: datetime) -> dict[str, int]:
    """A year of hourly rows, set-based; days are their hours' sums in the user's zone."""
    start = end - timedelta(days=DAYS)
    async with pool.acquire() as conn:
        await conn.execute("SELECT setseed(0.42)")
        await conn.execute(
            """
            INSERT INTO analytics_hourly (metric, bucket, connector_id, dim, value, samples)
            SELECT m.metric, h, c, m.dim,
                   CASE WHEN m.samples > 0 THEN m.samples * (1 + floor(random() * m.top))::bigint
                        ELSE 1 + floor(random() * m.top)::bigint END,
                   m.samples
            FROM generate_series($1::timestamptz, $2::timestamptz - interval '1 hour',
                                 interval '1 hour') h,
                 generate_series(1, $3::int) c,
                 unnest($4::text[], $5::text[], $6::int[], $7::float8[], $8::int[])
                     AS m(metric, dim, samples, share, top)
            WHERE random() < m.share
            """,
            start,
            end,
            CONNECTORS,
            [m[0] for m in COUNTERS],
            [m[1] for m in COUNTERS],
            [m[2] for m in COUNTERS],
            [m[3] for m in COUNTERS],
            [m[4] for m in COUNTERS],
        )
        # Bins as rows first, then one histogram row per kind, hour and connector (and the
        # merge of every kind under kind ''), as the writer keeps them.
        async with conn.transaction():
            await conn.execute(
                """
                CREATE TEMP TABLE bench_bins ON COMMIT DROP AS
                SELECT h AS bucket, c AS connector_id, k.kind, (k.centre + b)::smallint AS bin,
                       1 + floor(random() * 20)::bigint AS n
                FROM generate_series($1::timestamptz, $2::timestamptz - interval '1 hour',
                                     interval '1 hour') h,
                     generate_series(1, $3::int) c,
                     unnest($4::text[], $5::int[], $6::float8[]) AS k(kind, centre, share),
                     generate_series(-2, 3) b
                WHERE random() < k.share
                """,
                start,
                end,
                CONNECTORS,
                [k[0] for k in LATENCY],
                [k[1] for k in LATENCY],
                [k[2] for k in LATENCY],
            )
            for table, column, expr in (
                ("analytics_latency_hourly", "bucket", "bucket"),
                ("analytics_latency_daily", "day", "(bucket AT TIME ZONE $1)::date"),
            ):
                await conn.execute(
                    f"INSERT INTO {table} (kind, {column}, connector_id, bins, counts)"  # noqa: S608
                    " SELECT kind, t, connector_id, array_agg(bin ORDER BY bin),"
                    " array_agg(n ORDER BY bin) FROM ("
                    f"   SELECT kind, {expr} AS t, connector_id, bin, sum(n)::bigint AS n"
                    "    FROM bench_bins GROUP BY 1, 2, 3, 4"
                    f"   UNION ALL SELECT '', {expr}, connector_id, bin, sum(n)::bigint"
                    "    FROM bench_bins GROUP BY 2, 3, 4"
                    " ) x GROUP BY 1, 2, 3",
                    *([TZ] if "$1" in expr else []),
                )
        await conn.execute(
            "INSERT INTO analytics_daily (metric, day, connector_id, dim, value, samples)"
            " SELECT metric, (bucket AT TIME ZONE $1)::date, connector_id, dim, sum(value),"
            " sum(samples) FROM analytics_hourly GROUP BY 1, 2, 3, 4",
            TZ,
        )
        await conn.executemany(
            "INSERT INTO connectors (name, type, url) VALUES ($1, 'sonarr', 'http://x')",
            [(f"Sonarr {i}",) for i in range(1, CONNECTORS + 1)],
        )
        for table in (
            "analytics_hourly",
            "analytics_daily",
            "analytics_latency_hourly",
            "analytics_latency_daily",
        ):
            await conn.execute(f"ANALYZE {table}")
        return {
            table: int(await conn.fetchval(f"SELECT count(*) FROM {table}"))  # noqa: S608
            for table in (
                "analytics_hourly",
                "analytics_daily",
                "analytics_latency_hourly",
                "analytics_latency_daily",
            )
        }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@contextlib.asynccontextmanager
async def gateway(
    pool: asyncpg.Pool, nats_url: str, prefix: str, data_dir: Path
) -> AsyncIterator[str]:
    core = CoreSettings(COMRADARR_DATA_DIR=data_dir, COMRADARR_BUS_PREFIX=prefix)
    bus = Bus(url=nats_url, prefix=prefix, client_name="analytics-bench", pool=pool)
    await bus.connect(retry_for=5)
    ctx = ServiceContext(
        name="gateway", settings=core, pool=pool, bus=bus, secret_key=core.resolved_secret_key()
    )
    app = create_app(
        ctx, settings=GatewaySettings(api_key_rate_per_minute=100000), hasher=PasswordHasher.cheap()
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        await bus.stop(timeout=1)


async def backend_pids(pool: asyncpg.Pool) -> list[int]:
    """The PostgreSQL backends serving this benchmark's database (its pool's connections)."""
    rows = await pool.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid()"
    )
    return [r["pid"] for r in rows]


async def timed(
    client: httpx.AsyncClient, pool: asyncpg.Pool, path: str, params: dict[str, Any]
) -> dict[str, float]:
    """Wall time per request, and the CPU it cost: this process (gateway and client) plus
    the database's backends. On a shared, oversubscribed machine the wall time is mostly
    waiting for a core; the CPU is what the request costs, and what an idle machine's wall
    time comes to."""
    await client.get(path, params=params)  # warm (plans, settings cache)
    pids = await backend_pids(pool)
    walls = []
    # /proc counts CPU in ticks (10 ms): measured over all runs, then divided.
    cpu0 = time.process_time() + sum(cpu_seconds(p) for p in pids)
    for _ in range(RUNS):
        start = time.perf_counter()
        r = await client.get(path, params=params)
        walls.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 200, r.text
    cpu = time.process_time() + sum(cpu_seconds(p) for p in pids) - cpu0
    walls.sort()
    return {
        "median_ms": round(statistics.median(walls), 1),
        "p95_ms": round(walls[int(0.95 * (len(walls) - 1))], 1),
        "cpu_ms": round(cpu / RUNS * 1000, 1),
    }


async def export(client: httpx.AsyncClient, params: dict[str, Any]) -> dict[str, float]:
    before = _rss_kib()
    peak = before
    rows = size = 0
    start = time.perf_counter()
    async with client.stream("GET", "/api/v1/analytics/export.csv", params=params) as r:
        assert r.status_code == 200
        async for chunk in r.aiter_bytes():
            size += len(chunk)
            rows += chunk.count(b"\r\n")
            peak = max(peak, _rss_kib())
    return {
        "rows": rows - 1,
        "mib": round(size / 2**20, 1),
        "seconds": round(time.perf_counter() - start, 2),
        "rss_growth_kib": peak - before,
    }


@pytest.mark.timeout(1800)
async def test_analytics_benchmark(
    pool: asyncpg.Pool, nats_url: str, bus_prefix: str, private_tmp: Path
) -> None:
    now = datetime.now(UTC)
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    started = time.perf_counter()
    rows = await seed_year(pool, end)
    seed_s = time.perf_counter() - started
    async with (
        gateway(pool, nats_url, bus_prefix, private_tmp) as url,
        httpx.AsyncClient(base_url=url, timeout=600) as client,
    ):
        r = await client.post("/api/v1/setup", json={"username": ADMIN, "password": PASSWORD})
        assert r.status_code == 201, r.text
        r = await client.post("/api/v1/auth/login", json={"username": ADMIN, "password": PASSWORD})
        client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        r = await client.patch(
            "/api/v1/settings",
            json={"general": {"timezone": TZ}, "analytics": {"hourly_retention_days": 365}},
        )
        assert r.status_code == 200, r.text
        series = "/api/v1/analytics/timeseries"
        figures = {
            "timeseries_90d_searches": await timed(
                client, pool, series, {"metric": "searches", "range": "90d"}
            ),
            "timeseries_90d_success_rate_by_connector": await timed(
                client,
                pool,
                series,
                {"metric": "success_rate", "range": "90d", "group": "connector"},
            ),
            "timeseries_90d_p95_by_connector": await timed(
                client,
                pool,
                series,
                {"metric": "response_p95", "range": "90d", "group": "connector"},
            ),
            "timeseries_90d_queue_depth_by_state": await timed(
                client, pool, series, {"metric": "queue_depth", "range": "90d", "group": "dim"}
            ),
            "timeseries_30d_completion_by_connector": await timed(
                client, pool, series, {"metric": "completion", "range": "30d", "group": "connector"}
            ),
            "timeseries_7d_hourly_searches_by_connector": await timed(
                client, pool, series, {"metric": "searches", "range": "7d", "group": "connector"}
            ),
            "comparison_90d": await timed(
                client, pool, "/api/v1/analytics/comparison", {"range": "90d"}
            ),
        }
        month = await export(client, {"range": "30d", "bucket": "hour"})
        year_from = (end - timedelta(days=DAYS) + timedelta(days=1)).date().isoformat()
        year = await export(client, {"from": year_from, "bucket": "hour"})
    result = {
        "benchmark": "analytics",
        "calibration_ms": calibration_ms(),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "connectors": CONNECTORS,
        "days": DAYS,
        "rows": rows,
        "seed_seconds": round(seed_s, 1),
        **figures,
        "export_month_hourly": month,
        "export_year_hourly": year,
    }
    print(json.dumps(result))
    assert year["rows"] >= 364 * 24 * CONNECTORS
    for name, f in figures.items():
        if "90d" in name or "comparison" in name:
            # The cost (what an idle machine answers in); wall times are printed beside it.
            assert f["cpu_ms"] <= 100, (name, f)
    # Flat: twelve times the rows, not noticeably more memory than a month's export.
    assert year["rss_growth_kib"] <= max(month["rss_growth_kib"] * 2, 32 * 1024)
