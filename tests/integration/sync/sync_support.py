"""Helpers for sync and discovery tests: a simulator-backed sync service and mirror checks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
from comradarr_arr import ArrClient, ConnectorConfig, RetryPolicy
from comradarr_arrsim import Flavor, LibrarySpec, Simulator
from comradarr_bus import Bus, Delivery
from comradarr_connectors import Connector, create_connector
from comradarr_crypto import SecretBox
from comradarr_proto import RequestSweep
from comradarr_runtime import ServiceContext
from comradarr_settings import CoreSettings, load_settings
from comradarr_sync.config import SyncConfig
from comradarr_sync.engine import RequestCounter
from comradarr_sync.service import SyncService

SECRET = "test-secret-key-that-is-long-enough-0123456789"
API_KEY = "sim-api-key-0000000000000000000000"


def sim_for(flavor: Flavor = Flavor.SONARR_V3, **spec: Any) -> Simulator:
    """A simulator whose clock starts at the library's reference time."""
    return Simulator(flavor=flavor, api_key=API_KEY, spec=LibrarySpec(**spec))


def asgi_factory(sim: Simulator) -> tuple[Any, Any]:
    """Client and counter factories that talk to sim in-process."""

    def counter(_c: Connector) -> RequestCounter:
        return RequestCounter(httpx.ASGITransport(app=sim.app))

    def client(connector: Connector, api_key: str, ctr: RequestCounter) -> ArrClient:
        config = ConnectorConfig(
            name=f"connector-{connector.id}-{uuid.uuid4().hex[:6]}",
            url="http://sim",
            api_key=api_key,
            retry=RetryPolicy(max_retries=1, base_delay=0.01, max_delay=0.02),
        )
        return ArrClient(config, transport=ctr)

    return client, counter


@dataclass
class Harness:
    """A sync service wired to one simulator and one connector."""

    pool: asyncpg.Pool
    bus: Bus
    sim: Simulator
    connector_id: int
    service: SyncService
    published: list[Any] = field(default_factory=list)

    async def sweep(
        self,
        mode: str = "incremental",
        *,
        message_id: str | None = None,
        attempt: int = 1,
        requested_by: str = "scheduler",
    ) -> asyncpg.Record:
        """Handle one sweep command directly and return its sync_runs row."""
        mid = message_id or uuid.uuid4().hex
        msg = RequestSweep(
            message_id=mid,
            connector_id=self.connector_id,
            sync_mode=mode,  # type: ignore[arg-type]
            requested_by=requested_by,
        )
        delivery = Delivery(
            consumer="sync-sweep", subject="test", message_id=mid, attempt=attempt, pool=self.pool
        )
        await self.service.handle(msg, delivery)
        row = await self.pool.fetchrow("SELECT * FROM sync_runs WHERE message_id = $1", mid)
        assert row is not None
        return row


def settings_for(prefix: str) -> CoreSettings:
    """Core settings for a test's own bus prefix."""
    return load_settings(CoreSettings, COMRADARR_BUS_PREFIX=prefix)


async def make_harness(
    pool: asyncpg.Pool,
    bus: Bus,
    sim: Simulator,
    *,
    config: SyncConfig | None = None,
    connector_type: str = "sonarr",
    name: str = "tv",
) -> Harness:
    """Create the connector row and a sync service talking to sim."""
    async with pool.acquire() as conn:
        connector = await create_connector(
            conn,
            box=SecretBox(SECRET),
            type=connector_type,  # type: ignore[arg-type]
            name=name,
            url="http://sim",
            api_key=API_KEY,
        )
    ctx = ServiceContext(
        name="sync", settings=settings_for(bus.prefix), pool=pool, bus=bus, secret_key=SECRET
    )
    client, counter = asgi_factory(sim)
    service = SyncService(
        ctx=ctx,
        config=config or SyncConfig(progress_interval_seconds=0.0, batch_rows=500),
        client_factory=client,
        counter_factory=counter,
    )
    return Harness(pool=pool, bus=bus, sim=sim, connector_id=connector.id, service=service)


async def mirror_episodes(pool: asyncpg.Pool, cid: int) -> dict[int, tuple[Any, ...]]:
    """Episode arr id → (series, season, has_file, monitored, cutoff unmet, quality id,
    format score)."""
    rows = await pool.fetch(
        "SELECT arr_id, series_arr_id, season_number, has_file, monitored,"
        " quality_cutoff_not_met, (SELECT (q.model->'quality'->>'id')::int FROM qualities q"
        " WHERE q.id = quality_id) AS q, custom_format_score"
        " FROM episodes WHERE connector_id = $1",
        cid,
    )
    return {r["arr_id"]: tuple(r.values())[1:] for r in rows}


def sim_episodes(sim: Simulator) -> dict[int, tuple[Any, ...]]:
    """The same view of the simulator's library."""
    lib = sim.library
    out: dict[int, tuple[Any, ...]] = {}
    for e in lib.episodes.values():
        f = lib.files.get(e.file_id) if e.file_id is not None else None
        out[e.id] = (
            e.series_id,
            e.season_number,
            f is not None,
            e.monitored,
            bool(f and f.cutoff_not_met),
            f.quality.id if f else None,
            f.format_score if f else None,
        )
    return out


async def assert_series_mirror_matches(pool: asyncpg.Pool, cid: int, sim: Simulator) -> None:
    """Series and episodes in the mirror equal the simulator's library."""
    series = await pool.fetch(
        "SELECT arr_id, monitored, title FROM series WHERE connector_id = $1", cid
    )
    assert {r["arr_id"]: (r["monitored"], r["title"]) for r in series} == {
        s.id: (s.monitored, s.title) for s in sim.library.series.values()
    }
    assert await mirror_episodes(pool, cid) == sim_episodes(sim)
    await assert_profiles_match(pool, cid, sim)


async def assert_profiles_match(pool: asyncpg.Pool, cid: int, sim: Simulator) -> None:
    """The mirror's quality profiles equal the simulator's."""
    rows = await pool.fetch(
        "SELECT arr_id, upgrade_allowed, cutoff, cutoff_format_score FROM quality_profiles"
        " WHERE connector_id = $1",
        cid,
    )
    assert {r["arr_id"]: tuple(r.values())[1:] for r in rows} == {
        p.id: (p.upgrade_allowed, p.cutoff, p.cutoff_format_score)
        for p in sim.library.profiles.values()
    }


async def assert_movie_mirror_matches(pool: asyncpg.Pool, cid: int, sim: Simulator) -> None:
    """Movies in the mirror equal the simulator's library."""
    rows = await pool.fetch(
        "SELECT arr_id, has_file, monitored, quality_cutoff_not_met,"
        " (SELECT (q.model->'quality'->>'id')::int FROM qualities q WHERE q.id = quality_id)"
        " AS q, custom_format_score FROM movies WHERE connector_id = $1",
        cid,
    )
    lib = sim.library
    want = {}
    for m in lib.movies.values():
        f = lib.files.get(m.file_id) if m.file_id is not None else None
        want[m.id] = (
            f is not None,
            m.monitored,
            bool(f and f.cutoff_not_met),
            f.quality.id if f else None,
            f.format_score if f else None,
        )
    assert {r["arr_id"]: tuple(r.values())[1:] for r in rows} == want
    await assert_profiles_match(pool, cid, sim)
