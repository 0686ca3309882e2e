"""Throttle profiles are attached where they act: per connector (create, patch, get; null
means the default profile), one default profile for the rest, and never on a schedule."""

from __future__ import annotations

import httpx
import pytest
from comradarr_throttle import profile_for_connector

from .conftest import Harness

pytestmark = pytest.mark.integration


async def test_a_connector_takes_a_profile_and_the_default_is_selectable(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    slow = (await admin.post("/api/v1/throttle-profiles", json={"name": "Slow"})).json()
    fast = (await admin.post("/api/v1/throttle-profiles", json={"name": "Fast"})).json()
    r = await admin.post(
        "/api/v1/connectors",
        json={
            "type": "sonarr",
            "name": "TV",
            "url": "http://127.0.0.1:9/tv",
            "api_key": "k" * 32,
            "throttle_profile_id": slow["id"],
        },
    )
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert r.json()["throttle_profile_id"] == slow["id"]
    got = (await admin.get(f"/api/v1/connectors/{cid}")).json()
    assert got["throttle_profile_id"] == slow["id"]
    async with harness.pool.acquire() as conn:
        assert (await profile_for_connector(conn, connector_id=cid)).name == "Slow"

    # Another profile, then none (the default).
    r = await admin.patch(f"/api/v1/connectors/{cid}", json={"throttle_profile_id": fast["id"]})
    assert r.status_code == 200 and r.json()["throttle_profile_id"] == fast["id"]
    r = await admin.patch(f"/api/v1/connectors/{cid}", json={"name": "TV 2"})
    assert r.json()["throttle_profile_id"] == fast["id"], "absent leaves it as it is"
    r = await admin.patch(f"/api/v1/connectors/{cid}", json={"throttle_profile_id": None})
    assert r.status_code == 200 and r.json()["throttle_profile_id"] is None
    assert (await admin.get("/api/v1/throttle-profiles/default")).json()["name"] == "Moderate"
    async with harness.pool.acquire() as conn:
        assert (await profile_for_connector(conn, connector_id=cid)).name == "Moderate"

    # The default is selectable; a connector without a profile follows it.
    r = await admin.put("/api/v1/throttle-profiles/default", json={"profile_id": slow["id"]})
    assert r.status_code == 200 and r.json()["name"] == "Slow" and r.json()["is_default"]
    assert (await admin.get("/api/v1/throttle-profiles/default")).json()["id"] == slow["id"]
    listed = (await admin.get("/api/v1/throttle-profiles")).json()
    assert [p["name"] for p in listed if p["is_default"]] == ["Slow"]
    async with harness.pool.acquire() as conn:
        assert (await profile_for_connector(conn, connector_id=cid)).name == "Slow"

    # Deleting a connector's profile returns it to the default (a real reference).
    await admin.patch(f"/api/v1/connectors/{cid}", json={"throttle_profile_id": fast["id"]})
    assert (await admin.delete(f"/api/v1/throttle-profiles/{fast['id']}")).status_code == 204
    assert (await admin.get(f"/api/v1/connectors/{cid}")).json()["throttle_profile_id"] is None


async def test_unknown_profiles_and_schedule_profiles_are_refused(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    cid = await harness.add_connector(admin)
    r = await admin.patch(f"/api/v1/connectors/{cid}", json={"throttle_profile_id": 99_999})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == [
        "body",
        "throttle_profile_id",
    ]
    r = await admin.post(
        "/api/v1/connectors",
        json={
            "type": "radarr",
            "name": "Films",
            "url": "http://127.0.0.1:9/films",
            "api_key": "k" * 32,
            "throttle_profile_id": 99_999,
        },
    )
    assert r.status_code == 422, r.text
    assert (await admin.get("/api/v1/connectors")).json()[0]["name"] == "TV"
    for body in ({"profile_id": 99_999}, {"profile_id": 0}, {}):
        r = await admin.put("/api/v1/throttle-profiles/default", json=body)
        assert r.status_code == 422, (body, r.text)
    # A schedule has no profile of its own: its sweeps search under the connector's.
    r = await admin.post(
        "/api/v1/schedules",
        json={"connector_id": cid, "cron": "0 3 * * *", "throttle_profile_id": 1},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "throttle_profile_id"
    made = await admin.post("/api/v1/schedules", json={"connector_id": cid, "cron": "0 3 * * *"})
    assert made.status_code == 201 and "throttle_profile_id" not in made.json()
