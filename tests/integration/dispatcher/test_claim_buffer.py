"""Claims served from the in-memory buffer of a look: order, freshness, other replicas, limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from comradarr_bus import Bus
from comradarr_dispatcher.config import DispatcherConfig
from comradarr_dispatcher.engine import Dispatcher
from dispatch_support import SECRET, add_connector, fast_profile, mirror_series, sim_for

pytestmark = pytest.mark.integration

SLOT = timedelta(seconds=0.25)  # at 600 rpm a slot is due every 0.1 s (plus a margin)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def setup(pool: asyncpg.Pool, *, entries: int, **profile: int) -> tuple[int, list[int]]:
    """A connector with `entries` series of queued episodes; the entry ids, best first."""
    sim = sim_for(series=entries, seasons=1, episodes_per_season=1, missing_share=0.0)
    cid = await add_connector(
        pool,
        profile=fast_profile(
            requests_per_minute=600,
            batch_size=1,
            **{"max_concurrent_per_connector": 50, "max_concurrent_per_series": 50, **profile},
        ),
    )
    await mirror_series(pool, cid, sim)
    await pool.execute(
        "INSERT INTO search_registry (connector_id, content_type, episode_id, search_type,"
        " priority, next_eligible_at) SELECT connector_id, 'episode', id, 'upgrade',"
        " 1000 - arr_id, now() - interval '1 hour' FROM episodes WHERE connector_id = $1",
        cid,
    )
    ids = await pool.fetch(
        "SELECT id FROM search_registry WHERE connector_id = $1 ORDER BY priority DESC", cid
    )
    return cid, [r["id"] for r in ids]


def engine(pool: asyncpg.Pool, bus: Bus, clock: Clock, replica: str) -> Dispatcher:
    return Dispatcher(
        pool=pool,
        bus=bus,
        secret_key=SECRET,
        config=DispatcherConfig(replica=replica, buffer_max_age_seconds=1.0),
        clock=clock,
    )


async def claim(d: Dispatcher, cid: int, clock: Clock) -> list[int]:
    """Move to the next slot and claim; the registry ids claimed."""
    clock.now += SLOT
    result = await d.claim(connector_id=cid)
    assert result.claimed is not None, result.reason
    return result.claimed.registry_ids


async def add_best_entry(pool: asyncpg.Pool, cid: int) -> int:
    """Requeue the lowest-ranked entry with the highest priority of all, behind the
    engine's back (as the gateway or another replica's discovery would)."""
    entry_id: int = await pool.fetchval(
        "UPDATE search_registry SET priority = 5000 WHERE id = (SELECT id FROM search_registry"
        " WHERE connector_id = $1 AND state = 'pending' ORDER BY priority LIMIT 1)"
        " RETURNING id",
        cid,
    )
    return entry_id


async def test_claims_follow_the_look_until_it_ages_or_a_wake_up(
    pool: asyncpg.Pool, bus: Bus
) -> None:
    cid, ids = await setup(pool, entries=12)
    clock = Clock()
    d = engine(pool, bus, clock, "a")
    assert await claim(d, cid, clock) == [ids[0]]
    best = await add_best_entry(pool, cid)
    # Within the buffer's age the look's order stands: the change is not yet seen.
    assert await claim(d, cid, clock) == [ids[1]]
    d.wake()  # e.g. items queued: the next claim reads the queue again
    assert await claim(d, cid, clock) == [best]
    again = await add_best_entry(pool, cid)
    assert await claim(d, cid, clock) == [ids[2]]
    clock.now += timedelta(seconds=1)  # aged out
    assert await claim(d, cid, clock) == [again]


async def test_another_replicas_claim_sends_the_next_claim_to_a_new_look(
    pool: asyncpg.Pool, bus: Bus
) -> None:
    cid, ids = await setup(pool, entries=8)
    clock = Clock()
    a = engine(pool, bus, clock, "a")
    b = engine(pool, bus, clock, "b")
    first = await claim(a, cid, clock)
    second = await claim(b, cid, clock)
    # a's buffer still holds b's entry and counters b has since changed: its
    # compare-and-set fails, nothing is written, and a new look finds the next entry.
    third = await claim(a, cid, clock)
    assert (first, second, third) == ([ids[0]], [ids[1]], [ids[2]])
    rows = await pool.fetch(
        "SELECT registry_ids, owner FROM dispatch_commands WHERE connector_id = $1 ORDER BY id",
        cid,
    )
    assert [(list(r["registry_ids"]), r["owner"]) for r in rows] == [
        ([ids[0]], "a"),
        ([ids[1]], "b"),
        ([ids[2]], "a"),
    ]
    used = await pool.fetchval(
        "SELECT window_used FROM throttle_state WHERE connector_id = $1", cid
    )
    assert used == 3


async def test_buffer_never_claims_past_the_concurrency_limit(pool: asyncpg.Pool, bus: Bus) -> None:
    cid, ids = await setup(pool, entries=6, max_concurrent_per_connector=2)
    clock = Clock()
    d = engine(pool, bus, clock, "a")
    assert await claim(d, cid, clock) == [ids[0]]
    assert await claim(d, cid, clock) == [ids[1]]
    clock.now += SLOT
    held = await d.claim(connector_id=cid)
    assert held.claimed is None
    assert held.reason is not None and "in flight" in held.reason
    # One command ends: the buffer still counts it, so a new look decides.
    await pool.execute(
        "UPDATE dispatch_commands SET status = 'done' WHERE connector_id = $1 AND $2 = ANY"
        " (registry_ids)",
        cid,
        ids[0],
    )
    assert await claim(d, cid, clock) == [ids[2]]
    in_flight = await pool.fetchval(
        "SELECT count(*) FROM dispatch_commands WHERE connector_id = $1"
        " AND status IN ('sending', 'searching')",
        cid,
    )
    assert in_flight == 2
