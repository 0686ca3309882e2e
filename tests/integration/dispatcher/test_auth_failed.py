"""A 401 from the app while dispatching: the connector's own status (auth_failed), nothing
more is sent, an event is announced, and the notifier's text asks to re-enter the key."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from comradarr_arrsim import Fault
from comradarr_bus import Bus
from comradarr_notifier.texts import render
from comradarr_proto import ConnectorHealthChanged
from dispatch_support import (
    add_connector,
    fast_profile,
    make_engine,
    mirror_series,
    posted_commands,
    queue_episodes,
    running,
    sim_for,
)

from tests.support import wait_for

pytestmark = pytest.mark.integration


async def test_a_refused_key_stops_dispatching_and_is_announced(
    pool: asyncpg.Pool, bus: Bus
) -> None:
    sim = sim_for(series=3, seasons=1, episodes_per_season=4, missing_share=1.0)
    cid = await add_connector(pool, profile=fast_profile(batch_size=2))
    await mirror_series(pool, cid, sim)
    await queue_episodes(pool, cid, sorted(sim.library.episodes)[:8])
    heard: list[ConnectorHealthChanged] = []

    async def on_health(msg: ConnectorHealthChanged) -> None:
        heard.append(msg)

    await bus.listen(ConnectorHealthChanged, on_health)
    sim.add_fault(Fault(kind="status", status=401, path="/command"))
    engine = make_engine(pool, bus, sim)
    async with running(engine):
        await wait_for(
            lambda: pool.fetchval(
                "SELECT health_status = 'auth_failed' FROM connectors WHERE id = $1", cid
            ),
            timeout=10,
        )
        await asyncio.sleep(1.0)  # more rounds: nothing further goes out
    sent = posted_commands(sim)
    assert len(sent) == 1 and sent[0]["_status"] == 401
    # The claimed items went back to the queue; no attempt was counted against them.
    rows = await pool.fetch(
        "SELECT state, attempts FROM search_registry WHERE connector_id = $1", cid
    )
    assert {(r["state"], r["attempts"]) for r in rows} == {("pending", 0)}
    await wait_for(lambda: any(m.current == "auth_failed" for m in heard), timeout=5)
    (event,) = [m for m in heard if m.current == "auth_failed"]
    async with pool.acquire() as conn:
        (notice,) = await render(event, conn)
    assert notice.kind == "connector_auth_failed"
    assert "authentication failed" in notice.title and "Re-enter the API key" in notice.body
