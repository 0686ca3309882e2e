"""Mirror migration 0009: a mirror written before it keeps every row's quality model, each
distinct model stored once."""

from __future__ import annotations

import json

import asyncpg
import pytest
from comradarr_db import Migration, discover, migrate

pytestmark = pytest.mark.integration

HD = {"quality": {"id": 4, "name": "HDTV-720p"}, "revision": {"version": 1, "real": 0}}
BR = {"quality": {"id": 7, "name": "Bluray-1080p"}, "revision": {"version": 2, "real": 0}}


def _is_qualities(m: Migration) -> bool:
    return m.component == "mirror" and m.version >= 9


async def test_rows_keep_their_quality_and_each_model_is_stored_once(
    empty_database_url: str,
) -> None:
    every = discover()
    before = [m for m in every if not _is_qualities(m)]
    assert len(before) < len(every), "migration 0009 of the mirror was not found"
    await migrate(empty_database_url, migrations=before)
    conn = await asyncpg.connect(empty_database_url)
    try:
        cid = await conn.fetchval(
            "INSERT INTO connectors (type, name, url) VALUES ('sonarr', 'old', 'http://old')"
            " RETURNING id"
        )
        await conn.execute(
            "INSERT INTO series (connector_id, arr_id, title) VALUES ($1, 1, 'S')", cid
        )
        # Key order differs between the two HD copies: the same jsonb value all the same.
        hd_reordered = json.dumps({"revision": HD["revision"], "quality": HD["quality"]})
        await conn.execute(
            "INSERT INTO episodes (connector_id, arr_id, series_arr_id, season_number, quality)"
            " VALUES ($1, 1, 1, 1, $2::jsonb), ($1, 2, 1, 1, $3::jsonb),"
            " ($1, 3, 1, 1, $4::jsonb), ($1, 4, 1, 1, NULL)",
            cid,
            json.dumps(HD),
            hd_reordered,
            json.dumps(BR),
        )
        await conn.execute(
            "INSERT INTO movies (connector_id, arr_id, quality)"
            " VALUES ($1, 1, $2::jsonb), ($1, 2, NULL)",
            cid,
            json.dumps(BR),
        )
        applied = await migrate(empty_database_url, migrations=every)
        assert applied == len(every) - len(before)
        episodes = await conn.fetch(
            "SELECT e.arr_id, q.model::text AS model FROM episodes e"
            " LEFT JOIN qualities q ON q.id = e.quality_id ORDER BY e.arr_id"
        )
        movies = await conn.fetch(
            "SELECT m.arr_id, q.model::text AS model FROM movies m"
            " LEFT JOIN qualities q ON q.id = m.quality_id ORDER BY m.arr_id"
        )
        stored = await conn.fetchval("SELECT count(*) FROM qualities")
    finally:
        await conn.close()
    models = [None if r["model"] is None else json.loads(r["model"]) for r in episodes]
    assert models == [HD, HD, BR, None]
    assert [None if r["model"] is None else json.loads(r["model"]) for r in movies] == [BR, None]
    assert stored == 2
