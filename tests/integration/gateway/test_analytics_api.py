"""The analytics API over real buckets: time series, comparison, insights, CSV export,
retention settings; and the refusals (unknown metric, unreadable ranges, no session)."""

from __future__ import annotations

import csv
import io
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from comradarr_timeseries import Count, LatencyCount, add_counts, add_latency

sys.path.insert(0, str(Path(__file__).parent))
from mirror_seed import seed_mirror

pytestmark = pytest.mark.integration

API = "/api/v1/analytics"


async def connector(pool: asyncpg.Pool, name: str, type_: str = "sonarr") -> int:
    return int(
        await pool.fetchval(
            "INSERT INTO connectors (name, type, url) VALUES ($1, $2, 'http://x') RETURNING id",
            name,
            type_,
        )
    )


async def seed_counts(pool: asyncpg.Pool, now: datetime, a: int, b: int) -> None:
    """Two connectors, the last 40 days: a searches 2 items an hour and finds 1 of 4 items;
    b searches once an hour, finds half; b's requests fail 1 in 10 (network)."""
    counts: list[Count] = []
    latency: list[LatencyCount] = []
    hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(days=40)
    while hour <= now:
        counts += [
            Count(at=hour, connector_id=a, metric="searches", dim="EpisodeSearch", value=2),
            Count(at=hour, connector_id=a, metric="items_completed", dim="EpisodeSearch", value=4),
            Count(at=hour, connector_id=a, metric="items_found", dim="EpisodeSearch", value=1),
            Count(at=hour, connector_id=b, metric="searches", dim="MoviesSearch", value=1),
            Count(at=hour, connector_id=b, metric="items_completed", dim="MoviesSearch", value=2),
            Count(at=hour, connector_id=b, metric="items_found", dim="MoviesSearch", value=1),
            Count(at=hour, connector_id=b, metric="arr_requests", dim="command", value=10),
            Count(at=hour, connector_id=b, metric="arr_errors", dim="network", value=1),
            Count(
                at=hour, connector_id=a, metric="queue_depth", dim="pending", value=30, samples=1
            ),
            Count(at=hour, connector_id=a, metric="library_monitored", value=100, samples=1),
            Count(at=hour, connector_id=a, metric="library_with_file", value=80, samples=1),
        ]
        latency += [
            LatencyCount(hour=hour, connector_id=b, kind="command", bin=24, count=9),  # 64-76 ms
            LatencyCount(hour=hour, connector_id=b, kind="command", bin=40, count=1),  # 1-1.2 s
        ]
        hour += timedelta(hours=1)
    async with pool.acquire() as conn, conn.transaction():
        await add_counts(conn, counts, tz="UTC")
        await add_latency(conn, latency, tz="UTC")


@pytest.fixture
async def seeded(harness, pool: asyncpg.Pool) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    a = await connector(pool, 'Sonarr, the "main" one')
    b = await connector(pool, "=Radarr", "radarr")
    await seed_counts(pool, harness.clock(), a, b)
    return a, b


async def test_time_series_for_every_range(
    admin: httpx.AsyncClient, seeded: tuple[int, int]
) -> None:
    a, b = seeded
    for range_name, bucket, n in (
        ("24h", "hour", 24),
        ("7d", "hour", 168),
        ("30d", "day", 30),
        ("90d", "day", 90),
    ):
        r = await admin.get(f"{API}/timeseries", params={"metric": "searches", "range": range_name})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["bucket"] == bucket and len(body["buckets"]) == n
        [line] = body["series"]
        assert line["connector_id"] is None and len(line["points"]) == n
        if bucket == "hour":
            assert line["points"][:-1] == [3] * (n - 1)  # 2 + 1 per hour
        datetime.fromisoformat(body["buckets"][0])  # ISO 8601
    # 30 days: full days of 24 hours each, today's so far.
    r = await admin.get(
        f"{API}/timeseries", params={"metric": "searches", "range": "30d", "group": "connector"}
    )
    lines = {line["connector_id"]: line for line in r.json()["series"]}
    assert set(lines) == {a, b}
    assert lines[a]["points"][:-1] == [48] * 29 and lines[b]["points"][:-1] == [24] * 29
    assert lines[a]["connector"] == 'Sonarr, the "main" one'
    # Ratios per dim and per connector; a gauge as its mean.
    r = await admin.get(
        f"{API}/timeseries", params={"metric": "success_rate", "range": "7d", "group": "dim"}
    )
    dims = {line["dim"]: line["total"] for line in r.json()["series"]}
    assert dims == {"EpisodeSearch": pytest.approx(0.25), "MoviesSearch": pytest.approx(0.5)}
    r = await admin.get(
        f"{API}/timeseries", params={"metric": "completion", "range": "30d", "group": "connector"}
    )
    lines = {line["connector_id"]: line for line in r.json()["series"]}
    assert lines[a]["points"][-2] == pytest.approx(0.8)
    assert lines[b]["points"] == [None] * 30  # nothing measured: no line drawn, not a zero
    r = await admin.get(
        f"{API}/timeseries", params={"metric": "response_p95", "range": "24h", "connector_id": b}
    )
    [line] = r.json()["series"]
    assert 1000 <= line["total"] <= 1190  # the slow tenth: within its bin
    r = await admin.get(f"{API}/timeseries", params={"metric": "response_p50", "range": "24h"})
    assert 64 <= r.json()["series"][0]["total"] <= 77
    # A custom range, in days because it is long.
    r = await admin.get(
        f"{API}/timeseries",
        params={"metric": "items_found", "from": "2000-01-01", "to": "2000-01-10"},
    )
    assert r.status_code == 200 and r.json()["range"] == "custom" and r.json()["bucket"] == "day"
    assert r.json()["series"][0]["total"] == 0


async def test_time_series_refusals(
    harness, admin: httpx.AsyncClient, seeded: tuple[int, int]
) -> None:  # type: ignore[no-untyped-def]
    r = await admin.get(f"{API}/timeseries", params={"metric": "nope"})
    assert r.status_code == 422 and "known:" in r.text
    r = await admin.get(f"{API}/timeseries", params={"metric": "searches", "range": "custom"})
    assert r.status_code == 422 and "needs from" in r.text
    r = await admin.get(f"{API}/timeseries", params={"metric": "searches", "from": "last week"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "from"]
    old = (harness.clock() - timedelta(days=200)).date().isoformat()
    r = await admin.get(
        f"{API}/timeseries", params={"metric": "searches", "from": old, "bucket": "hour"}
    )
    assert r.status_code == 422 and "rolled into days" in r.text
    r = await admin.get(f"{API}/timeseries", params={"metric": "searches", "range": "1y"})
    assert r.status_code == 422
    r = await admin.get(f"{API}/timeseries", params={"metric": "searches", "connector_id": 999})
    assert r.status_code == 404
    async with harness.client() as anonymous:
        r = await anonymous.get(f"{API}/timeseries", params={"metric": "searches"})
        assert r.status_code == 401
        r = await anonymous.get(f"{API}/export.csv")
        assert r.status_code == 401


async def test_comparison_side_by_side(
    admin: httpx.AsyncClient, seeded: tuple[int, int], pool: asyncpg.Pool
) -> None:
    a, b = seeded
    idle = await connector(pool, "Idle")
    r = await admin.get(f"{API}/comparison", params={"range": "7d"})
    assert r.status_code == 200, r.text
    rows = {row["connector_id"]: row for row in r.json()["connectors"]}
    assert set(rows) == {a, b, idle}
    assert rows[a]["searches"] == 2 * 168 and rows[a]["success_rate"] == pytest.approx(0.25)
    assert rows[a]["completion"] == pytest.approx(0.8) and rows[a]["queue_depth"] == pytest.approx(
        30
    )
    assert rows[b]["success_rate"] == pytest.approx(0.5)
    assert rows[b]["error_rate"] == pytest.approx(0.1)
    assert rows[b]["errors_by_category"] == {"network": 168}
    assert 64 <= rows[b]["response_p50_ms"] <= 77 and rows[b]["response_p95_ms"] >= 1000
    assert rows[b]["type"] == "radarr"
    assert rows[idle]["searches"] == 0 and rows[idle]["success_rate"] is None


async def test_insights(admin: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    tv = await connector(pool, "TV")
    await seed_mirror(pool, connector_id=tv, series=4, seasons=2, per_season=6)
    await pool.execute("UPDATE search_registry SET attempts = 0, state = 'pending'")
    entries = await pool.fetch("SELECT id FROM search_registry ORDER BY id LIMIT 3")
    first, second, third = (e["id"] for e in entries)
    now = datetime.now(UTC)
    history = [(first, "not_found")] * 4 + [
        (second, "found"),
        (second, "not_found"),
        (third, "not_found"),
    ]
    await pool.executemany(
        "INSERT INTO search_history (registry_id, connector_id, search_type, outcome, started_at)"
        " VALUES ($1, $2, 'gap', $3, $4)",
        [(rid, tv, outcome, now - timedelta(hours=i)) for i, (rid, outcome) in enumerate(history)],
    )
    await pool.execute(
        "UPDATE search_registry SET attempts = 4, state = 'exhausted' WHERE id = $1", first
    )
    await pool.execute(
        "UPDATE search_registry SET attempts = 6, state = 'cooldown' WHERE id = $1", third
    )
    await pool.execute(
        "UPDATE search_registry SET attempts = 9 WHERE id = $1", second
    )  # found once
    r = await admin.get(f"{API}/insights", params={"range": "7d"})
    assert r.status_code == 200, r.text
    body = r.json()
    top = [(i["registry_id"], i["searches"], i["found"]) for i in body["most_searched"]]
    assert top == [(first, 4, 0), (second, 2, 1), (third, 1, 0)]
    assert all(i["title"] and i["connector"] == "TV" for i in body["most_searched"])
    hard = [i["registry_id"] for i in body["hardest_to_find"]]
    assert hard == [first, third]  # exhausted first; one find is enough to leave the list
    qualities = {q["quality"]: q["items"] for q in body["quality"]}
    files = await pool.fetchval("SELECT count(*) FROM episodes WHERE has_file")
    assert sum(qualities.values()) == body["files"] == files
    assert set(qualities) <= {"Bluray-1080p", "HDTV-720p"}
    assert body["missing"] == await pool.fetchval(
        "SELECT count(*) FROM episodes WHERE NOT has_file AND monitored AND air_date_utc <= now()"
    )
    assert (await admin.get(f"{API}/insights", params={"connector_id": 424242})).status_code == 404


async def test_csv_export(admin: httpx.AsyncClient, seeded: tuple[int, int]) -> None:
    a, b = seeded
    r = await admin.get(
        f"{API}/export.csv",
        params={"range": "7d", "metrics": "searches,success_rate,response_p95,queue_depth"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    text = r.content.decode()
    assert text.count("\r\n") == 1 + 168 * 2 and "\n" not in text.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == [
        "time",
        "connector_id",
        "connector",
        "searches",
        "success_rate",
        "response_p95",
        "queue_depth",
    ]
    body = rows[1:]
    assert len(body) == 168 * 2
    first_a = next(row for row in body if row[1] == str(a))
    first_b = next(row for row in body if row[1] == str(b))
    assert first_a[2] == 'Sonarr, the "main" one'  # quoted and escaped, read back intact
    assert first_b[2] == "'=Radarr"  # never a formula in a spreadsheet
    assert (
        first_a[3] == "2" and first_a[4] == "0.2500" and first_a[5] == "" and first_a[6] == "30.00"
    )
    assert first_b[3] == "1" and first_b[4] == "0.5000" and float(first_b[5]) >= 1000
    times = [datetime.fromisoformat(row[0]) for row in body]
    assert times == sorted(times) and all(t.tzinfo is not None for t in times)
    # A day range with a chosen connector; unknown metrics are refused.
    r = await admin.get(
        f"{API}/export.csv", params={"from": "2000-01-01", "to": "2000-01-31", "connector_id": a}
    )
    assert r.status_code == 200 and len(r.text.strip().split("\r\n")) == 32
    r = await admin.get(f"{API}/export.csv", params={"metrics": "searches,bogus"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "metrics"]


async def test_day_buckets_follow_the_time_zone_setting(
    harness, admin: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:  # type: ignore[no-untyped-def]
    r = await admin.patch("/api/v1/settings", json={"general": {"timezone": "America/New_York"}})
    assert r.status_code == 200
    r = await admin.get(f"{API}/timeseries", params={"metric": "searches", "range": "30d"})
    first = datetime.fromisoformat(r.json()["buckets"][0])
    assert first.hour == 0 and first.utcoffset() in (timedelta(hours=-5), timedelta(hours=-4))
    assert r.json()["timezone"] == "America/New_York"
    assert first.astimezone(ZoneInfo("America/New_York")).hour == 0


async def test_retention_settings(admin: httpx.AsyncClient) -> None:
    r = await admin.get("/api/v1/settings")
    assert r.json()["analytics"] == {"hourly_retention_days": 30, "daily_retention_days": 730}
    r = await admin.patch("/api/v1/settings", json={"analytics": {"hourly_retention_days": 14}})
    assert r.status_code == 200 and r.json()["analytics"]["hourly_retention_days"] == 14
    r = await admin.patch("/api/v1/settings", json={"analytics": {"hourly_retention_days": 2}})
    assert r.status_code == 422
    # Hours are now kept 14 days: a 20-day-old hourly range is refused.
    old = (datetime.now(UTC) - timedelta(days=20)).date().isoformat()
    r = await admin.get(
        f"{API}/timeseries", params={"metric": "searches", "from": old, "bucket": "hour"}
    )
    assert r.status_code == 422


async def test_dashboard_sparkline_is_the_daily_completion(
    admin: httpx.AsyncClient, seeded: tuple[int, int]
) -> None:
    a, b = seeded
    series = await admin.get(
        f"{API}/timeseries", params={"metric": "completion", "range": "30d", "group": "connector"}
    )
    r = await admin.get("/api/v1/dashboard")
    assert r.status_code == 200, r.text
    cards = {c["connector_id"]: c for c in r.json()["connectors"]}
    daily = cards[a]["daily"]
    assert len(daily) == 30 and all(p["completion"] == pytest.approx(0.8) for p in daily)
    line = next(s for s in series.json()["series"] if s["connector_id"] == a)
    assert [p["completion"] for p in daily] == [pytest.approx(v) for v in line["points"]]
    assert cards[b]["daily"] == []  # nothing sampled: no made-up line
