"""Search history is the record of what was searched: a found item's entry goes (discovery
deletes it once the file is there) and its searches stay, naming their content; only
retention removes history."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from comradarr_arrsim import Flavor
from comradarr_bus import Bus
from comradarr_dispatcher.queue import prune_history
from dispatch_support import (
    FAST,
    add_connector,
    fast_profile,
    make_engine,
    mirror_movies,
    queue_movies,
    running,
    sim_for,
)

from tests.support import wait_for

pytestmark = pytest.mark.integration


async def test_found_entries_go_and_their_history_stays(pool: asyncpg.Pool, bus: Bus) -> None:
    sim = sim_for(
        Flavor.RADARR_V3,
        movies=12,
        missing_share=1.0,
        cutoff_share=0.0,
        behaviour=dataclasses.replace(FAST, find_probability=0.5),
    )
    cid = await add_connector(pool, type="radarr", profile=fast_profile(batch_size=7))
    await mirror_movies(pool, cid, sim)
    entries = await queue_movies(pool, cid, sim.wanted_ids(kind="missing")[:7])
    engine = make_engine(pool, bus, sim)
    async with running(engine):
        await wait_for(
            lambda: pool.fetchval(
                "SELECT count(*) = 7 FROM search_history WHERE ended_at IS NOT NULL"
            ),
            timeout=15,
        )
    found = await pool.fetch("SELECT registry_id FROM search_history WHERE outcome = 'found'")
    assert 0 < len(found) < 7, "the simulator finds about half"
    # What discovery does once a found item has its file: the entry is deleted.
    await pool.execute(
        "DELETE FROM search_registry WHERE id = ANY ($1::bigint[])",
        [f["registry_id"] for f in found],
    )
    rows = await pool.fetch(
        "SELECT h.registry_id, h.content_type, m.arr_id FROM search_history h"
        " JOIN movies m ON m.id = h.movie_id ORDER BY h.id"
    )
    assert len(rows) == 7, "every search is still recorded"
    assert {r["arr_id"] for r in rows} == set(entries)
    assert sum(r["registry_id"] is None for r in rows) == len(found)
    assert {r["content_type"] for r in rows} == {"movie"}
    # Retention alone removes history (folded into the daily counts first).
    async with pool.acquire() as conn:
        later = datetime.now(UTC) + timedelta(days=91)
        assert await prune_history(conn, retention_days=90, now=later) == 7
    assert await pool.fetchval("SELECT sum(count) FROM search_history_daily") == 7
