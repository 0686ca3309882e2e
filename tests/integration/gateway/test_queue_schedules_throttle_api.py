"""Queue view and control, schedules, throttle profiles: happy paths, validation, scopes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from comradarr_gateway.routes_queue import QueuePage
from comradarr_proto import ControlQueue, ItemsQueued, RequestSweep

from .conftest import Harness
from .mirror_seed import seed_mirror

pytestmark = pytest.mark.integration


class Captured:
    """Messages published on the test's bus prefix, by subject."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any]]] = []

    async def wait_for(self, part: str, timeout: float = 5) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            for subject, data in self.items:
                if part in subject:
                    return data
            await asyncio.sleep(0.05)
        raise AssertionError(f"nothing published on *{part}*: {self.items}")


async def _capture(harness: Harness) -> Captured:
    captured = Captured()

    async def on_msg(msg: Any) -> None:
        captured.items.append((msg.subject, json.loads(msg.data)))

    await harness.bus.nc.subscribe(f"{harness.bus.prefix}.>", cb=on_msg)
    return captured


# --- queue ------------------------------------------------------------------------------------


async def test_queue_lists_in_priority_order_with_reasons_and_estimates(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    cid = await harness.add_connector(admin)
    await seed_mirror(harness.pool, connector_id=cid, series=4, seasons=2, per_season=10)
    r = await admin.get("/api/v1/queue", params={"page_size": 200})
    assert r.status_code == 200, r.text
    body = r.json()
    items = body["items"]
    assert items and body["paused"] is False
    assert all(i["state"] != "exhausted" for i in items)
    # What goes next comes first: in flight, then eligible by priority, then waiting
    # entries by when they become eligible.
    now = datetime.now(UTC)

    def segment(i: dict[str, Any]) -> int:
        if i["state"] in ("queued", "searching"):
            return 0
        return 1 if datetime.fromisoformat(i["next_eligible_at"]) <= now else 2

    segments = [segment(i) for i in items]
    assert segments == sorted(segments) and set(segments) == {0, 1, 2}
    for n in (0, 1):
        keys = [(-i["priority"], i["id"]) for i in items if segment(i) == n]
        assert keys == sorted(keys)
    waiting = [(i["next_eligible_at"], -i["priority"], i["id"]) for i in items if segment(i) == 2]
    assert waiting == sorted(waiting)
    codes = {w["code"] for i in items for w in i["waiting"]}
    assert {"in_flight", "cooldown"} <= codes and codes & {"next", "waiting_turn"}
    # Why an entry waits, in words: never "cooling down after 0 attempt(s)".
    for i in items:
        for w in i["waiting"]:
            if w["code"] == "cooldown":
                assert re.fullmatch(
                    r"(retry after \d\d:\d\d, attempt \d+ of \d+|waits until \d\d:\d\d)",
                    w["message"],
                ), w["message"]
    # Pages walked one after another give the same order, across the segments' edges.
    walked: list[int] = []
    for n in range(1, 100):
        part = (await admin.get("/api/v1/queue", params={"page_size": 7, "page": n})).json()
        if not part["items"]:
            break
        walked += [i["id"] for i in part["items"]]
    assert walked == [i["id"] for i in items]
    # Serialized by orjson, not through QueuePage: still exactly what the model writes.
    assert QueuePage.model_validate(body).model_dump(mode="json") == body
    # A place in the queue does not depend on the page it is shown on (page 1 counts from
    # the page itself, later pages ask the database).
    whole = {i["id"]: (i["position"], i["estimated_dispatch_at"] is None) for i in items}
    for n in (1, 2, 3):
        part = (await admin.get("/api/v1/queue", params={"page_size": 7, "page": n})).json()
        assert part["items"]
        for i in part["items"]:
            assert (i["position"], i["estimated_dispatch_at"] is None) == whole[i["id"]], n
    pending = [i for i in items if i["state"] == "pending" and segment(i) == 1]
    assert pending[0]["position"] == 0 and pending[0]["estimated_dispatch_at"] is not None
    assert [p["position"] for p in pending] == list(range(len(pending)))
    estimates = [p["estimated_dispatch_at"] for p in pending]
    assert estimates == sorted(estimates)
    assert all(i["estimated_dispatch_at"] is None for i in items if i["state"] == "searching")
    # A spent budget and a paused queue show up as reasons.
    await harness.pool.execute(
        "INSERT INTO throttle_state (connector_id, paused_until, pause_reason)"
        " VALUES ($1, $2, 'daily request budget spent')",
        cid,
        now + timedelta(hours=3),
    )
    await harness.pool.execute(
        "INSERT INTO queue_state (connector_id, paused, changed_by) VALUES (0, true, 'test')"
    )
    body = (await admin.get("/api/v1/queue", params={"state": "pending"})).json()
    assert body["paused"] is True
    codes = {w["code"] for w in body["items"][0]["waiting"]}
    assert {"queue_paused", "budget_spent"} <= codes
    assert body["items"][0]["estimated_dispatch_at"] is None
    await harness.pool.execute("UPDATE queue_state SET paused = false")
    body = (await admin.get("/api/v1/queue", params={"state": "pending"})).json()
    first = datetime.fromisoformat(body["items"][0]["estimated_dispatch_at"])
    assert first >= now + timedelta(hours=3) - timedelta(seconds=5)
    await harness.pool.execute("UPDATE connectors SET health_status = 'offline'")
    body = (await admin.get("/api/v1/queue", params={"connector_id": cid})).json()
    assert "connector_unhealthy" in {w["code"] for w in body["items"][0]["waiting"]}
    assert QueuePage.model_validate(body).model_dump(mode="json") == body


async def test_queue_recent_patch_and_delete(harness: Harness, admin: httpx.AsyncClient) -> None:
    cid = await harness.add_connector(admin)
    await seed_mirror(harness.pool, connector_id=cid, series=2, seasons=1, per_season=10)
    entries = await harness.pool.fetch("SELECT id, state FROM search_registry ORDER BY id")
    idle = next(e["id"] for e in entries if e["state"] == "pending")
    busy = next(e["id"] for e in entries if e["state"] == "searching")
    await harness.pool.execute(
        "INSERT INTO search_history (registry_id, connector_id, command_name, search_type,"
        " outcome, started_at, ended_at) VALUES ($1, $2, 'EpisodeSearch', 'gap', 'found',"
        " now() - interval '1 minute', now()), ($1, $2, 'EpisodeSearch', 'gap', 'dispatched',"
        " now(), NULL)",
        idle,
        cid,
    )
    recent = (await admin.get("/api/v1/queue/recent")).json()
    assert [(x["registry_id"], x["outcome"]) for x in recent] == [(idle, "found")]
    assert recent[0]["title"].startswith(("Alpha", "Bravo", "Charlie"))
    # "Top" re-ranks at once: the next read of the queue shows the entry first of the
    # eligible ones (discovery's next pass computes the same score).
    eligible = [
        i["id"]
        for i in (await admin.get("/api/v1/queue", params={"state": "pending"})).json()["items"]
        if not i["waiting"] or i["waiting"][0]["code"] in ("next", "waiting_turn")
    ]
    last = eligible[-1]
    before = (await admin.get("/api/v1/queue", params={"state": "pending"})).json()["items"]
    old = next(i for i in before if i["id"] == last)
    r = await admin.patch(f"/api/v1/queue/{last}", json={"priority": 100})
    assert r.status_code == 200 and r.json()["user_priority"] == 100, r.text
    assert r.json()["priority"] == pytest.approx(old["priority"] + 50.0)
    assert r.json()["priority_parts"]["user"] == 50.0
    after = (await admin.get("/api/v1/queue", params={"state": "pending"})).json()["items"]
    assert after[0]["id"] == last and after[0]["waiting"][0]["code"] == "next"
    r = await admin.patch(f"/api/v1/queue/{last}", json={"priority": None})
    assert r.json()["priority"] == pytest.approx(old["priority"])
    r = await admin.patch(f"/api/v1/queue/{idle}", json={"priority": 50})
    assert r.status_code == 200 and r.json()["user_priority"] == 50, r.text
    r = await admin.patch(f"/api/v1/queue/{idle}", json={"priority": None})
    assert r.status_code == 200 and r.json()["user_priority"] is None
    for bad in ({"priority": 101}, {"priority": "high"}, {}, {"priority": 1, "x": 1}):
        r = await admin.patch(f"/api/v1/queue/{idle}", json=bad)
        assert r.status_code == 422, bad
        assert r.json()["detail"][0]["loc"][:2] in (["body", "priority"], ["body", "x"])
    assert (await admin.patch("/api/v1/queue/99999999", json={"priority": 1})).status_code == 404
    assert (await admin.delete(f"/api/v1/queue/{busy}")).status_code == 409
    assert (await admin.delete(f"/api/v1/queue/{idle}")).status_code == 204
    assert (await admin.delete(f"/api/v1/queue/{idle}")).status_code == 404


async def test_queue_pause_resume_clear_publish_control_commands(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    cid = await harness.add_connector(admin)
    captured = await _capture(harness)
    r = await admin.post("/api/v1/queue/pause")
    assert r.status_code == 202, r.text
    msg = ControlQueue.model_validate(await captured.wait_for("cmd.queue.pause"))
    assert msg.connector_id is None and msg.requested_by == "user:admin"
    r = await admin.post("/api/v1/queue/resume", json={"connector_id": cid})
    assert r.status_code == 202
    msg = ControlQueue.model_validate(await captured.wait_for("cmd.queue.resume"))
    assert msg.connector_id == cid
    r = await admin.post("/api/v1/queue/resume", json={"connector_id": 424242})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "connector_id"]
    for body in ({}, {"confirm": False}, {"confirm": "yes please"}):
        r = await admin.post("/api/v1/queue/clear", json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "confirm"], body
    assert not [s for s, _ in captured.items if "cmd.queue.clear" in s]
    r = await admin.post("/api/v1/queue/clear", json={"confirm": True})
    assert r.status_code == 202
    await captured.wait_for("cmd.queue.clear")


async def test_bulk_queue_publishes_items_queued(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    cid = await harness.add_connector(admin)
    await seed_mirror(harness.pool, connector_id=cid, series=2, seasons=1, per_season=10)
    captured = await _capture(harness)
    ids = [r["id"] for r in await harness.pool.fetch("SELECT id FROM search_registry")]
    r = await admin.post(
        "/api/v1/content/bulk", json={"action": "queue", "target": "registry", "ids": ids}
    )
    assert r.status_code == 200 and r.json()["changed"] > 0
    msg = ItemsQueued.model_validate(await captured.wait_for("evt.items"))
    assert msg.connector_id == cid and msg.count == r.json()["changed"]


async def test_read_only_key_cannot_change_queue_schedules_or_profiles(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    cid = await harness.add_connector(admin)
    s = await admin.post("/api/v1/schedules", json={"connector_id": cid, "cron": "0 3 * * *"})
    sid = s.json()["id"]
    _, ro = await harness.api_key(admin, "read")
    writes: list[tuple[str, str, Any]] = [
        ("POST", "/api/v1/queue/pause", {}),
        ("POST", "/api/v1/queue/resume", {}),
        ("POST", "/api/v1/queue/clear", {"confirm": True}),
        ("PATCH", "/api/v1/queue/1", {"priority": 5}),
        ("DELETE", "/api/v1/queue/1", None),
        ("POST", "/api/v1/schedules", {"connector_id": cid, "cron": "0 4 * * *"}),
        ("PATCH", f"/api/v1/schedules/{sid}", {"enabled": False}),
        ("DELETE", f"/api/v1/schedules/{sid}", None),
        ("POST", f"/api/v1/schedules/{sid}/run-now", None),
        ("POST", "/api/v1/throttle-profiles", {"name": "Mine"}),
        ("PATCH", "/api/v1/throttle-profiles/1", {"batch_size": 2}),
        ("DELETE", "/api/v1/throttle-profiles/1", None),
    ]
    async with harness.client() as c:
        for method, path, body in writes:
            r = await c.request(method, path, json=body, headers={"X-API-Key": ro})
            assert r.status_code == 403, (method, path, r.text)
        for path in (
            "/api/v1/queue",
            "/api/v1/queue/recent",
            "/api/v1/schedules",
            f"/api/v1/schedules/{sid}",
            f"/api/v1/schedules/{sid}/runs",
            "/api/v1/schedules/preview?cron=0+3+*+*+*",
            "/api/v1/throttle-profiles",
            "/api/v1/throttle-profiles/1",
        ):
            r = await c.get(path, headers={"X-API-Key": ro})
            assert r.status_code == 200, (path, r.text)
    assert (await admin.get(f"/api/v1/schedules/{sid}")).json()["enabled"] is True


# --- schedules ----------------------------------------------------------------------------


async def test_schedule_crud_description_next_runs_and_run_now(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    cid = await harness.add_connector(admin)
    r = await admin.post(
        "/api/v1/schedules",
        json={
            "name": "nightly",
            "connector_id": cid,
            "cron": "30 2 * * 1",
            "timezone": "Europe/Berlin",
            "sweep_type": "gaps",
        },
    )
    assert r.status_code == 201, r.text
    s = r.json()
    assert s["description"] == "At 02:30, only on Monday"
    runs = [datetime.fromisoformat(x) for x in s["next_runs"]]
    assert len(runs) == 5 and runs == sorted(runs)
    assert all(x.astimezone().utcoffset() is not None for x in runs)
    assert [(x - runs[0]).days % 7 for x in runs] == [0] * 5
    listed = (await admin.get("/api/v1/schedules")).json()
    assert s["id"] in [x["id"] for x in listed]  # beside the connector's default schedules
    r = await admin.patch(f"/api/v1/schedules/{s['id']}", json={"cron": "*/15 * * * *"})
    assert r.status_code == 200 and r.json()["description"] == "Every 15 minutes"
    r = await admin.get(f"/api/v1/schedules/{s['id']}/runs")
    assert r.status_code == 200 and r.json() == []
    captured = await _capture(harness)
    r = await admin.post(f"/api/v1/schedules/{s['id']}/run-now")
    assert r.status_code == 202, r.text
    sweep = RequestSweep.model_validate(await captured.wait_for("cmd.sweep"))
    assert sweep.requested_by == "user:admin" and sweep.schedule_id == s["id"]
    assert sweep.connector_id == cid and sweep.sweep_type == "gaps"
    assert (await admin.delete(f"/api/v1/schedules/{s['id']}")).status_code == 204
    assert (await admin.get(f"/api/v1/schedules/{s['id']}")).status_code == 404
    assert (await admin.post(f"/api/v1/schedules/{s['id']}/run-now")).status_code == 404


async def test_schedule_validation_names_the_field(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    cid = await harness.add_connector(admin)
    bad: list[tuple[dict[str, Any], str]] = [
        ({"connector_id": cid, "cron": "61 * * * *"}, "cron"),
        ({"connector_id": cid, "cron": "every day at 3"}, "cron"),
        ({"connector_id": cid, "cron": "0 0 30 2 *"}, "cron"),
        ({"connector_id": cid, "cron": "* * * * * *"}, "cron"),
        ({"connector_id": cid, "cron": "0 3 * * *", "timezone": "Mars/Olympus"}, "timezone"),
        ({"connector_id": cid, "cron": "0 3 * * *", "timezone": "../../etc/passwd"}, "timezone"),
        ({"connector_id": 9999, "cron": "0 3 * * *"}, "connector_id"),
        (
            {"connector_id": cid, "cron": "0 3 * * *", "throttle_profile_id": 9999},
            "throttle_profile_id",
        ),
        ({"connector_id": cid, "cron": "0 3 * * *", "sweep_type": "all"}, "sweep_type"),
        ({"cron": "0 3 * * *"}, "connector_id"),
    ]
    for body, field in bad:
        r = await admin.post("/api/v1/schedules", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"][0]["loc"][-1] == field, (body, r.text)
    r = await admin.get("/api/v1/schedules/preview", params={"cron": "0 9 * * 1-5"})
    assert r.status_code == 200, r.text
    assert r.json()["description"] == "At 09:00, Monday through Friday"
    assert len(r.json()["next_runs"]) == 5
    r = await admin.get("/api/v1/schedules/preview", params={"cron": "nope"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "cron"]
    r = await admin.get("/api/v1/schedules/preview", params={"cron": "0 3 * * *", "timezone": "X"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "timezone"]
    s = await admin.post("/api/v1/schedules", json={"connector_id": cid, "cron": "0 3 * * *"})
    r = await admin.patch(f"/api/v1/schedules/{s.json()['id']}", json={"cron": "0 0 31 4 *"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "cron"]


# --- throttle profiles --------------------------------------------------------------------


async def test_throttle_profiles_crud_and_presets_read_only(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    listed = (await admin.get("/api/v1/throttle-profiles")).json()
    presets = {p["name"]: p for p in listed if p["is_preset"]}
    assert set(presets) == {"Conservative", "Moderate", "Aggressive"}
    pid = presets["Moderate"]["id"]
    r = await admin.patch(f"/api/v1/throttle-profiles/{pid}", json={"batch_size": 2})
    assert r.status_code == 409
    assert (await admin.delete(f"/api/v1/throttle-profiles/{pid}")).status_code == 409
    r = await admin.post(
        "/api/v1/throttle-profiles",
        json={
            "name": "Gentle",
            "requests_per_minute": 1,
            "daily_budget": 50,
            "timezone": "America/New_York",
            "budget_reset_time": "04:00",
        },
    )
    assert r.status_code == 201, r.text
    mine = r.json()
    assert mine["batch_size"] == presets["Moderate"]["batch_size"] and not mine["is_preset"]
    r = await admin.patch(
        f"/api/v1/throttle-profiles/{mine['id']}", json={"batch_size": 3, "name": "Gentler"}
    )
    assert r.status_code == 200 and r.json()["batch_size"] == 3 and r.json()["name"] == "Gentler"
    r = await admin.post("/api/v1/throttle-profiles", json={"name": "gentler"})
    assert r.status_code == 409
    assert (await admin.get(f"/api/v1/throttle-profiles/{mine['id']}")).status_code == 200
    assert (await admin.delete(f"/api/v1/throttle-profiles/{mine['id']}")).status_code == 204
    assert (await admin.get(f"/api/v1/throttle-profiles/{mine['id']}")).status_code == 404
    assert (await admin.delete(f"/api/v1/throttle-profiles/{mine['id']}")).status_code == 404


async def test_throttle_profile_limits_are_validated(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    bad: list[tuple[dict[str, Any], str]] = [
        ({"name": "x", "requests_per_minute": 0}, "requests_per_minute"),
        ({"name": "x", "requests_per_minute": 601}, "requests_per_minute"),
        ({"name": "x", "batch_size": 11}, "batch_size"),
        ({"name": "x", "daily_budget": 0}, "daily_budget"),
        ({"name": "x", "budget_period_hours": 5}, "budget_period_hours"),
        ({"name": "x", "timezone": "Nowhere/City"}, "timezone"),
        (
            {"name": "x", "cooldown_base_seconds": 100, "cooldown_max_seconds": 50},
            "cooldown_max_seconds",
        ),
        ({"name": ""}, "name"),
        ({"name": "x", "is_preset": True}, "is_preset"),
        ({}, "name"),
    ]
    for body, field in bad:
        r = await admin.post("/api/v1/throttle-profiles", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"][0]["loc"][-1] == field, (body, r.text)
    mine = (await admin.post("/api/v1/throttle-profiles", json={"name": "Mine"})).json()
    r = await admin.patch(
        f"/api/v1/throttle-profiles/{mine['id']}", json={"cooldown_max_seconds": 1}
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "cooldown_max_seconds"


async def test_throttle_of_matches_the_per_connector_lookups(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    """The queue view reads every connector's profile and counters in one query; it must
    agree with profile_for_connector + get_state (own profile, default, counters or none)."""
    from comradarr_throttle import MODERATE, create_profile, get_state, profile_for_connector
    from comradarr_throttle import throttle_of as batch

    plain, own = (
        await harness.add_connector(admin, "plain"),
        await harness.add_connector(admin, "own"),
    )
    async with harness.pool.acquire() as conn:
        mine = await create_profile(
            conn, profile=dataclasses.replace(MODERATE, name="Mine", batch_size=3)
        )
        await conn.execute(
            "UPDATE connectors SET throttle_profile_id = $2 WHERE id = $1", own, mine.id
        )
        await conn.execute(
            "INSERT INTO throttle_state (connector_id, window_used, pause_reason)"
            " VALUES ($1, 7, 'testing')",
            own,
        )
        found = await batch(conn, connector_ids=[plain, own, 999_999])
        assert set(found) == {plain, own}  # a missing connector is simply absent
        for cid in (plain, own):
            profile, state = found[cid]
            assert profile == await profile_for_connector(conn, connector_id=cid)
            assert state == await get_state(conn, connector_id=cid)
        assert found[own][0].batch_size == 3 and found[own][1].window_used == 7
        assert found[plain][0].name == "Moderate" and found[plain][1].window_used == 0
