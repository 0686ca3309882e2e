"""A dispatcher killed after sending a command but before recording it (found by the
distributed chaos test): the replica that takes over asks the app, and polls the command
the app already has instead of sending the same search again."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest
from comradarr_arr import ArrClient, ConnectorConfig, RetryPolicy
from comradarr_arrsim import Simulator
from comradarr_bus import Bus
from comradarr_connectors import Connector
from comradarr_dispatcher.config import DispatcherConfig
from comradarr_dispatcher.engine import Dispatcher
from dispatch_support import (
    SECRET,
    add_connector,
    fast_profile,
    make_engine,
    mirror_series,
    posted_commands,
    queue_episodes,
    sim_for,
)

from tests.support import wait_for

pytestmark = pytest.mark.integration


class DiesAtSend(httpx.AsyncBaseTransport):
    """Forwards everything; a POST /command reaches the app (or not, deliver=False), and
    then the sender hangs forever, as a process killed before reading the answer."""

    def __init__(self, sim: Simulator, *, deliver: bool) -> None:
        self.inner = httpx.ASGITransport(app=sim.app)
        self.deliver = deliver

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/command"):
            if self.deliver:
                await self.inner.handle_async_request(request)
            await asyncio.Event().wait()
        return await self.inner.handle_async_request(request)


def doomed_engine(pool: asyncpg.Pool, bus: Bus, sim: Simulator, *, deliver: bool) -> Dispatcher:
    def factory(connector: Connector, api_key: str) -> ArrClient:
        config = ConnectorConfig(
            name=f"doomed-{uuid.uuid4().hex[:6]}",
            url="http://sim",
            api_key=api_key,
            retry=RetryPolicy(max_retries=0),
        )
        return ArrClient(config, transport=DiesAtSend(sim, deliver=deliver))

    cfg = DispatcherConfig(
        tick_seconds=0.2, poll_interval_seconds=0.02, lease_seconds=2.0, replica="doomed"
    )
    return Dispatcher(pool=pool, bus=bus, secret_key=SECRET, config=cfg, client_factory=factory)


async def _kill_while_sending(engine: Dispatcher, pool: asyncpg.Pool) -> None:
    task = asyncio.create_task(engine.run())
    await wait_for(
        lambda: pool.fetchval("SELECT count(*) FROM dispatch_commands WHERE status = 'sending'"),
        timeout=5,
    )
    await asyncio.sleep(0.2)  # the POST is on its way (or arrived)
    task.cancel()
    for t in list(engine._tasks):
        t.cancel()
    await asyncio.gather(task, *engine._tasks, return_exceptions=True)


async def _settled(pool: asyncpg.Pool, ids: list[int]) -> bool:
    rows = await pool.fetch("SELECT state FROM search_registry WHERE id = ANY ($1::bigint[])", ids)
    return all(r["state"] in ("cooldown", "exhausted") for r in rows)


@pytest.mark.parametrize("delivered", [True, False], ids=["app-got-it", "never-arrived"])
async def test_orphaned_send_is_adopted_not_sent_twice(
    pool: asyncpg.Pool, bus: Bus, delivered: bool
) -> None:
    sim = sim_for(series=2, seasons=1, episodes_per_season=3, missing_share=0.0)
    cid = await add_connector(pool, profile=fast_profile())
    await mirror_series(pool, cid, sim)
    eps = sorted(sim.library.episodes)[:3]
    entries = await queue_episodes(pool, cid, eps)
    await _kill_while_sending(doomed_engine(pool, bus, sim, deliver=delivered), pool)
    assert len(posted_commands(sim)) == (1 if delivered else 0)
    survivor = make_engine(pool, bus, sim, replica="survivor")
    task = asyncio.create_task(survivor.run())
    try:
        await wait_for(lambda: _settled(pool, list(entries.values())), timeout=20)
    finally:
        await survivor.stop(timeout=2)
        await asyncio.wait_for(task, 5)
    posted = posted_commands(sim)
    assert len(posted) == 1, posted  # the items were searched exactly once
    assert sorted(posted[0]["episodeIds"]) == sorted(eps)
    rows = await pool.fetch("SELECT status, owner, command_id FROM dispatch_commands ORDER BY id")
    if delivered:  # adopted: the first dispatch row is polled to its end by the survivor
        assert [(r["status"], r["owner"]) for r in rows] == [("done", "survivor")]
        assert rows[0]["command_id"] is not None
    else:  # never arrived: released, then sent by the survivor
        assert [r["status"] for r in rows] == ["abandoned", "done"]
