"""The analytics service over real PostgreSQL and NATS: events folded exactly once, samples
per slot, hours and days across a DST change and midnight (injected clock), and the
roll-up of old hours keeping every total."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from comradarr_analytics.config import AnalyticsConfig
from comradarr_analytics.service import AnalyticsService
from comradarr_bus import Bus, Delivery
from comradarr_db import AlreadyProcessed
from comradarr_proto import (
    ArrRequestsMeasured,
    DiscoveryCompleted,
    RequestStats,
    SearchCompleted,
    SearchDispatched,
)
from comradarr_runtime import Runner, ServiceContext, load_service
from comradarr_settings import CoreSettings, load_settings
from comradarr_timeseries import metric, per_connector, resolve, timeseries

from tests.support import wait_for

pytestmark = pytest.mark.integration

BERLIN = ZoneInfo("Europe/Berlin")
SECRET = "analytics-test-secret-key-0123456789abcdef"


def settings_for(prefix: str, data_dir: object) -> CoreSettings:
    return load_settings(
        CoreSettings,
        COMRADARR_BUS_PREFIX=prefix,
        COMRADARR_DATA_DIR=str(data_dir),
        COMRADARR_DB_POOL_MIN=1,
        COMRADARR_DB_POOL_MAX=4,
        COMRADARR_SHUTDOWN_TIMEOUT=5,
        SECRET_KEY=SECRET,
    )


class Clock:
    """A clock the test moves."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
async def service(pool: asyncpg.Pool, private_tmp: object) -> AsyncIterator[AnalyticsService]:
    ctx = ServiceContext(
        name="analytics",
        settings=settings_for("unused", private_tmp),
        pool=pool,
        bus=None,  # type: ignore[arg-type]  # handlers called directly: no bus needed
        secret_key=SECRET,
    )
    yield AnalyticsService(ctx=ctx, config=AnalyticsConfig(settings_ttl_seconds=0))


async def set_timezone(pool: asyncpg.Pool, name: str) -> None:
    await pool.execute(
        "INSERT INTO settings (key, value) VALUES ('general.timezone', $1)"
        " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        name,
    )


async def add_connector(pool: asyncpg.Pool, name: str, type_: str = "sonarr") -> int:
    return int(
        await pool.fetchval(
            "INSERT INTO connectors (name, type, url) VALUES ($1, $2, 'http://x') RETURNING id",
            name,
            type_,
        )
    )


def delivery(pool: asyncpg.Pool, message_id: str) -> Delivery:
    return Delivery("analytics-test", "t", message_id, 1, pool)


def dispatched(
    connector_id: int, at: datetime, items: int, command: str = "EpisodeSearch"
) -> SearchDispatched:
    return SearchDispatched(
        connector_id=connector_id,
        command_id=1,
        command_name=command,  # type: ignore[arg-type]
        registry_ids=list(range(items)),
        occurred_at=at,
    )


async def test_events_over_the_bus_fold_once(
    database_url: str, nats_url: str, bus_prefix: str, pool: asyncpg.Pool, private_tmp: object
) -> None:
    settings = settings_for(bus_prefix, private_tmp)
    runner = Runner(
        [load_service("analytics")],
        settings=settings,
        database_url=database_url,
        nats_url=nats_url,
        http_port=None,
        client_name="analytics-test",
    )
    bus = Bus(url=nats_url, prefix=bus_prefix, client_name="analytics-publisher", pool=pool)
    await runner.start()
    await bus.connect()
    try:
        at = datetime.now(UTC)
        events = [
            dispatched(1, at, 10),
            dispatched(1, at, 1, "SeasonSearch"),
            SearchCompleted(
                connector_id=1,
                command_id=1,
                registry_ids=list(range(10)),
                found=4,
                command_name="EpisodeSearch",
            ),
            DiscoveryCompleted(connector_id=1, gaps_new=7, gaps_removed=3),
            ArrRequestsMeasured(
                source="test",
                stats=[
                    RequestStats(
                        hour=at.replace(minute=0, second=0, microsecond=0),
                        connector_id=1,
                        kind="command",
                        requests=3,
                        errors={"server": 1},
                        latency={22: 2, 30: 1},
                    )
                ],
            ),
        ]
        for event in events:
            await bus.publish(event)
        # The same message again (a producer's retry): JetStream drops it by its id.
        await bus.publish(events[0])

        async def folded() -> bool:
            n = await pool.fetchval(
                "SELECT count(*) FROM processed_messages WHERE consumer LIKE 'analytics-%'"
            )
            return bool(n >= len(events))

        await wait_for(folded, timeout=20)
        await asyncio.sleep(0.3)
        rows = await pool.fetch("SELECT metric, dim, value FROM analytics_daily ORDER BY 1, 2")
        got = {
            (r["metric"], r["dim"]): r["value"]
            for r in rows
            if not r["metric"].startswith(("queue", "library"))
        }
        assert got == {
            ("searches", "EpisodeSearch"): 1,
            ("searches", "SeasonSearch"): 1,
            ("items_searched", "EpisodeSearch"): 10,
            ("items_searched", "SeasonSearch"): 1,
            ("searches_completed", "EpisodeSearch"): 1,
            ("items_completed", "EpisodeSearch"): 10,
            ("items_found", "EpisodeSearch"): 4,
            ("gaps_new", ""): 7,
            ("gaps_closed", ""): 3,
            ("arr_requests", "command"): 3,
            ("arr_errors", "server"): 1,
        }
        hourly = await pool.fetchval(
            "SELECT sum(value) FROM analytics_hourly WHERE metric = 'items_searched'"
        )
        assert hourly == 11
        assert (
            await pool.fetchval(
                "SELECT sum(n) FROM analytics_latency_daily, unnest(counts) AS n WHERE kind = ''"
            )
            == 3
        )
        assert (
            await pool.fetchval(
                "SELECT sum(n) FROM analytics_latency_daily, unnest(counts) AS n WHERE kind = 'command'"
            )
            == 3
        )
    finally:
        await bus.stop()
        await runner.stop()


async def test_a_redelivered_event_counts_once(
    service: AnalyticsService, pool: asyncpg.Pool
) -> None:
    event = dispatched(1, datetime(2026, 5, 1, 12, tzinfo=UTC), 5)
    mid = uuid.uuid4().hex
    await service.fold(event, delivery(pool, mid))
    with pytest.raises(AlreadyProcessed):
        await service.fold(event, delivery(pool, mid))
    assert (
        await pool.fetchval("SELECT value FROM analytics_daily WHERE metric = 'items_searched'")
        == 5
    )
    assert (
        await pool.fetchval("SELECT value FROM analytics_hourly WHERE metric = 'items_searched'")
        == 5
    )


async def test_hours_and_days_across_dst_and_midnight(
    service: AnalyticsService, pool: asyncpg.Pool
) -> None:
    """Berlin, 2026-03-29: clocks jump from 02:00 to 03:00 (a 23-hour day)."""
    await set_timezone(pool, "Europe/Berlin")
    local = [
        datetime(2026, 3, 28, 23, 30, tzinfo=BERLIN),  # the 28th, last hour
        datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN),  # midnight: the 29th
        datetime(2026, 3, 29, 1, 59, tzinfo=BERLIN),  # just before the jump
        datetime(2026, 3, 29, 3, 0, tzinfo=BERLIN),  # just after: one UTC hour later
        datetime(2026, 3, 29, 23, 59, 59, tzinfo=BERLIN),
        datetime(2026, 3, 30, 0, 0, 1, tzinfo=BERLIN),
    ]
    for i, at in enumerate(local):
        await service.fold(dispatched(1, at.astimezone(UTC), i + 1), delivery(pool, f"dst-{i}"))
    days = {
        r["day"]: r["value"]
        for r in await pool.fetch(
            "SELECT day, value FROM analytics_daily WHERE metric = 'items_searched'"
        )
    }
    assert days == {date(2026, 3, 28): 1, date(2026, 3, 29): 2 + 3 + 4 + 5, date(2026, 3, 30): 6}
    # The 29th has 23 hourly buckets; its hours add up to its day.
    now = datetime(2026, 3, 31, tzinfo=UTC)
    since = now - timedelta(days=30)
    hours = resolve(
        range_name="custom",
        now=now,
        tz=BERLIN,
        hourly_since=since,
        start="2026-03-29",
        end="2026-03-29",
    )
    [series] = await timeseries(pool, metric("items_searched"), period=hours)  # type: ignore[arg-type]
    assert len(series.points) == 23 and series.total == 14
    labels = [hours.label(k) for k in hours.buckets()]
    by_label = dict(zip(labels, series.points, strict=True))
    assert by_label["2026-03-29T00:00:00+01:00"] == 2
    assert by_label["2026-03-29T01:00:00+01:00"] == 3
    assert by_label["2026-03-29T03:00:00+02:00"] == 4  # the hour after 01:00-02:00 local
    assert by_label["2026-03-29T23:00:00+02:00"] == 5
    by_day = resolve(
        range_name="custom",
        now=now,
        tz=BERLIN,
        hourly_since=since,
        start="2026-03-28",
        end="2026-03-30",
        bucket="day",
    )
    [daily] = await timeseries(pool, metric("items_searched"), period=by_day)  # type: ignore[arg-type]
    assert daily.points == [1, 14, 6]


async def test_samples_once_per_slot_and_completion(
    service: AnalyticsService, pool: asyncpg.Pool
) -> None:
    clock = Clock(datetime(2026, 3, 29, 0, 58, tzinfo=UTC))
    service.clock = clock
    tv = await add_connector(pool, "TV")
    await add_connector(pool, "Indexers", "prowlarr")  # no queue, no library: not sampled
    await pool.execute(
        "INSERT INTO series (connector_id, arr_id, title, monitored) VALUES ($1, 1, 'Show', true),"
        " ($1, 2, 'Dropped', false)",
        tv,
    )
    aired = datetime(2026, 1, 1, tzinfo=UTC)
    future = datetime(2027, 1, 1, tzinfo=UTC)
    episodes = [
        (1, 1, aired, True, True),  # monitored, has a file
        (2, 1, aired, True, False),  # monitored, missing
        (3, 1, aired, True, False),
        (4, 1, future, True, False),  # not aired yet: not counted against completion
        (5, 1, aired, False, False),  # unmonitored
        (6, 2, aired, True, False),  # its series is unmonitored
    ]
    await pool.executemany(
        "INSERT INTO episodes (connector_id, arr_id, series_arr_id, season_number, air_date_utc,"
        " monitored, has_file) VALUES ($1, $2, $3, 1, $4, $5, $6)",
        [(tv, a, s, when, mon, f) for a, s, when, mon, f in episodes],
    )
    await pool.execute(
        "INSERT INTO search_registry (connector_id, content_type, episode_id, search_type, state)"
        " SELECT $1, 'episode', id, 'gap', CASE WHEN arr_id = 2 THEN 'pending' ELSE 'cooldown' END"
        " FROM episodes WHERE arr_id IN (2, 3)",
        tv,
    )
    assert await service.sample_queue() == 1
    assert await service.sample_queue() == 0  # the same 5-minute slot: done (any replica)
    late = await add_connector(pool, "Added later")
    assert await service.sample_queue() == 1  # a connector new in the slot: at the next wake
    assert await service.sample_completion() == 1  # only TV has a library to count
    assert await service.sample_completion() == 0
    clock.at += timedelta(minutes=5)  # next slot, and the next UTC hour
    await pool.execute("UPDATE search_registry SET state = 'pending'")
    assert await service.sample_queue() == 2
    rows = await pool.fetch(
        "SELECT bucket, dim, value, samples FROM analytics_hourly WHERE metric = 'queue_depth'"
        " AND connector_id = $1 AND value > 0 ORDER BY bucket, dim",
        tv,
    )
    assert [(r["bucket"].hour, r["dim"], r["value"], r["samples"]) for r in rows] == [
        (0, "cooldown", 1, 1),
        (0, "pending", 1, 1),
        (1, "pending", 2, 1),
    ]
    # Every state is sampled (zeros too), so the mean over a bucket is right.
    samples = await pool.fetch(
        "SELECT connector_id, sum(samples) AS n FROM analytics_daily WHERE metric = 'queue_depth'"
        " GROUP BY 1"
    )
    assert {r["connector_id"]: r["n"] for r in samples} == {tv: 10, late: 10}
    period = resolve(
        range_name="24h",
        now=clock.at,
        tz=ZoneInfo("UTC"),
        hourly_since=clock.at - timedelta(days=30),
    )
    totals = await per_connector(
        pool,  # type: ignore[arg-type]
        [metric("completion"), metric("library_monitored"), metric("queue_depth")],
        period=period,
    )
    assert totals[tv]["library_monitored"] == 3
    assert totals[tv]["completion"] == pytest.approx(1 / 3)
    assert totals[tv]["queue_depth"] == 2  # mean per state over both samples, summed


async def test_roll_up_keeps_every_total(service: AnalyticsService, pool: asyncpg.Pool) -> None:
    await set_timezone(pool, "Europe/Berlin")
    now = datetime(2026, 5, 10, 12, tzinfo=UTC)
    service.clock = Clock(now)
    at = now - timedelta(days=45)
    n = 0
    while at < now:
        n += 1
        await service.fold(dispatched(1 + n % 3, at, 1 + n % 7), delivery(pool, f"ev-{n}"))
        await service.fold_requests(
            ArrRequestsMeasured(
                source="t",
                stats=[
                    RequestStats(
                        hour=at.replace(minute=0, second=0, microsecond=0),
                        connector_id=1,
                        kind="library",
                        requests=4,
                        latency={20 + n % 9: 4},
                    )
                ],
            ),
            delivery(pool, f"rq-{n}"),
        )
        at += timedelta(minutes=181)
    whole = resolve(
        range_name="custom",
        now=now,
        tz=BERLIN,
        hourly_since=datetime(2000, 1, 1, tzinfo=UTC),
        start="2026-03-20",
        bucket="day",
    )
    checked = [
        metric("searches"),
        metric("items_searched"),
        metric("arr_requests"),
        metric("response_p95"),
    ]

    async def snapshot() -> tuple[object, ...]:
        series = [await timeseries(pool, m, period=whole, by_connector=True) for m in checked]  # type: ignore[arg-type]
        return tuple((s.connector_id, s.points, s.total) for group in series for s in group)

    hourly_before = await pool.fetchval(
        "SELECT sum(value) FROM analytics_hourly WHERE metric = 'items_searched'"
    )
    daily_before = await pool.fetchval(
        "SELECT sum(value) FROM analytics_daily WHERE metric = 'items_searched'"
    )
    assert hourly_before == daily_before
    before = await snapshot()
    pruned = await service.roll_up()
    assert pruned.hourly > 0 and pruned.daily == 0
    horizon = datetime(2026, 4, 10, tzinfo=BERLIN)  # 30 days before today's local midnight
    assert await pool.fetchval("SELECT min(bucket) FROM analytics_hourly") >= horizon
    assert await pool.fetchval("SELECT min(bucket) FROM analytics_latency_hourly") >= horizon
    assert await snapshot() == before
    assert (
        await pool.fetchval(
            "SELECT sum(value) FROM analytics_daily WHERE metric = 'items_searched'"
        )
        == daily_before
    )
    # A second replica (or run) finds nothing left to do.
    assert (await service.roll_up()).hourly == 0
