"""Format-score upgrades in the queue API: their own type, filterable, with their shortfall."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from comradarr_discovery.config import DiscoveryConfig
from comradarr_discovery.discover import run_discovery
from comradarr_gateway.routes_queue import QueuePage

from .conftest import Harness
from .mirror_seed import seed_mirror

pytestmark = pytest.mark.integration


async def test_format_entries_are_filterable_and_explained(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    r = await admin.post(
        "/api/v1/connectors",
        json={"type": "sonarr", "name": "TV", "url": "http://127.0.0.1:9", "api_key": "k" * 32},
    )
    assert r.status_code == 201, r.text
    cid = int(r.json()["id"])
    assert r.json().get("format_upgrades", True) is True
    pool = harness.pool
    await seed_mirror(pool, connector_id=cid, series=3, seasons=1, per_season=10)
    # One profile scoring custom formats: files at the quality cutoff scoring 40 fall short
    # of its 100; those scoring 120 do not.
    await pool.execute(
        "INSERT INTO quality_profiles (connector_id, arr_id, name, upgrade_allowed, cutoff,"
        " cutoff_format_score, min_upgrade_format_score) VALUES ($1, 4, 'HD', true, 3, 100, 10)",
        cid,
    )
    await pool.execute("UPDATE series SET quality_profile_id = 4 WHERE connector_id = $1", cid)
    await pool.execute(
        "UPDATE episodes SET custom_format_score = CASE WHEN arr_id % 2 = 0 THEN 40 ELSE 120"
        " END WHERE connector_id = $1 AND has_file",
        cid,
    )
    async with pool.acquire() as conn, conn.transaction():
        counts = await run_discovery(
            conn, connector_id=cid, now=datetime.now(UTC), config=DiscoveryConfig()
        )
    short = await pool.fetchval(
        "SELECT count(*) FROM episodes WHERE connector_id = $1 AND has_file"
        " AND NOT quality_cutoff_not_met AND custom_format_score = 40",
        cid,
    )
    assert counts.formats_found == short > 0
    body = (await admin.get("/api/v1/queue", params={"search_type": "format"})).json()
    QueuePage.model_validate(body)
    assert body["total"] == short
    assert {i["search_type"] for i in body["items"]} == {"format"}
    assert {i["upgrade_detail"] for i in body["items"]} == {"format score 40 < 100"}
    # The other kinds carry no detail, and filter apart.
    gaps = (await admin.get("/api/v1/queue", params={"search_type": "gap"})).json()["items"]
    assert gaps and {i["search_type"] for i in gaps} == {"gap"}
    assert {i["upgrade_detail"] for i in gaps} == {None}
    everything = (await admin.get("/api/v1/queue", params={"page_size": 200})).json()
    assert {i["search_type"] for i in everything["items"]} >= {"gap", "upgrade", "format"}
    bad = await admin.get("/api/v1/queue", params={"search_type": "score"})
    assert bad.status_code == 422
    # Switched off per connector, through the API: the next discovery drops them.
    r = await admin.patch(f"/api/v1/connectors/{cid}", json={"format_upgrades": False})
    assert r.status_code == 200, r.text
    assert r.json()["format_upgrades"] is False
    async with pool.acquire() as conn, conn.transaction():
        counts = await run_discovery(
            conn, connector_id=cid, now=datetime.now(UTC), config=DiscoveryConfig()
        )
    assert counts.formats_found == 0 and counts.formats_removed == short
    body = (await admin.get("/api/v1/queue", params={"search_type": "format"})).json()
    assert body["items"] == []
