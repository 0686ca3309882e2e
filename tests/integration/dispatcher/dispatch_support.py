"""Helpers for dispatcher tests: simulators, mirror rows from a simulator, engines."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time
from typing import Any

import asyncpg
import httpx
from comradarr_arr import ArrClient, ConnectorConfig, RetryPolicy
from comradarr_arrsim import Behaviour, Flavor, LibrarySpec, Simulator
from comradarr_bus import Bus
from comradarr_connectors import Connector, create_connector
from comradarr_crypto import SecretBox
from comradarr_dispatcher.config import DispatcherConfig
from comradarr_dispatcher.engine import Dispatcher
from comradarr_throttle import MODERATE, ThrottleProfile, create_profile

SECRET = "test-secret-key-that-is-long-enough-0123456789"
API_KEY = "sim-api-key-0000000000000000000000"
FAST = Behaviour(
    command_queue_delay=0.01, command_duration=0.02, import_delay=0.05, find_probability=0.0
)


def sim_for(
    flavor: Flavor = Flavor.SONARR_V3, *, behaviour: Behaviour | None = None, **spec: Any
) -> Simulator:
    """A simulator with quick commands (nothing found unless the behaviour says so)."""
    return Simulator(
        flavor=flavor,
        api_key=API_KEY,
        spec=LibrarySpec(**spec),
        behaviour=behaviour or dataclasses.replace(FAST),
    )


def fast_profile(**changes: Any) -> ThrottleProfile:
    """Moderate with test-sized numbers: high rate, short cooldowns."""
    base = dataclasses.replace(
        MODERATE,
        name=f"test-{uuid.uuid4().hex[:6]}",
        requests_per_minute=600,
        cooldown_base_seconds=60,
        cooldown_max_seconds=600,
        max_concurrent_per_connector=4,
        max_concurrent_per_series=1,
        rate_limit_cooldown_seconds=30,
        budget_reset_time=time(0, 0),
        is_preset=False,
        is_default=False,
    )
    return dataclasses.replace(base, **changes)


async def add_connector(
    pool: asyncpg.Pool,
    *,
    profile: ThrottleProfile | None = None,
    type: str = "sonarr",
    name: str | None = None,
) -> int:
    """A connector row (with its own profile when given)."""
    async with pool.acquire() as conn:
        profile_id = None
        if profile is not None:
            profile_id = (await create_profile(conn, profile=profile)).id
        connector = await create_connector(
            conn,
            box=SecretBox(SECRET),
            type=type,  # type: ignore[arg-type]
            name=name or f"c-{uuid.uuid4().hex[:6]}",
            url="http://sim",
            api_key=API_KEY,
            throttle_profile_id=profile_id,
        )
    return connector.id


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


async def mirror_series(pool: asyncpg.Pool, connector_id: int, sim: Simulator) -> None:
    """Series, seasons and episodes rows as a sync would write them (the parts we read)."""
    lib = sim.library
    now = sim.clock.now()
    await pool.executemany(
        "INSERT INTO series (connector_id, arr_id, title, monitored) VALUES ($1, $2, $3, true)",
        [(connector_id, s.id, s.title) for s in lib.series.values()],
    )
    episodes = list(lib.episodes.values())
    await pool.executemany(
        "INSERT INTO episodes (connector_id, arr_id, series_arr_id, season_number,"
        " episode_number, air_date_utc, monitored, has_file)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [
            (
                connector_id,
                e.id,
                e.series_id,
                e.season_number,
                e.episode_number,
                _ts(e.air_date),
                e.monitored,
                e.file_id is not None,
            )
            for e in episodes
        ],
    )
    seasons: dict[tuple[int, int], list[Any]] = {}
    for e in episodes:
        seasons.setdefault((e.series_id, e.season_number), []).append(e)
    rows = []
    for (series_id, number), eps in seasons.items():
        aired = [e for e in eps if e.air_date is not None and e.air_date <= now]
        with_file = [e for e in eps if e.file_id is not None]
        rows.append(
            (
                connector_id,
                series_id,
                number,
                len(aired),
                len(with_file),
                len(eps),
                len(aired) == len(eps),
                0 < len(aired) < len(eps),
            )
        )
    await pool.executemany(
        "INSERT INTO seasons (connector_id, series_arr_id, season_number, episode_count,"
        " episode_file_count, total_episode_count, fully_aired, airing)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        rows,
    )


async def mirror_movies(pool: asyncpg.Pool, connector_id: int, sim: Simulator) -> None:
    """Movie rows for every movie of the simulator."""
    await pool.executemany(
        "INSERT INTO movies (connector_id, arr_id, title, monitored, has_file)"
        " VALUES ($1, $2, $3, true, $4)",
        [(connector_id, m.id, m.title, m.file_id is not None) for m in sim.library.movies.values()],
    )


async def queue_episodes(
    pool: asyncpg.Pool, connector_id: int, arr_ids_by_priority: list[int]
) -> dict[int, int]:
    """Registry entries for episodes, first id highest priority; returns arr id -> entry id."""
    out: dict[int, int] = {}
    for rank, arr_id in enumerate(arr_ids_by_priority):
        out[arr_id] = await pool.fetchval(
            "INSERT INTO search_registry (connector_id, content_type, episode_id, search_type,"
            " priority) SELECT $1, 'episode', id, 'gap', $3 FROM episodes"
            " WHERE connector_id = $1 AND arr_id = $2 RETURNING id",
            connector_id,
            arr_id,
            float(10_000 - rank),
        )
    return out


async def queue_movies(
    pool: asyncpg.Pool, connector_id: int, arr_ids_by_priority: list[int]
) -> dict[int, int]:
    """Registry entries for movies, first id highest priority."""
    out: dict[int, int] = {}
    for rank, arr_id in enumerate(arr_ids_by_priority):
        out[arr_id] = await pool.fetchval(
            "INSERT INTO search_registry (connector_id, content_type, movie_id, search_type,"
            " priority) SELECT $1, 'movie', id, 'gap', $3 FROM movies"
            " WHERE connector_id = $1 AND arr_id = $2 RETURNING id",
            connector_id,
            arr_id,
            float(10_000 - rank),
        )
    return out


class Switchable(httpx.AsyncBaseTransport):
    """An in-process transport that refuses connections while `offline` is set."""

    def __init__(self, sim: Simulator, offline: dict[str, bool]) -> None:
        self.inner = httpx.ASGITransport(app=sim.app)
        self.offline = offline

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.offline.get("on"):
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return await self.inner.handle_async_request(request)


def asgi_clients(sim: Simulator, offline: dict[str, bool] | None = None) -> Any:
    """A client factory talking to sim in-process, never retrying (the throttle does)."""
    switch = offline if offline is not None else {}

    def factory(connector: Connector, api_key: str) -> ArrClient:
        config = ConnectorConfig(
            name=f"connector-{connector.id}-{uuid.uuid4().hex[:6]}",
            url="http://sim",
            api_key=api_key,
            retry=RetryPolicy(max_retries=0),
        )
        return ArrClient(config, transport=Switchable(sim, switch))

    return factory


def make_engine(
    pool: asyncpg.Pool,
    bus: Bus,
    sim: Simulator,
    *,
    replica: str = "r1",
    offline: dict[str, bool] | None = None,
    **config: Any,
) -> Dispatcher:
    """A dispatcher on sim with test-sized timings."""
    cfg = DispatcherConfig(
        tick_seconds=0.2,
        poll_interval_seconds=0.02,
        judge_wait_seconds=0.05,
        lease_seconds=2.0,
        send_failure_delay_seconds=0.5,
        replica=replica,
        **config,
    )
    return Dispatcher(
        pool=pool, bus=bus, secret_key=SECRET, config=cfg, client_factory=asgi_clients(sim, offline)
    )


def posted_commands(sim: Simulator) -> list[dict[str, Any]]:
    """The search commands the simulator received, in order, with their bodies."""
    import json

    return [
        {**json.loads(r.body or "{}"), "_time": r.time, "_status": r.status}
        for r in sim.requests
        if r.method == "POST" and r.path.endswith("/command")
    ]


@contextlib.asynccontextmanager
async def running(*engines: Dispatcher) -> AsyncIterator[None]:
    """The engines dispatch meanwhile; stopped (and awaited) afterwards."""
    tasks = [asyncio.create_task(e.run()) for e in engines]
    try:
        yield
    finally:
        for e in engines:
            await e.stop(timeout=2)
        for t in tasks:
            await asyncio.wait_for(t, 5)
