"""Throughput and memory of the *arr client streaming a 200,000-episode Sonarr library.

The simulator runs in its own process (uvicorn on 127.0.0.1) so that tracemalloc sees
only the client's allocations. Prints one JSON line; run with
``uv run pytest -m benchmark -s tests/benchmarks``.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator

import httpx
import pytest
from comradarr_arr import ArrClient, ConnectorConfig

pytestmark = pytest.mark.benchmark

KEY = "benchmark-key"
SERIES, SEASONS, EPISODES = 2000, 10, 10
TOTAL = SERIES * SEASONS * EPISODES


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def sim_url() -> Iterator[str]:
    port = _free_port()
    argv = [
        sys.executable, "-m", "comradarr_arrsim", "--type", "sonarr", "--port", str(port),
        "--series", str(SERIES), "--seasons", str(SEASONS),
        "--episodes-per-season", str(EPISODES), "--specials", "0", "--airing-seasons", "0",
        "--prewarm",
    ]  # fmt: skip
    env = {**os.environ, "COMRADARR_ARRSIM_API_KEY": KEY}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/ping", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("simulator did not start")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def _stream_all(client: ArrClient, *, series_limit: int | None = None) -> int:
    ids = [s.id async for s in client.series()]
    count = 0
    for series_id in ids[:series_limit]:
        async for _episode in client.episodes(series_id=series_id):
            count += 1
    return count


async def _timed(url: str, *, series_limit: int | None = None) -> tuple[int, float]:
    config = ConnectorConfig(name="bench", url=url, api_key=KEY, timeout=120)
    async with ArrClient(config) as client:
        await client.api_info()
        start = time.perf_counter()
        count = await _stream_all(client, series_limit=series_limit)
        return count, time.perf_counter() - start


async def _served(url: str) -> tuple[int, float]:
    # The simulator alone: every episode list fetched and read, nothing parsed.
    async with httpx.AsyncClient(base_url=url, headers={"X-Api-Key": KEY}) as http:
        start = time.perf_counter()
        size = 0
        for series_id in range(1, SERIES + 1):
            params = {"seriesId": series_id, "includeEpisodeFile": "true"}
            size += len((await http.get("/api/v3/episode", params=params)).content)
        return size, time.perf_counter() - start


async def _peak(url: str, *, series_limit: int | None) -> tuple[int, int]:
    config = ConnectorConfig(name="bench-mem", url=url, api_key=KEY, timeout=120)
    async with ArrClient(config) as client:
        await client.api_info()
        tracemalloc.start()
        try:
            count = await _stream_all(client, series_limit=series_limit)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return count, peak


async def _wanted(url: str) -> tuple[int, float]:
    config = ConnectorConfig(name="bench-wanted", url=url, api_key=KEY, timeout=120)
    async with ArrClient(config) as client:
        await client.api_info()
        start = time.perf_counter()
        count = sum([1 async for _ in client.missing_episodes()])
        return count, time.perf_counter() - start


# Several passes over 200,000 episodes on a 2-core machine: more than the default limit.
@pytest.mark.timeout(900)
def test_episode_streaming_throughput_and_flat_memory(sim_url: str) -> None:
    served_bytes, served_s = asyncio.run(_served(sim_url))
    count, seconds = asyncio.run(_timed(sim_url))
    assert count == TOTAL
    tenth_count, tenth_peak = asyncio.run(_peak(sim_url, series_limit=SERIES // 10))
    full_count, full_peak = asyncio.run(_peak(sim_url, series_limit=None))
    assert full_count == TOTAL and tenth_count == TOTAL // 10
    wanted_count, wanted_s = asyncio.run(_wanted(sim_url))
    result = {
        "benchmark": "arr_throughput",
        "episodes": TOTAL,
        "records_per_s": round(count / seconds),
        "seconds": round(seconds, 2),
        "simulator_records_per_s": round(TOTAL / served_s),
        "simulator_mib_per_s": round(served_bytes / served_s / 2**20, 1),
        "peak_kib_first_10pct": round(tenth_peak / 1024),
        "peak_kib_all": round(full_peak / 1024),
        "wanted_missing_records": wanted_count,
        "wanted_missing_records_per_s": round(wanted_count / wanted_s),
    }
    print(json.dumps(result))
    # Streaming: ten times the records must not need anywhere near ten times the memory.
    assert full_peak < tenth_peak * 2
    # The simulator must not be what limits the client.
    assert TOTAL / served_s > count / seconds
