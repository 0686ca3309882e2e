"""Prowlarr indexer health against the Prowlarr simulator: states, events, staleness."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from comradarr_arrsim import Flavor, LibrarySpec, ManualClock, Simulator, serve_in_thread
from comradarr_bus import Bus
from comradarr_connectors import create_connector
from comradarr_crypto import SecretBox
from comradarr_proto import Event, IndexerFailing, IndexerRateLimited, IndexerRecovered
from comradarr_runtime import ServiceContext
from comradarr_scheduler.indexers import IndexerPoller
from comradarr_scheduler.service import default_health_client
from comradarr_settings import CoreSettings, load_settings

from tests.support import wait_for

pytestmark = pytest.mark.integration
SECRET = "test-secret-key-that-is-long-enough-0123456789"
KEY = "prowlarr-key-0123456789abcdef"


@pytest.fixture
async def ctx(pool: asyncpg.Pool, nats_url: str, bus_prefix: str) -> AsyncIterator[ServiceContext]:
    bus = Bus(url=nats_url, prefix=bus_prefix, client_name="indexer-test", pool=pool)
    await bus.connect()
    try:
        yield ServiceContext(
            name="scheduler",
            settings=load_settings(CoreSettings, COMRADARR_BUS_PREFIX=bus_prefix),
            pool=pool,
            bus=bus,
            secret_key=SECRET,
        )
    finally:
        await bus.stop(timeout=1)


async def _states(pool: asyncpg.Pool) -> dict[str, tuple[str, datetime | None, str | None]]:
    rows = await pool.fetch("SELECT name, state, disabled_till, message FROM prowlarr_indexers")
    return {r["name"]: (r["state"], r["disabled_till"], r["message"]) for r in rows}


async def test_indexer_states_events_and_staleness(ctx: ServiceContext, pool: asyncpg.Pool) -> None:
    clock = ManualClock(start=time.time())
    sim = Simulator(
        flavor=Flavor.PROWLARR_V1,
        api_key=KEY,
        spec=LibrarySpec(indexers=5, reference_time=clock.now()),
        clock=clock,
    )
    seen: list[Event] = []

    async def record(event: Event) -> None:
        seen.append(event)

    for model in (IndexerRateLimited, IndexerFailing, IndexerRecovered):
        await ctx.bus.listen(model, record)  # type: ignore[arg-type]
    server = serve_in_thread(sim)
    try:
        async with pool.acquire() as conn:
            prowlarr = await create_connector(
                conn, box=SecretBox(SECRET), type="prowlarr", name="Prowlarr",
                url=server.url, api_key=KEY,
            )  # fmt: skip
        poller = IndexerPoller(
            ctx=ctx,
            client_factory=default_health_client,
            clock=lambda: datetime.fromtimestamp(clock.now(), UTC),
            interval_seconds=300,
        )
        # disabledTill in the future (indexer 3, from the library; 2 now), in the past (1).
        sim.set_indexer(1, disabled_for=-120, failed_ago=900)
        sim.set_indexer(2, disabled_for=1800, message="Query limit of 100 reached")
        sim.set_indexer(5, enable=False)
        assert await poller.poll_due() == 1
        states = await _states(pool)
        assert states["NZBgeek"][0] == "failing"
        assert states["NZBgeek"][2] is not None and states["NZBgeek"][2].startswith("last failed")
        assert states["DrunkenSlug"][0] == "rate_limited"
        assert states["DrunkenSlug"][2] == "Query limit of 100 reached"
        assert states["DrunkenSlug"][1] is not None
        assert states["DrunkenSlug"][1].timestamp() == pytest.approx(clock.now() + 1800, abs=1)
        assert states["1337x"][0] == "rate_limited"
        assert states["1337x"][2] is not None and "1337x" in states["1337x"][2]
        assert states["TorrentLeech"][0] == "healthy"
        assert states["NZBFinder"][0] == "disabled"
        stats = await pool.fetchrow(
            "SELECT queries, grabs, failed_queries FROM prowlarr_indexers WHERE indexer_id = 1"
        )
        assert stats["queries"] > 0 and stats["grabs"] is not None
        await wait_for(lambda: len(seen) >= 3)
        kinds = sorted((type(e).__name__, e.name) for e in seen)  # type: ignore[attr-defined]
        assert kinds == [
            ("IndexerFailing", "NZBgeek"),
            ("IndexerRateLimited", "1337x"),
            ("IndexerRateLimited", "DrunkenSlug"),
        ]
        # Not due again within the interval; nothing changed, nothing announced.
        assert await poller.poll_due() == 0
        # DrunkenSlug recovers; 1337x's hour runs out with no success yet: failing, quietly.
        seen.clear()
        sim.set_indexer(2, healthy=True, message="")
        clock.advance(3700)
        assert await poller.poll_due() == 1
        states = await _states(pool)
        assert states["DrunkenSlug"][0] == "healthy"
        assert states["1337x"][0] == "failing"
        await wait_for(lambda: len(seen) >= 1)
        recovered = seen[0]
        assert isinstance(recovered, IndexerRecovered)
        assert recovered.name == "DrunkenSlug" and recovered.previous == "rate_limited"
        assert len(seen) == 1
        # Prowlarr goes away: the last data stays, the poll says since when.
        server.stop()
        clock.advance(400)
        assert await poller.poll_due() == 1
        poll = await pool.fetchrow(
            "SELECT last_attempt_at, last_success_at, last_error FROM prowlarr_polls"
            " WHERE connector_id = $1",
            prowlarr.id,
        )
        assert poll["last_error"] and poll["last_success_at"] < poll["last_attempt_at"]
        assert (await _states(pool))["DrunkenSlug"][0] == "healthy"
        # And back: the error clears.
        server = serve_in_thread(sim, port=server.port)
        clock.advance(400)
        assert await poller.poll_due() == 1
        poll = await pool.fetchrow(
            "SELECT last_success_at, last_error FROM prowlarr_polls WHERE connector_id = $1",
            prowlarr.id,
        )
        assert poll["last_error"] is None
        assert poll["last_success_at"].timestamp() == pytest.approx(clock.now(), abs=1)
    finally:
        server.stop()
