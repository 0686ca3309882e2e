"""GET /api/v1/indexers and the queue's indexer notice, fed by the scheduler's real poller
reading the Prowlarr simulator."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest
from comradarr_arrsim import Flavor, LibrarySpec, ManualClock, Simulator, serve_in_thread
from comradarr_gateway.routes_indexers import IndexersPage
from comradarr_scheduler.indexers import IndexerPoller
from comradarr_scheduler.service import default_health_client

from .conftest import Harness
from .mirror_seed import seed_mirror

pytestmark = pytest.mark.integration
KEY = "prowlarr-key-0123456789abcdef"


async def _add(admin: httpx.AsyncClient, kind: str, name: str, url: str) -> int:
    r = await admin.post(
        "/api/v1/connectors", json={"type": kind, "name": name, "url": url, "api_key": KEY}
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def test_indexers_view_stale_and_queue_notice(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    empty = (await admin.get("/api/v1/indexers")).json()
    assert empty["indexers"] == [] and empty["summary"]["total"] == 0
    assert empty["summary"]["all_rate_limited"] is False
    clock = ManualClock(start=time.time())
    sim = Simulator(
        flavor=Flavor.PROWLARR_V1,
        api_key=KEY,
        spec=LibrarySpec(indexers=3, reference_time=clock.now()),
        clock=clock,
    )
    server = serve_in_thread(sim)
    try:
        cid = await _add(admin, "prowlarr", "Prowlarr", server.url)
        poller = IndexerPoller(
            ctx=harness.ctx,
            client_factory=default_health_client,
            clock=lambda: datetime.fromtimestamp(clock.now(), UTC),
        )
        sim.set_indexer(2, disabled_for=-300, message="Unable to connect to indexer")
        assert await poller.poll_due() == 1
        r = await admin.get("/api/v1/indexers")
        assert r.status_code == 200, r.text
        body = r.json()
        IndexersPage.model_validate(body)
        by_name = {i["name"]: i for i in body["indexers"]}
        assert [i["state"] for i in body["indexers"]] == ["rate_limited", "failing", "healthy"]
        assert by_name["1337x"]["until"] is not None
        assert by_name["DrunkenSlug"]["message"] == "Unable to connect to indexer"
        assert by_name["DrunkenSlug"]["until"] is None
        assert by_name["NZBgeek"]["statistics"]["queries"] > 0
        assert by_name["NZBgeek"]["connector_name"] == "Prowlarr"
        summary = body["summary"]
        assert (summary["healthy"], summary["rate_limited"], summary["failing"]) == (1, 1, 1)
        assert summary["all_rate_limited"] is False and summary["stale"] is False
        source = body["sources"][0]
        assert source["connector_id"] == cid and source["error"] is None
        assert source["statistics_served"] is True and source["age_seconds"] is not None
        # Every indexer rate limited: the queue's searchable entries say so (informational:
        # they keep their place and estimate).
        sim.set_indexer(1, disabled_for=600)
        sim.set_indexer(2, disabled_for=1200)
        first_back = clock.now() + 600
        clock.advance(301)
        assert await poller.poll_due() == 1
        summary = (await admin.get("/api/v1/indexers")).json()["summary"]
        assert summary["all_rate_limited"] is True
        until = datetime.fromisoformat(summary["all_rate_limited_until"])
        assert until.timestamp() == pytest.approx(first_back, abs=2)
        tv = await _add(admin, "sonarr", "TV", "http://127.0.0.1:9")
        # Tested when saved (nothing answers at port 9): healthy, as a passing test says.
        await harness.pool.execute(
            "UPDATE connectors SET health_status = 'healthy' WHERE id = $1", tv
        )
        await seed_mirror(harness.pool, connector_id=tv, series=2, seasons=1, per_season=6)
        items = (await admin.get("/api/v1/queue", params={"page_size": 200})).json()["items"]
        noted = [i for i in items if "indexers_rate_limited" in {w["code"] for w in i["waiting"]}]
        searchable = [i for i in items if i["estimated_dispatch_at"] is not None]
        assert searchable and {i["id"] for i in noted} == {i["id"] for i in searchable}
        assert {w["code"] for w in noted[0]["waiting"]} & {"next", "waiting_turn"}
        # Prowlarr goes away: the last data stays, marked stale with its age.
        server.stop()
        clock.advance(301)
        assert await poller.poll_due() == 1
        body = (await admin.get("/api/v1/indexers")).json()
        assert body["summary"]["stale"] is True and body["summary"]["total"] == 3
        assert all(i["stale"] for i in body["indexers"])
        assert body["sources"][0]["error"] and body["sources"][0]["stale"] is True
        # And back: fresh again.
        server = serve_in_thread(sim, port=server.port)
        clock.advance(301)
        assert await poller.poll_due() == 1
        body = (await admin.get("/api/v1/indexers")).json()
        assert body["summary"]["stale"] is False and not any(i["stale"] for i in body["indexers"])
    finally:
        server.stop()
    # Authenticated like every route.
    async with harness.client() as anonymous:
        assert (await anonymous.get("/api/v1/indexers")).status_code == 401
