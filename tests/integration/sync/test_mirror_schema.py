"""The mirror and registry schema: cascades from content to registry entries and history."""

from __future__ import annotations

import asyncpg
from comradarr_mirror import cleanup_orphans, count_by_state, list_entries


async def _connector(pool: asyncpg.Pool) -> int:
    cid: int = await pool.fetchval(
        "INSERT INTO connectors (type, name, url) VALUES ('sonarr', 'tv', 'http://x') RETURNING id"
    )
    return cid


async def test_deleting_a_series_cascades_to_registry_and_history(pool: asyncpg.Pool) -> None:
    cid = await _connector(pool)
    await pool.execute("INSERT INTO series (connector_id, arr_id, title) VALUES ($1, 1, 'A')", cid)
    episode_id = await pool.fetchval(
        "INSERT INTO episodes (connector_id, arr_id, series_arr_id, season_number)"
        " VALUES ($1, 10, 1, 1) RETURNING id",
        cid,
    )
    entry = await pool.fetchval(
        "INSERT INTO search_registry (connector_id, content_type, episode_id, search_type)"
        " VALUES ($1, 'episode', $2, 'gap') RETURNING id",
        cid,
        episode_id,
    )
    await pool.execute(
        "INSERT INTO search_history (registry_id, connector_id, search_type, outcome)"
        " VALUES ($1, $2, 'gap', 'dispatched')",
        entry,
        cid,
    )
    entries = await list_entries(pool, connector_id=cid)
    assert [e.title for e in entries] == ["A S01E00"]
    assert await count_by_state(pool, connector_id=cid) == {("gap", "pending"): 1}
    await pool.execute("DELETE FROM series WHERE connector_id = $1", cid)
    assert await pool.fetchval("SELECT count(*) FROM episodes") == 0
    assert await pool.fetchval("SELECT count(*) FROM search_registry") == 0
    assert await pool.fetchval("SELECT count(*) FROM search_history") == 0
    assert await cleanup_orphans(pool) == 0
