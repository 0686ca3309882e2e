"""/api/v1/notifications: channels CRUD, the test send, the delivery log; secrets never shown."""

from __future__ import annotations

import json

import httpx
import pytest
import structlog
from comradarr_channels import get_secret
from comradarr_crypto import SecretBox

from tests.support.receivers import http_receiver

from .conftest import PASSWORD, Harness

pytestmark = pytest.mark.integration

TG_TOKEN = "987654321:AAHsecretTelegramTokenValue"
HOOK_SECRET = "s3cret-hook-path-Q7x"


def assert_no_secret(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text


async def test_channel_crud_masks_every_secret(harness: Harness, admin: httpx.AsyncClient) -> None:
    with structlog.testing.capture_logs() as logs:
        r = await admin.post(
            "/api/v1/notifications/channels",
            json={
                "name": "Phone",
                "kind": "telegram",
                "fields": {"bot_token": TG_TOKEN, "chat_id": "-100200300"},
                "events": ["connector_offline", "search_found"],
                "digest_minutes": 15,
                "quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Europe/Berlin"},
            },
        )
        assert r.status_code == 201, r.text
        ch = r.json()
        assert ch["kind"] == "telegram" and ch["status"] == "untested"
        assert ch["fields"] == {"bot_token": "****alue", "chat_id": "-100200300"}
        assert ch["url_masked"].startswith("tgram://****")
        assert ch["events"] == ["connector_offline", "search_found"]
        assert ch["quiet_hours"] == {
            "start": "22:00:00",
            "end": "07:00:00",
            "timezone": "Europe/Berlin",
        }
        # The shape: a bare Apprise URL, every event.
        r2 = await admin.post(
            "/api/v1/notifications/channels",
            json={"name": "Matrix", "url": "matrix://bot:hunter2pw@matrix.example.com/#room"},
        )
        assert r2.status_code == 201, r2.text
        assert r2.json()["kind"] == "apprise" and r2.json()["events"] == []
        # A partial edit keeps the secret; a new chat id rebuilds the URL.
        r3 = await admin.patch(
            f"/api/v1/notifications/channels/{ch['id']}",
            json={
                "fields": {"bot_token": "", "chat_id": "-999"},
                "events": ["all"],
                "enabled": False,
            },
        )
        assert r3.status_code == 200, r3.text
        assert r3.json()["fields"]["chat_id"] == "-999" and r3.json()["events"] == []
        async with harness.pool.acquire() as conn:
            stored = await get_secret(conn, box=harness.gw.box, channel_id=ch["id"])
        assert stored.url == f"tgram://{TG_TOKEN}/-999/"
        listing = await admin.get("/api/v1/notifications/channels")
        one = await admin.get(f"/api/v1/notifications/channels/{ch['id']}")
        kinds = await admin.get("/api/v1/notifications/kinds")
    for resp in (r, r2, r3, listing, one):
        assert_no_secret(resp.text, TG_TOKEN, "AAHsecret", "hunter2pw")
    assert_no_secret(json.dumps(logs, default=str), TG_TOKEN, "hunter2pw")
    assert [c["name"] for c in listing.json()] == ["Matrix", "Phone"]
    assert {k["kind"] for k in kinds.json()["channel_kinds"]} >= {"discord", "email", "apprise"}
    assert "search_found" in {k["key"] for k in kinds.json()["event_kinds"]}
    assert (await admin.delete(f"/api/v1/notifications/channels/{ch['id']}")).status_code == 204
    assert (await admin.get(f"/api/v1/notifications/channels/{ch['id']}")).status_code == 404


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"name": "x", "url": "nosuchservice://abc"}, "does not understand"),
        ({"name": "x", "kind": "discord", "fields": {"webhook_url": "http://x"}}, "discord.com"),
        ({"name": "x", "kind": "discord"}, "needs its form fields"),
        ({"name": "x", "url": "json://h/x", "events": ["nope"]}, "unknown event kind"),
        ({"name": "x", "kind": "ntfy", "fields": {"topic": "t", "extra": "1"}}, "unknown field"),
    ],
)
async def test_invalid_channels_are_422_with_a_reason(
    admin: httpx.AsyncClient, body: dict[str, object], detail: str
) -> None:
    r = await admin.post("/api/v1/notifications/channels", json=body)
    assert r.status_code == 422, r.text
    assert detail in json.dumps(r.json())


async def test_bad_quiet_hours_and_duplicate_names(admin: httpx.AsyncClient) -> None:
    r = await admin.post(
        "/api/v1/notifications/channels",
        json={"name": "q", "url": "json://h/x", "quiet_hours": {"start": "25:00", "end": "01:00"}},
    )
    assert r.status_code == 422
    ok = {"name": "Dup", "url": "json://127.0.0.1/x"}
    assert (await admin.post("/api/v1/notifications/channels", json=ok)).status_code == 201
    r = await admin.post("/api/v1/notifications/channels", json={**ok, "name": "dup"})
    assert r.status_code == 409


async def test_send_test_reaches_the_receiver_and_reports_failure(
    admin: httpx.AsyncClient,
) -> None:
    with http_receiver() as web:
        r = await admin.post(
            "/api/v1/notifications/channels",
            json={
                "name": "Hook",
                "kind": "webhook",
                "fields": {"url": f"http://{web.base}/{HOOK_SECRET}"},
            },
        )
        channel_id = r.json()["id"]
        result = await admin.post(f"/api/v1/notifications/channels/{channel_id}/test")
        assert result.status_code == 200, result.text
        assert result.json()["ok"] is True
        ch = (await admin.get(f"/api/v1/notifications/channels/{channel_id}")).json()
        assert ch["status"] == "ok" and ch["last_test_ok"] is True
        got = web.at(f"/{HOOK_SECRET}")
        assert len(got) == 1 and got[0].json()["title"] == "Comradarr · test"
        web.status = 503
        failed = await admin.post(f"/api/v1/notifications/channels/{channel_id}/test")
    assert failed.json()["ok"] is False and failed.json()["detail"]
    ch = (await admin.get(f"/api/v1/notifications/channels/{channel_id}")).json()
    assert ch["status"] == "test_failed" and ch["last_test_detail"]
    assert HOOK_SECRET not in json.dumps(ch)
    assert_no_secret(failed.text + result.text + r.text, HOOK_SECRET)
    assert (await admin.post("/api/v1/notifications/channels/999/test")).status_code == 404


async def test_delivery_log_lists_newest_first(harness: Harness, admin: httpx.AsyncClient) -> None:
    r = await admin.post("/api/v1/notifications/channels", json={"name": "L", "url": "json://h/x"})
    channel_id = r.json()["id"]
    await harness.pool.execute(
        "INSERT INTO notification_deliveries (channel_id, channel_name, event_kind, message_id,"
        " title, body, status, due_at, created_at, error) SELECT $1, 'L', 'search_found',"
        " 'm' || n, 'Sonarr · item ' || n || ' found', 'b', CASE WHEN n = 3 THEN 'failed'"
        " ELSE 'sent' END, now(), now(), CASE WHEN n = 3 THEN 'HTTP 500' END"
        " FROM generate_series(1, 3) n",
        channel_id,
    )
    await harness.pool.execute(
        "INSERT INTO notification_channel_health (channel_id, consecutive_failures, last_error)"
        " VALUES ($1, 3, 'HTTP 500')",
        channel_id,
    )
    rows = (await admin.get("/api/v1/notifications/deliveries")).json()
    assert [d["title"] for d in rows] == [f"Sonarr · item {n} found" for n in (3, 2, 1)]
    failed = (await admin.get("/api/v1/notifications/deliveries?status=failed")).json()
    assert [d["error"] for d in failed] == ["HTTP 500"]
    page = (
        await admin.get(f"/api/v1/notifications/deliveries?before_id={rows[0]['id']}&limit=1")
    ).json()
    assert [d["id"] for d in page] == [rows[1]["id"]]
    ch = (await admin.get(f"/api/v1/notifications/channels/{channel_id}")).json()
    assert ch["status"] == "failing" and ch["last_error"] == "HTTP 500"


async def test_secret_key_rotation_re_encrypts_channel_urls(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    r = await admin.post(
        "/api/v1/notifications/channels", json={"name": "R", "url": "json://127.0.0.1/rotate-me"}
    )
    channel_id = r.json()["id"]
    r = await admin.post("/api/v1/security/rotate-secret-key", json={"current_password": PASSWORD})
    assert r.status_code == 200, r.text
    assert r.json()["rotated"] >= 1
    new_key = (harness.data_dir / "secret_key").read_text().strip()
    async with harness.pool.acquire() as conn:
        secret = await get_secret(conn, box=SecretBox(new_key), channel_id=channel_id)
    assert secret.url == "json://127.0.0.1/rotate-me"


async def test_notification_settings(admin: httpx.AsyncClient) -> None:
    r = await admin.patch(
        "/api/v1/settings",
        json={
            "notifications": {
                "delivery_log_retention_days": 7,
                "public_url": "https://c.example.com/",
            }
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["notifications"] == {
        "delivery_log_retention_days": 7,
        "public_url": "https://c.example.com",
    }
    bad = await admin.patch("/api/v1/settings", json={"notifications": {"public_url": "ftp://x"}})
    assert bad.status_code == 422
