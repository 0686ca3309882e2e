"""A grab the app reports by webhook while the search still runs: found now, and still found
when the command ends without the history poll seeing it; announced once."""

from __future__ import annotations

import asyncio
import dataclasses

import asyncpg
import pytest
from comradarr_bus import Bus, Subscription
from comradarr_dispatcher.webhooks import record_found
from comradarr_proto import ArrWebhookReceived, SearchFound
from dispatch_support import (
    FAST,
    add_connector,
    fast_profile,
    make_engine,
    mirror_series,
    queue_episodes,
    sim_for,
)

from tests.support import wait_for

pytestmark = pytest.mark.integration


async def test_webhook_found_survives_the_commands_own_outcome(
    pool: asyncpg.Pool, bus: Bus
) -> None:
    # Commands run for 1.5 s and the app's history never shows a grab.
    sim = sim_for(
        series=2,
        seasons=1,
        episodes_per_season=3,
        missing_share=0.0,
        behaviour=dataclasses.replace(FAST, command_duration=1.5, find_probability=0.0),
    )
    cid = await add_connector(pool, profile=fast_profile(batch_size=2))
    await mirror_series(pool, cid, sim)
    eps = sorted(sim.library.episodes)[:2]
    entries = await queue_episodes(pool, cid, eps)
    found_events: list[SearchFound] = []

    async def seen(msg: SearchFound, _d: object) -> None:
        found_events.append(msg)

    await bus.subscribe(Subscription(SearchFound, durable="t-found", handler=seen))
    engine = make_engine(pool, bus, sim)
    task = asyncio.create_task(engine.run())
    try:
        await wait_for(
            lambda: pool.fetchval(
                "SELECT count(*) FROM search_history WHERE outcome = 'dispatched'"
            ),
            timeout=10,
        )
        report = ArrWebhookReceived(
            connector_id=cid, event_type="grab", raw_event_type="Grab", episode_arr_ids=[eps[0]]
        )
        async with pool.acquire() as conn, conn.transaction():
            marked = await record_found(conn, msg=report, message_id="m1", now=engine.clock())
        assert marked == [entries[eps[0]]]
        assert (
            await pool.fetchval(
                "SELECT outcome FROM search_history WHERE registry_id = $1", entries[eps[0]]
            )
            == "found"
        )

        async def finished() -> bool:
            return bool(
                await pool.fetchval(
                    "SELECT bool_and(state = 'cooldown') FROM search_registry"
                    " WHERE id = ANY ($1::bigint[])",
                    list(entries.values()),
                )
            )

        await wait_for(finished, timeout=15)
    finally:
        await engine.stop(timeout=2)
        await asyncio.wait_for(task, 5)
    rows = {
        r["registry_id"]: (r["outcome"], r["attempts"])
        for r in await pool.fetch(
            "SELECT h.registry_id, h.outcome, r.attempts FROM search_history h"
            " JOIN search_registry r ON r.id = h.registry_id"
        )
    }
    assert rows == {entries[eps[0]]: ("found", 0), entries[eps[1]]: ("not_found", 1)}
    await asyncio.sleep(0.5)
    # The command's outcome does not announce the webhook's find again.
    assert all(entries[eps[0]] not in e.registry_ids for e in found_events)
