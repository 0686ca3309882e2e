"""The mirror and registry schema: cascades from content to registry entries and history."""

from __future__ import annotations

import asyncpg
import pytest
from comradarr_mirror import cleanup_orphans, count_by_state, list_entries


async def _connector(pool: asyncpg.Pool) -> int:
    cid: int = await pool.fetchval(
        "INSERT INTO connectors (type, name, url) VALUES ('sonarr', 'tv', 'http://x') RETURNING id"
    )
    return cid


async def test_deleting_a_series_cascades_to_the_registry_and_history_stays(
    pool: asyncpg.Pool,
) -> None:
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
    # The record of what was searched outlives the entry (only retention removes it).
    assert await pool.fetchval("SELECT count(*) FROM search_history WHERE registry_id IS NULL") == 1
    assert await cleanup_orphans(pool) == 0


async def _series_with_children(pool: asyncpg.Pool, cid: int, arr_id: int) -> None:
    await pool.execute(
        "INSERT INTO series (connector_id, arr_id, title) VALUES ($1, $2, 'A')", cid, arr_id
    )
    await pool.execute(
        "INSERT INTO seasons (connector_id, series_arr_id, season_number) VALUES ($1, $2, 1)",
        cid,
        arr_id,
    )
    await pool.execute(
        "INSERT INTO episodes (connector_id, arr_id, series_arr_id, season_number)"
        " SELECT $1, $2 * 100 + n, $2, 1 FROM generate_series(1, 3) n",
        cid,
        arr_id,
    )


async def _children(pool: asyncpg.Pool) -> tuple[int, int]:
    row = await pool.fetchrow(
        "SELECT (SELECT count(*) FROM seasons) AS s, (SELECT count(*) FROM episodes) AS e"
    )
    assert row is not None
    return row["s"], row["e"]


async def test_seasons_and_episodes_need_their_series(pool: asyncpg.Pool) -> None:
    cid = await _connector(pool)
    await _series_with_children(pool, cid, 1)
    for sql in (
        "INSERT INTO episodes (connector_id, arr_id, series_arr_id, season_number)"
        " VALUES ($1, 900, 2, 1)",
        "INSERT INTO seasons (connector_id, series_arr_id, season_number) VALUES ($1, 2, 1)",
        "UPDATE episodes SET series_arr_id = 2 WHERE connector_id = $1 AND arr_id = 101",
        "UPDATE seasons SET series_arr_id = 2 WHERE connector_id = $1",
        # A series' key stays while rows point at it.
        "UPDATE series SET arr_id = 2 WHERE connector_id = $1",
    ):
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await pool.execute(sql, cid)
    assert await _children(pool) == (1, 3)
    # One statement with a good and a bad row fails as a whole.
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await pool.execute(
            "INSERT INTO episodes (connector_id, arr_id, series_arr_id, season_number)"
            " VALUES ($1, 901, 1, 1), ($1, 902, 2, 1)",
            cid,
        )
    assert await _children(pool) == (1, 3)
    # A series nothing points at can change its key.
    await pool.execute("INSERT INTO series (connector_id, arr_id) VALUES ($1, 5)", cid)
    await pool.execute("UPDATE series SET arr_id = 6 WHERE connector_id = $1 AND arr_id = 5", cid)


async def test_deleting_series_or_connector_removes_seasons_and_episodes(
    pool: asyncpg.Pool,
) -> None:
    cid = await _connector(pool)
    other = await pool.fetchval(
        "INSERT INTO connectors (type, name, url) VALUES ('sonarr', 'tv2', 'http://y') RETURNING id"
    )
    for arr_id in (1, 2, 3):
        await _series_with_children(pool, cid, arr_id)
    await _series_with_children(pool, other, 1)
    await pool.execute("DELETE FROM series WHERE connector_id = $1 AND arr_id <> 3", cid)
    assert await _children(pool) == (2, 6)
    await pool.execute("DELETE FROM connectors WHERE id = $1", cid)
    assert await _children(pool) == (1, 3)
    assert await pool.fetchval("SELECT count(*) FROM series") == 1
    assert {r[0] for r in await pool.fetch("SELECT DISTINCT connector_id FROM episodes")} == {other}
