"""The Maintenance API: sizes, runs, retention settings (validated, saved, shown), run now."""

from __future__ import annotations

import httpx
import pytest

from .conftest import Harness

pytestmark = pytest.mark.integration


async def test_overview_shows_sizes_next_run_and_defaults(admin: httpx.AsyncClient) -> None:
    r = await admin.get("/api/v1/maintenance")
    assert r.status_code == 200, r.text
    body = r.json()
    names = {t["name"] for t in body["tables"]}
    assert {"search_history", "sessions", "maintenance_runs"} <= names
    assert body["database_bytes"] > 0
    assert body["next_run_at"] is not None and body["running"] is False
    retention = body["retention"]
    assert retention["maintenance"]["search_history_days"] == 90
    assert retention["maintenance"]["cron"] == "0 4 * * 0"
    assert retention["delivery_log_retention_days"] == 30


async def test_retention_settings_are_validated_and_saved(admin: httpx.AsyncClient) -> None:
    bad = [
        {"search_history_days": 3},
        {"processed_messages_days": 2},  # shorter than JetStream may redeliver
        {"cron": "every sunday"},
        {"cron": "0 4 * * 0 ; DROP TABLE users"},
        {"dead_letters_days": "30 days"},
        {"api_key_usage_days": 10**12},
        {"vacuum": True},
    ]
    for patch in bad:
        r = await admin.patch("/api/v1/settings", json={"maintenance": patch})
        assert r.status_code == 422, (patch, r.text)
    r = await admin.patch(
        "/api/v1/settings",
        json={"maintenance": {"search_history_days": 45, "cron": "15  2 * * *", "enabled": True}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["maintenance"]["cron"] == "15 2 * * *"
    body = (await admin.get("/api/v1/maintenance")).json()
    assert body["retention"]["maintenance"]["search_history_days"] == 45
    assert body["next_run_at"].endswith("02:15:00Z")
    r = await admin.patch("/api/v1/settings", json={"maintenance": {"enabled": False}})
    assert (await admin.get("/api/v1/maintenance")).json()["next_run_at"] is None


async def test_run_now_is_refused_while_a_run_goes_on(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    r = await admin.post("/api/v1/maintenance/run")
    assert r.status_code == 202, r.text
    await harness.pool.execute(
        "INSERT INTO maintenance_runs (trigger, request_id, status) VALUES ('manual', 'x', 'running')"
    )
    r = await admin.post("/api/v1/maintenance/run")
    assert r.status_code == 409 and "still running" in r.json()["detail"]
    body = (await admin.get("/api/v1/maintenance")).json()
    assert body["running"] is True and body["last_run"] is None


async def test_strangers_and_read_keys_cannot_run_it(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    async with harness.client() as anon:
        assert (await anon.get("/api/v1/maintenance")).status_code == 401
        assert (await anon.post("/api/v1/maintenance/run")).status_code == 401
    _, token = await harness.api_key(admin, scope="read")
    async with harness.client() as reader:
        reader.headers["X-Api-Key"] = token
        assert (await reader.get("/api/v1/maintenance")).status_code == 200
        assert (await reader.post("/api/v1/maintenance/run")).status_code == 403
