"""What the app answers decides what the sync does: a refused key marks the connector as
failing authentication at once (no retries); a 404 for one series' episodes skips that
series, counts it, and the sync goes on."""

from __future__ import annotations

import asyncpg
from comradarr_arrsim import Fault
from comradarr_bus import Bus
from comradarr_proto import ConnectorHealthChanged
from sync_support import make_harness, sim_for

from tests.support import wait_for


async def test_a_refused_key_is_its_own_status_and_is_announced(
    pool: asyncpg.Pool, bus: Bus
) -> None:
    sim = sim_for(series=2, seasons=1, episodes_per_season=2)
    h = await make_harness(pool, bus, sim)
    heard: list[ConnectorHealthChanged] = []

    async def on_health(msg: ConnectorHealthChanged) -> None:
        heard.append(msg)

    await bus.listen(ConnectorHealthChanged, on_health)
    sim.add_fault(Fault(kind="status", status=401, path="/series"))
    # The first attempt already finishes: retrying a refused key only repeats the refusal.
    run = await h.sweep("full", message_id="k1", attempt=1)
    assert run["outcome"] == "failed" and "API key" in (run["error"] or "")
    row = await pool.fetchrow(
        "SELECT health_status, health_messages FROM connectors WHERE id = $1", h.connector_id
    )
    assert row["health_status"] == "auth_failed"
    assert "refused the API key" in str(row["health_messages"])
    await wait_for(lambda: any(m.current == "auth_failed" for m in heard), timeout=5)
    # Scheduled sweeps wait while the key is refused; a successful one (the key accepted
    # again) makes the connector healthy.
    sim.faults.clear()
    run = await h.sweep("full", requested_by="gateway")
    assert run["outcome"] == "success"
    health = await pool.fetchval(
        "SELECT health_status FROM connectors WHERE id = $1", h.connector_id
    )
    assert health == "healthy"


async def test_a_404_for_one_series_skips_it_and_the_sync_goes_on(
    pool: asyncpg.Pool, bus: Bus
) -> None:
    sim = sim_for(series=4, seasons=1, episodes_per_season=3, specials=0)
    h = await make_harness(pool, bus, sim)
    sim.add_fault(Fault(kind="status", status=404, path="/episode", times=1))
    run = await h.sweep("full")
    assert run["outcome"] == "success", run["error"]
    assert run["series_skipped"] == 1
    per_series = await pool.fetch(
        "SELECT s.arr_id, count(e.id) AS n FROM series s LEFT JOIN episodes e"
        " ON e.connector_id = s.connector_id AND e.series_arr_id = s.arr_id"
        " WHERE s.connector_id = $1 GROUP BY s.arr_id",
        h.connector_id,
    )
    assert len(per_series) == 4
    assert sorted(r["n"] for r in per_series) == [0, 3, 3, 3]
    # The next sync reads the skipped series again (its fingerprint was not stored).
    again = await h.sweep("incremental")
    assert again["outcome"] == "success" and again["series_skipped"] == 0
    assert (
        await pool.fetchval("SELECT count(*) FROM episodes WHERE connector_id = $1", h.connector_id)
        == 12
    )
