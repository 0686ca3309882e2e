"""Every Search setting and every throttle-profile assignment, changed through the API while
the services run, is seen where it acts: at the simulated app (command spacing, batch shape,
season packs, which items are searched) or in the registry (attempts, priority parts,
entries) — without restarting anything."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from comradarr_arrsim import Behaviour, Flavor, LibrarySpec, Simulator, serve_in_thread
from comradarr_discovery.config import DiscoveryConfig
from comradarr_discovery.discover import run_discovery
from comradarr_runtime import Runner, load_service
from comradarr_settings import CoreSettings, load_settings

from tests.support import wait_for

from .conftest import Harness

pytestmark = pytest.mark.integration
KEY = "controls-api-key-000000000000000000000"
CLICK = "click-save-connector-1"
FAST = Behaviour(
    command_queue_delay=0.01, command_duration=0.02, import_delay=0.05, find_probability=0.0
)


@dataclass
class Sent:
    """A search command as the simulator received it."""

    at: float
    name: str
    ids: list[int]


@dataclass
class System:
    sim: Simulator
    url: str

    def commands(self, since: float = 0.0) -> list[Sent]:
        out = []
        for r in list(self.sim.requests):
            if r.method != "POST" or not r.path.endswith("/command") or r.status != 201:
                continue
            body = json.loads(r.body or "{}")
            ids = body.get("episodeIds") or body.get("movieIds") or []
            if body.get("name") == "SeasonSearch":
                ids = [
                    e.id
                    for e in self.sim.library.episodes.values()
                    if e.series_id == body["seriesId"] and e.season_number == body["seasonNumber"]
                ]
            if r.time >= since:
                out.append(Sent(at=r.time, name=str(body.get("name")), ids=list(ids)))
        return out

    def now(self) -> float:
        return self.sim.clock.now()

    def has_file(self, episode_id: int) -> bool:
        return self.sim.library.episodes[episode_id].file_id is not None


@pytest.fixture
async def system(
    harness: Harness,
    database_url: str,
    nats_url: str,
    bus_prefix: str,
    private_tmp: Path,
    request: pytest.FixtureRequest,
) -> AsyncIterator[System]:
    spec: dict[str, Any] = request.param
    sim = Simulator(
        flavor=Flavor.SONARR_V3,
        api_key=KEY,
        spec=LibrarySpec(
            movies=0, airing_seasons=0, unmonitored_share=0, specials=0, format_share=0, **spec
        ),
        behaviour=FAST,
    )
    server = serve_in_thread(sim)
    settings = load_settings(
        CoreSettings,
        COMRADARR_BUS_PREFIX=bus_prefix,
        COMRADARR_DATA_DIR=str(private_tmp / "runner"),
        COMRADARR_DB_POOL_MIN=1,
        COMRADARR_DB_POOL_MAX=6,
        COMRADARR_SHUTDOWN_TIMEOUT=5,
        SECRET_KEY=harness.ctx.secret_key,
    )
    runner = Runner(
        [load_service(n) for n in ("sync", "discovery", "dispatcher", "scheduler")],
        settings=settings,
        database_url=database_url,
        nats_url=nats_url,
        http_port=None,
        client_name="controls",
    )
    await runner.start()
    try:
        yield System(sim=sim, url=server.url)
    finally:
        await runner.stop()
        server.stop()


async def _profile(admin: httpx.AsyncClient, name: str, **values: Any) -> int:
    body = {
        "name": name,
        "cooldown_base_seconds": 60,
        "cooldown_max_seconds": 600,
        # Enough commands in flight that the spacing, not the polling, sets the pace.
        "max_concurrent_per_connector": 4,
        "daily_budget": 10_000,
        **values,
    }
    r = await admin.post("/api/v1/throttle-profiles", json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def _settings(admin: httpx.AsyncClient, **search: Any) -> None:
    r = await admin.patch("/api/v1/settings", json={"search": search})
    assert r.status_code == 200, r.text
    for key, value in search.items():
        got = r.json()["search"][key]
        assert got == value or (isinstance(value, dict) and value.items() <= got.items()), key


async def _connector(admin: httpx.AsyncClient, url: str, **fields: Any) -> int:
    body = {"type": "sonarr", "name": "TV", "url": url, "api_key": KEY, **fields}
    # The click's correlation id: its first sweep's commands carry it.
    r = await admin.post("/api/v1/connectors", json=body, headers={"X-Correlation-Id": CLICK})
    assert r.status_code == 201, r.text
    assert r.json()["first_sweep"] is not None, r.text
    return int(r.json()["id"])


def _gaps(cmds: list[Sent]) -> list[Sent]:
    return [c for c in cmds if c.name == "EpisodeSearch"]


@pytest.mark.parametrize(
    "system",
    [
        {
            "series": 8,
            "seasons": 2,
            "episodes_per_season": 10,
            "missing_share": 0.5,
            "cutoff_share": 0.0,
        }
    ],
    indirect=True,
)
async def test_profile_assignment_spaces_shapes_and_limits_searches(
    system: System, admin: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    # Packs only for wholly missing seasons: the batch shape is the profile's.
    await _settings(admin, season_pack_threshold=1.0)
    a = await _profile(admin, "A", requests_per_minute=30, batch_size=2, max_attempts=1)
    b = await _profile(admin, "B", requests_per_minute=40, batch_size=5, max_attempts=3)
    c = await _profile(admin, "C", requests_per_minute=120, batch_size=1, max_attempts=3)
    cid = await _connector(admin, system.url, throttle_profile_id=a)

    # Profile A: 30/min (one command every 2 s), 2 episodes per command, 1 attempt.
    await wait_for(lambda: len(_gaps(system.commands())) >= 3, timeout=60)
    under_a = _gaps(system.commands())[:3]
    assert all(len(s.ids) <= 2 for s in under_a) and any(len(s.ids) == 2 for s in under_a)
    every = system.commands()
    gaps_between = [y.at - x.at for x, y in itertools.pairwise(every)][:3]
    assert min(gaps_between) >= 2.0 * 0.95, gaps_between
    searched_a = [i for s in under_a for i in s.ids]
    # One id from the click to the *arr command: the request, its sweep, the commands.
    first = await pool.fetch("SELECT DISTINCT correlation_id FROM dispatch_commands")
    assert [f["correlation_id"] for f in first] == [CLICK]
    assert await pool.fetchval(
        "SELECT bool_and(correlation_id = $1) FROM sync_runs WHERE connector_id = $2", CLICK, cid
    )
    await wait_for(
        lambda: pool.fetchval(
            "SELECT count(*) = $2 FROM search_registry r JOIN episodes e ON e.id = r.episode_id"
            " WHERE r.connector_id = $1 AND e.arr_id = ANY ($3::int[])"
            " AND r.state = 'exhausted' AND r.attempts = 1",
            cid,
            len(searched_a),
            searched_a,
        ),
        timeout=20,
    )

    # Profile B attached: up to 5 per command, one each 1.5 s, entries not exhausted after one.
    r = await admin.patch(f"/api/v1/connectors/{cid}", json={"throttle_profile_id": b})
    assert r.status_code == 200, r.text
    switched = system.now() + 2.5  # what was claimed under A has gone out by then
    await wait_for(lambda: len(_gaps(system.commands(switched))) >= 3, timeout=30)
    under_b = _gaps(system.commands(switched))[:3]
    assert all(len(s.ids) <= 5 for s in under_b) and any(len(s.ids) > 2 for s in under_b)
    b_gaps = [y.at - x.at for x, y in itertools.pairwise(under_b)]
    assert min(b_gaps) >= 1.5 * 0.95 and max(b_gaps) < 2.0 * 0.95, b_gaps
    first_b = under_b[0].ids
    await wait_for(
        lambda: pool.fetchval(
            "SELECT bool_and(r.state = 'cooldown' AND r.attempts = 1)"
            " FROM search_registry r JOIN episodes e ON e.id = r.episode_id"
            " WHERE r.connector_id = $1 AND e.arr_id = ANY ($2::int[])",
            cid,
            first_b,
        ),
        timeout=20,
    )

    # No profile of its own: the default applies, and a new default is followed at once.
    r = await admin.patch(f"/api/v1/connectors/{cid}", json={"throttle_profile_id": None})
    assert r.status_code == 200 and r.json()["throttle_profile_id"] is None
    r = await admin.put("/api/v1/throttle-profiles/default", json={"profile_id": c})
    assert r.status_code == 200, r.text
    switched = system.now() + 2.0
    await wait_for(lambda: len(_gaps(system.commands(switched))) >= 3, timeout=30)
    assert {len(s.ids) for s in _gaps(system.commands(switched))} == {1}


@pytest.mark.parametrize(
    "system",
    [
        {
            "series": 3,
            "seasons": 2,
            "episodes_per_season": 6,
            "missing_share": 0.35,
            "cutoff_share": 0.4,
        }
    ],
    indirect=True,
)
async def test_each_search_setting_takes_effect_while_running(
    system: System, admin: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    # Short cooldowns: every entry is searched again every few seconds, so the stream of
    # commands shows what the settings say now.
    fast = await _profile(
        admin,
        "Fast",
        requests_per_minute=600,
        batch_size=10,
        max_attempts=100,
        cooldown_base_seconds=1,
        cooldown_factor=1,
        cooldown_max_seconds=1,
    )
    await _settings(admin, search_upgrades=False, season_pack_threshold=1.0)
    cid = await _connector(admin, system.url, throttle_profile_id=fast)

    # Upgrades off: discovery queues gaps only, and only missing episodes are searched.
    await wait_for(lambda: len(_gaps(system.commands())) >= 3, timeout=60)
    kinds = await pool.fetch(
        "SELECT DISTINCT search_type FROM search_registry WHERE connector_id = $1", cid
    )
    assert [k["search_type"] for k in kinds] == ["gap"]
    assert not any(system.has_file(i) for s in system.commands() for i in s.ids)
    assert "SeasonSearch" not in {s.name for s in system.commands()}

    # Season-pack threshold 0: the dispatcher packs every fully aired season from now on.
    await _settings(admin, season_pack_threshold=0.0)
    t = system.now() + 1.0
    await wait_for(lambda: any(s.name == "SeasonSearch" for s in system.commands(t)), timeout=20)
    await _settings(admin, season_pack_threshold=1.0)
    t = system.now() + 1.0
    await wait_for(lambda: len(_gaps(system.commands(t))) >= 2, timeout=20)
    assert "SeasonSearch" not in {s.name for s in system.commands(t)}

    # Upgrades on: the next sweep queues them and they are searched.
    await _settings(admin, search_upgrades=True)
    r = await admin.post(f"/api/v1/connectors/{cid}/sync", json={"mode": "incremental"})
    assert r.status_code == 202, r.text
    await wait_for(
        lambda: any(system.has_file(i) for s in system.commands() for i in s.ids), timeout=30
    )

    # Gaps off: nothing missing is sent any more, at once (no sweep needed).
    await _settings(admin, search_gaps=False)
    t = system.now() + 1.0
    await wait_for(lambda: len(system.commands(t)) >= 2, timeout=20)
    assert all(system.has_file(i) for s in system.commands(t) for i in s.ids)
    # The queue says why its gaps wait (the gateway asks the same setting).
    page = (await admin.get("/api/v1/queue", params={"search_type": "gap"})).json()
    waiting = [w["code"] for item in page["items"] for w in item["waiting"]]
    assert page["items"] and waiting.count("search_type_off") == len(page["items"])

    # Priority weights: every queue is re-scored when they change.
    await _settings(admin, priority_weights={"age": 0.0, "type": 77.0, "user": 10.0})

    async def rescored() -> bool:
        parts = await pool.fetch(
            "SELECT search_type, priority_parts FROM search_registry WHERE connector_id = $1",
            cid,
        )
        return bool(parts) and all(
            p["priority_parts"]["age"] == 0
            and p["priority_parts"]["type"] == (77.0 if p["search_type"] == "gap" else 0)
            for p in parts
        )

    await wait_for(rescored, timeout=20)
    entry = await pool.fetchval(
        "SELECT id FROM search_registry WHERE connector_id = $1 ORDER BY id LIMIT 1", cid
    )
    r = await admin.patch(f"/api/v1/queue/{entry}", json={"priority": 50})
    assert r.status_code == 200, r.text
    parts = await pool.fetchval("SELECT priority_parts FROM search_registry WHERE id = $1", entry)
    assert parts["user"] == 10.0 * 50 / 100

    # Air delay: a pass reads it. Episodes "aired" an hour ago are wanted with no delay and
    # not with a 24-hour one.
    missing = await pool.fetch(
        "SELECT id FROM episodes WHERE connector_id = $1 AND NOT has_file ORDER BY id LIMIT 3",
        cid,
    )
    ids = [m["id"] for m in missing]
    await pool.execute(
        "UPDATE episodes SET air_date_utc = now() - interval '1 hour' WHERE id = ANY ($1)", ids
    )

    async def wanted() -> int:
        async with pool.acquire() as conn, conn.transaction():
            await run_discovery(
                conn, connector_id=cid, now=datetime.now(UTC), config=DiscoveryConfig()
            )
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM search_registry WHERE episode_id = ANY ($1)", ids
                )
            )

    await _settings(admin, search_gaps=True, air_delay_hours=24.0)
    assert await wanted() == 0
    await _settings(admin, air_delay_hours=0.0)
    assert await wanted() == len(ids)
