"""Backpressure and search windows in the connectors API and the queue's explanations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from comradarr_gateway.routes_queue import QueuePage

from .conftest import Harness
from .mirror_seed import seed_mirror

pytestmark = pytest.mark.integration
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


async def test_connector_politeness_fields_are_validated(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    base = {"type": "sonarr", "url": "http://127.0.0.1:9", "api_key": "k" * 32}
    r = await admin.post(
        "/api/v1/connectors",
        json={
            **base,
            "name": "TV",
            "queue_limit": 20,
            "search_windows": [{"days": ["fri", "sat"], "start": "22:00", "end": "02:00"}],
            "search_timezone": "Europe/Berlin",
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["queue_limit"] == 20 and body["search_timezone"] == "Europe/Berlin"
    assert body["search_windows"] == [{"days": ["fri", "sat"], "start": "22:00", "end": "02:00"}]
    cid = body["id"]
    # Defaults: no limit, any time, the application's time zone.
    r = await admin.post(
        "/api/v1/connectors", json={**base, "name": "Films", "url": "http://127.0.0.1:9/films"}
    )
    assert r.json()["queue_limit"] is None and r.json()["search_windows"] == []
    assert r.json()["search_timezone"] == "UTC"
    for bad in (
        {"queue_limit": 0},
        {"queue_limit": "many"},
        {"search_windows": [{"days": ["funday"], "start": "01:00", "end": "02:00"}]},
        {"search_windows": [{"days": [], "start": "01:00", "end": "02:00"}]},
        {"search_windows": [{"start": "25:00", "end": "02:00"}]},
        {"search_windows": [{"start": "1:00", "end": "02:00"}]},
        {"search_windows": [{"start": "01:00", "end": "02:00", "tz": "UTC"}]},
        {"search_windows": [{"start": "01:00", "end": "02:00"}] * 15},
        {"search_timezone": "Mars/Olympus"},
    ):
        r = await admin.patch(f"/api/v1/connectors/{cid}", json=bad)
        assert r.status_code == 422, (bad, r.text)
    # Days default to every day; null clears the limit; [] clears the windows.
    r = await admin.patch(
        f"/api/v1/connectors/{cid}",
        json={"search_windows": [{"start": "01:00", "end": "07:00"}], "queue_limit": None},
    )
    assert r.status_code == 200, r.text
    assert r.json()["search_windows"] == [{"days": EVERY_DAY, "start": "01:00", "end": "07:00"}]
    assert r.json()["queue_limit"] is None
    r = await admin.patch(f"/api/v1/connectors/{cid}", json={"search_windows": []})
    assert r.json()["search_windows"] == [] and r.json()["search_timezone"] == "Europe/Berlin"


async def test_queue_explains_backpressure_and_windows(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    r = await admin.post(
        "/api/v1/connectors",
        json={
            "type": "sonarr",
            "name": "TV",
            "url": "http://127.0.0.1:9",
            "api_key": "k" * 32,
            "queue_limit": 20,
        },
    )
    cid = r.json()["id"]
    pool = harness.pool
    # Tested when saved, and nothing answers at port 9: healthy as a passing test would say.
    await pool.execute("UPDATE connectors SET health_status = 'healthy' WHERE id = $1", cid)
    await seed_mirror(pool, connector_id=cid, series=2, seasons=1, per_season=10)
    now = datetime.now(UTC)
    # The dispatcher's last reading of the app's download queue: 23 items.
    await pool.execute(
        "INSERT INTO download_queue_readings (connector_id, claimed_at, checked_at,"
        " total_count) VALUES ($1, $2, $2, 23)",
        cid,
        now,
    )
    body = (await admin.get("/api/v1/queue", params={"state": "pending"})).json()
    QueuePage.model_validate(body)
    first = body["items"][0]
    waits = {w["code"]: w for w in first["waiting"]}
    assert waits["download_queue"]["message"] == "waiting: download queue 23 ≥ 20"
    assert first["estimated_dispatch_at"] is None
    # Under the limit: nothing said, an estimate again.
    await pool.execute("UPDATE download_queue_readings SET total_count = 19")
    first = (await admin.get("/api/v1/queue", params={"state": "pending"})).json()["items"][0]
    assert "download_queue" not in {w["code"] for w in first["waiting"]}
    assert first["estimated_dispatch_at"] is not None
    # A window that opens in two hours (local time of the window's zone): the entries say
    # so, and their estimates start there.
    tz = "America/New_York"
    local = now.astimezone(ZoneInfo(tz))
    opens = (local + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    closes = opens + timedelta(hours=1)
    r = await admin.patch(
        f"/api/v1/connectors/{cid}",
        json={
            "search_windows": [{"start": f"{opens:%H:%M}", "end": f"{closes:%H:%M}"}],
            "search_timezone": tz,
        },
    )
    assert r.status_code == 200, r.text
    items = (await admin.get("/api/v1/queue", params={"state": "pending"})).json()["items"]
    waits = {w["code"]: w for w in items[0]["waiting"]}
    assert waits["outside_window"]["message"].startswith("outside its search windows")
    assert "America/New_York" in waits["outside_window"]["message"]
    until = datetime.fromisoformat(waits["outside_window"]["until"])
    assert until == opens.astimezone(UTC)
    estimates = [datetime.fromisoformat(i["estimated_dispatch_at"]) for i in items]
    assert estimates[0] == until and all(e >= until for e in estimates)
