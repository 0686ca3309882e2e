"""Sync and discovery benchmark: prints one JSON object (make bench).

Simulators (Sonarr: 2,000 series / ~200,000 episodes; Radarr: 20,000 movies) run in their
own processes, so the peak RSS measured here is the sync side's own.

The full sync is measured in ROUNDS rounds, each into an empty mirror between two floors
(their mean is its floor), and the median round is reported (every round is listed under
"rounds"); "machine" times a fixed workload before and after (see _calibration.py).
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

API_KEY = "bench-api-key-00000000000000000000"
SECRET = "bench-secret-key-that-is-long-enough-0123456789"
SERIES, SEASONS, PER_SEASON, MOVIES = 2000, 5, 20, 20000
# Full syncs, each between two floors; the median round is reported. Single rounds of the
# same code read from 1.25 to 2.0 here (the machine's speed drifts between a sync and its
# floors), so the median needs this many to move by less than the changes it is used for.
ROUNDS = 9


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(flavor: str, port: int) -> None:
    """Run one simulator (with a /__bench/mutate hook) on uvicorn; used in a subprocess."""
    import uvicorn
    from comradarr_arrsim import Flavor, LibrarySpec, Simulator

    spec = LibrarySpec(
        series=SERIES, seasons=SEASONS, episodes_per_season=PER_SEASON, movies=MOVIES
    )
    sim = Simulator(flavor=Flavor(flavor), api_key=API_KEY, spec=spec)
    sim.prewarm()
    inner = sim.app

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/__bench/mutate":
            # Give one episode in each of N series a different file (1% of series changed).
            n = int(scope["query_string"].decode().split("=")[1])
            lib, rng = sim.library, random.Random(7)
            touched = []
            for sid in sorted(lib.series)[:: max(1, len(lib.series) // n)][:n]:
                eid = lib.series[sid].episode_ids[-1]
                lib.replace_file(eid, below_cutoff=True, rng=rng, when=sim.clock.now())
                touched.append(eid)
            sim.changed(episode_ids=touched)
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await inner(scope, receive, send)

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="critical", access_log=False)


def _start(flavor: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, flavor, str(port)], cwd=Path(__file__).resolve().parents[2]
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ping", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("simulator did not start")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.fixture
async def sims() -> AsyncIterator[tuple[dict[str, str], tuple[int, ...]]]:
    """Both simulators, started in parallel: their URLs by kind, and their pids."""
    started = await asyncio.gather(
        asyncio.to_thread(_start, "sonarr-v3"), asyncio.to_thread(_start, "radarr-v3")
    )
    try:
        yield (
            {"sonarr": started[0][1], "radarr": started[1][1]},
            tuple(proc.pid for proc, _ in started),
        )
    finally:
        for proc, _ in started:
            proc.terminate()
            proc.wait(timeout=10)


async def _floor(url: str) -> dict[str, Any]:
    """Fetch and parse the same requests a full sync makes, writing nothing."""
    from comradarr_arr import ArrClient, ConnectorConfig

    client = ArrClient(
        ConnectorConfig(name=f"floor-{uuid.uuid4().hex[:6]}", url=url, api_key=API_KEY)
    )
    start = time.perf_counter()
    items = 0
    async with client:
        info = await client.api_info()
        if info.shape.value == "movie":
            async for _ in client.movies():
                items += 1
        else:
            ids = []
            async for s in client.series():
                ids.append(s.id)
            items += len(ids)
            queue = iter(ids)

            async def worker() -> int:
                n = 0
                for sid in queue:
                    async for _ in client.episodes(series_id=sid):
                        n += 1
                return n

            items += sum(await asyncio.gather(*(worker() for _ in range(4))))
    return {"wall_s": round(time.perf_counter() - start, 2), "items": items}


async def test_sync_benchmark(
    pool: asyncpg.Pool,
    nats_url: str,
    bus_prefix: str,
    sims: tuple[dict[str, str], tuple[int, ...]],
) -> None:
    from comradarr_bus import Bus, Delivery
    from comradarr_connectors import create_connector
    from comradarr_crypto import SecretBox
    from comradarr_discovery.config import DiscoveryConfig
    from comradarr_discovery.discover import run_discovery
    from comradarr_mirror import SearchSettings
    from comradarr_proto import RequestSweep
    from comradarr_runtime import ServiceContext, freeze_heap, thaw_heap
    from comradarr_settings import CoreSettings, load_settings
    from comradarr_sync.config import SyncConfig
    from comradarr_sync.service import SyncService

    from tests.benchmarks._calibration import calibration_ms
    from tests.benchmarks._procstat import Snapshot

    urls, pids = sims

    bus = Bus(url=nats_url, prefix=bus_prefix, client_name="bench", pool=pool)
    await bus.connect()
    settings = load_settings(CoreSettings, COMRADARR_BUS_PREFIX=bus_prefix)
    ctx = ServiceContext(name="sync", settings=settings, pool=pool, bus=bus, secret_key=SECRET)
    service = SyncService(ctx=ctx, config=SyncConfig())
    # As a service's runner does once it is up: what lives now (here pytest's own objects
    # too) is no longer walked by full collections, in the syncs and the floors alike.
    freeze_heap()
    ids: dict[str, int] = {}

    async def connect(round_no: int) -> None:
        """Fresh connectors to both simulators: the next full sync starts from an empty mirror."""
        async with pool.acquire() as conn:
            for kind, url in urls.items():
                c = await create_connector(
                    conn,
                    box=SecretBox(SECRET),
                    type=kind,
                    name=f"{kind}-{round_no}",
                    url=url,
                    api_key=API_KEY,  # type: ignore[arg-type]
                )
                ids[kind] = c.id

    async def sweep(kind: str, mode: str) -> dict[str, Any]:
        mid = uuid.uuid4().hex
        msg = RequestSweep(message_id=mid, connector_id=ids[kind], sync_mode=mode)  # type: ignore[arg-type]
        start = time.perf_counter()
        await service.handle(msg, Delivery("sync-sweep", "bench", mid, 1, pool))
        wall = time.perf_counter() - start
        row = await pool.fetchrow("SELECT * FROM sync_runs WHERE message_id = $1", mid)
        assert row is not None and row["outcome"] == "success", row
        rows = row["inserted"] + row["updated"] + row["deleted"]
        return {
            "wall_s": round(wall, 2),
            "requests": row["requests_made"],
            "episode_requests": row["episode_requests"],
            "fetched": row["fetched"],
            "rows_written": rows,
            "rows_per_s": round(row["fetched"] / wall) if wall else None,
        }

    # This machine's speed drifts by tens of percent from one minute to the next, so one
    # full sync and one floor taken a minute apart give a ratio that says more about the
    # drift than about the sync. Each round's first full sync (fresh connectors, an empty
    # mirror) sits between two floors and is compared with their mean (a steady drift
    # cancels out); the ratio is the median round's.
    async def floor() -> dict[str, Any]:
        start = Snapshot.take(pids)
        tv, movies = await _floor(urls["sonarr"]), await _floor(urls["radarr"])
        return {
            "wall_s": round(tv["wall_s"] + movies["wall_s"], 2),
            "sonarr": tv,
            "radarr": movies,
            "cpu": Snapshot.take(pids).since(start),
        }

    calibration = [calibration_ms()]
    rss_before = _rss_mb()
    rounds: list[dict[str, Any]] = []
    before = await floor()
    for round_no in range(ROUNDS):
        if round_no:
            # Back to an empty mirror, its tables as fresh as the first round's.
            await pool.execute("TRUNCATE series, seasons, episodes, movies CASCADE")
            await pool.execute("DELETE FROM connectors")
        await connect(round_no)
        start = Snapshot.take(pids)
        full_tv = await sweep("sonarr", "full")
        full_movies = await sweep("radarr", "full")
        full_cpu = Snapshot.take(pids).since(start)
        after = await floor()
        full_wall = full_tv["wall_s"] + full_movies["wall_s"]
        floor_wall = (before["wall_s"] + after["wall_s"]) / 2
        rounds.append(
            {
                "full_s": round(full_wall, 2),
                "floor_s": round(floor_wall, 2),
                "ratio": round(full_wall / floor_wall, 3),
                "full": (full_tv, full_movies),
                "cpu": {
                    "full": full_cpu,
                    "floor_before": before["cpu"],
                    "floor_after": after["cpu"],
                },
                "floor": {"wall_s": round(floor_wall, 2), "before": before, "after": after},
            }
        )
        before = after
    rss_peak = _rss_mb()
    calibration.append(calibration_ms())
    median = sorted(rounds, key=lambda r: r["ratio"])[len(rounds) // 2]
    full_tv, full_movies = median["full"]
    unchanged_tv = await sweep("sonarr", "incremental")
    unchanged_movies = await sweep("radarr", "incremental")
    async with httpx.AsyncClient() as http:
        await http.post(f"{urls['sonarr']}/__bench/mutate?n={SERIES // 100}")
    changed_tv = await sweep("sonarr", "incremental")
    start = time.perf_counter()
    found: dict[str, Any] = {}
    # The simulators' clock starts at their reference time; discovery uses the same "now".
    now = datetime(2025, 6, 1, tzinfo=UTC)
    for kind, cid in ids.items():
        async with pool.acquire() as conn, conn.transaction():
            counts = await run_discovery(
                conn,
                connector_id=cid,
                now=now,
                config=DiscoveryConfig(),
                search=SearchSettings(air_delay_hours=0),
            )
        found[kind] = {"gaps": counts.gaps_found, "upgrades": counts.upgrades_found}
    discovery_wall = time.perf_counter() - start
    full_wall, floor_wall = median["full_s"], median["floor_s"]
    result = {
        "library": {"series": SERIES, "episodes": full_tv["fetched"] - SERIES, "movies": MOVIES},
        "full_sync": {
            "wall_s": round(full_wall, 2),
            "sonarr": full_tv,
            "radarr": full_movies,
            "peak_rss_mb": round(rss_peak, 1),
            "rss_before_mb": round(rss_before, 1),
            "requests": full_tv["requests"] + full_movies["requests"],
            "rows_per_s": round((full_tv["fetched"] + full_movies["fetched"]) / full_wall),
        },
        "floor_no_db": median["floor"],
        "ratio_full_to_floor": round(median["ratio"], 2),
        # The rounds' ratios at a quarter, half and three quarters (how far one run is from
        # the next).
        "ratio_quartiles": [
            sorted(r["ratio"] for r in rounds)[(len(rounds) - 1) * q // 4] for q in (1, 2, 3)
        ],
        # Where the median round's CPU went: this process (the sync or the floor's client),
        # PostgreSQL, the simulators, and what stayed idle; client_preempted counts the times
        # this process was switched out while it could still run.
        "cpu_s": median["cpu"],
        "rounds": [
            {"full_s": r["full_s"], "floor_s": r["floor_s"], "ratio": r["ratio"]} for r in rounds
        ],
        "incremental_unchanged": {
            "wall_s": round(unchanged_tv["wall_s"] + unchanged_movies["wall_s"], 2),
            "sonarr": unchanged_tv,
            "radarr": unchanged_movies,
        },
        "incremental_1pct_series_changed": changed_tv,
        "discovery": {"wall_s": round(discovery_wall, 2), "found": found},
        "machine": {"calibration_ms_before_after": calibration},
        "targets": {
            "full_s": 60,
            "rss_mb": 300,
            "ratio": 1.5,
            "unchanged_incremental_s": 3,
            "discovery_s": 10,
        },
    }
    print(json.dumps(result))
    thaw_heap()
    await bus.stop()
    assert unchanged_tv["episode_requests"] == 0


if __name__ == "__main__":
    _serve(sys.argv[1], int(sys.argv[2]))
