"""Configuration export -> import on an empty install gives the same configuration; an
import with anything wrong lists every problem and changes nothing."""

from __future__ import annotations

import asyncio
import copy
import json
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from comradarr_bus import Bus
from comradarr_channels import get_secret, list_channels
from comradarr_connectors import get_api_key, list_connectors
from comradarr_crypto import PasswordHasher, SecretBox
from comradarr_db import create_pool
from comradarr_gateway.service import create_app
from comradarr_runtime import ServiceContext
from comradarr_settings import CoreSettings

from tests.conftest import _fresh_database, private_dir
from tests.integration.foundation.test_cli import CLI, base_env

from .conftest import PASSWORD, Clock, Harness, make_settings

pytestmark = pytest.mark.integration

SONARR_KEY = "a" * 32
RADARR_KEY = "b" * 32
HOOK = "json://127.0.0.1:9/hook"
DISCORD = "https://discord.com/api/webhooks/123456/abcdefghijklmnop"


@asynccontextmanager
async def second_install(
    pg_admin_url: str, template: str, nats_url: str, prefix: str
) -> AsyncIterator[Harness]:
    """Another install: its own empty database, data directory and SECRET_KEY."""
    async for url in _fresh_database(pg_admin_url, template):
        pool = await create_pool(url)
        data = private_dir("install-b")
        core = CoreSettings(COMRADARR_DATA_DIR=data, COMRADARR_BUS_PREFIX=prefix)
        bus = Bus(url=nats_url, prefix=prefix, client_name="gateway-b", pool=pool)
        await bus.connect(retry_for=5)
        ctx = ServiceContext(
            name="gateway", settings=core, pool=pool, bus=bus, secret_key=core.resolved_secret_key()
        )
        clock = Clock()
        app = create_app(ctx, settings=make_settings(), hasher=PasswordHasher.cheap(), clock=clock)
        h = Harness(app=app, ctx=ctx, pool=pool, bus=bus, clock=clock, data_dir=data)
        try:
            yield h
        finally:
            for c in h.clients:
                await c.aclose()
            await bus.stop(timeout=1)
            await pool.close()


async def _populate(harness: Harness, admin: httpx.AsyncClient) -> None:
    r = await admin.patch(
        "/api/v1/settings",
        json={
            "general": {"timezone": "Europe/Berlin", "app_name": "Home media"},
            "search": {"season_pack_threshold": 0.7, "priority_weights": {"age": 3.5}},
            "maintenance": {"search_history_days": 40, "cron": "0 5 * * 1"},
            "notifications": {"delivery_log_retention_days": 12},
        },
    )
    assert r.status_code == 200, r.text
    r = await admin.post(
        "/api/v1/throttle-profiles",
        json={"name": "Gentle", "requests_per_minute": 2, "daily_budget": 150},
    )
    assert r.status_code == 201, r.text
    gentle = r.json()["id"]
    tv = await harness.add_connector(admin, "TV")
    await harness.add_connector(admin, "Films", kind="radarr")
    await harness.pool.execute("UPDATE connectors SET throttle_profile_id = $1", gentle)
    r = await admin.post(
        "/api/v1/schedules",
        json={
            "name": "Nightly full",
            "connector_id": tv,
            "cron": "30 2 * * *",
            "sync_mode": "full",
            "timezone": "America/New_York",
        },
    )
    assert r.status_code == 201, r.text
    for body in (
        {"name": "Hook", "url": HOOK, "events": ["search_exhausted"], "digest_minutes": 15},
        {
            "name": "Chat",
            "kind": "discord",
            "fields": {"webhook_url": DISCORD, "username": "Comradarr"},
            "quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Europe/Berlin"},
        },
    ):
        r = await admin.post("/api/v1/notifications/channels", json=body)
        assert r.status_code == 201, r.text


def _secrets() -> dict[str, Any]:
    return {
        "connectors": {"TV": SONARR_KEY, "Films": RADARR_KEY},
        "channels": {"Hook": {"url": HOOK}, "Chat": {"fields": {"webhook_url": DISCORD}}},
    }


def _same(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "exported_at"}


async def test_export_then_import_on_an_empty_install_is_the_same_configuration(
    harness: Harness,
    admin: httpx.AsyncClient,
    pg_admin_url: str,
    migrated_template: str,
    nats_url: str,
    bus_prefix: str,
) -> None:
    await _populate(harness, admin)
    exported = (await admin.get("/api/v1/config/export")).json()
    text = str(exported)
    for secret in (SONARR_KEY, RADARR_KEY, HOOK, DISCORD, "abcdefghijklmnop", "k" * 32):
        assert secret not in text  # no secret, not even masked parts of one
    assert {s["name"] for s in exported["schedules"]} >= {"Nightly full"}
    async with second_install(pg_admin_url, migrated_template, nats_url, bus_prefix) as other:
        await other.setup_admin()
        b = await other.login()
        assert (await b.get("/api/v1/config/export")).json()["connectors"] == []
        r = await b.post(
            "/api/v1/config/import",
            json={"config": exported, "secrets": _secrets(), "current_password": PASSWORD},
        )
        assert r.status_code == 201, r.text
        assert r.json()["connectors"] == 2 and r.json()["notification_channels"] == 2
        again = (await b.get("/api/v1/config/export")).json()
        assert _same(again) == _same(exported)
        assert (await b.get("/api/v1/settings")).json()["general"]["timezone"] == "Europe/Berlin"
        # The secrets given again are stored encrypted under this install's own key.
        box = SecretBox(other.ctx.secret_key)
        assert box.key_id != SecretBox(harness.ctx.secret_key).key_id
        async with other.pool.acquire() as conn:
            keys = {
                c.name: await get_api_key(conn, box=box, connector_id=c.id)
                for c in await list_connectors(conn)
            }
            urls = {
                c.name: (await get_secret(conn, box=box, channel_id=c.id)).url
                for c in await list_channels(conn)
            }
        assert keys == {"TV": SONARR_KEY, "Films": RADARR_KEY}
        assert urls["Hook"] == HOOK and "abcdefghijklmnop" in urls["Chat"]
        # Importing the same file again: every name is taken, nothing is doubled.
        r = await b.post(
            "/api/v1/config/import",
            json={"config": exported, "secrets": _secrets(), "current_password": PASSWORD},
        )
        assert r.status_code == 422
        assert "connector 'TV' already exists in this install" in r.json()["detail"]
        assert len((await b.get("/api/v1/config/export")).json()["connectors"]) == 2


async def _counts(harness: Harness) -> tuple[int, ...]:
    tables = ("settings", "throttle_profiles", "connectors", "schedules", "notification_channels")
    return tuple(
        [await harness.pool.fetchval(f"SELECT count(*) FROM {t}") for t in tables]  # noqa: S608
    )


async def test_a_bad_import_lists_every_problem_and_changes_nothing(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    await _populate(harness, admin)
    exported = (await admin.get("/api/v1/config/export")).json()
    doc = copy.deepcopy(exported)
    for c in doc["connectors"]:
        c["name"] += " copy"
    for s in doc["schedules"]:
        s["connector"] += " copy"
    for ch in doc["notification_channels"]:
        ch["name"] += " copy"
    doc["throttle_profiles"][0]["name"] = "Gentle copy"
    by_name = {c["name"]: c for c in doc["connectors"]}
    by_name["TV copy"]["url"] = "file:///etc/passwd"
    by_name["Films copy"]["throttle_profile"] = "Nope"
    by_name["Films copy"]["shell"] = "$(reboot)"
    doc["schedules"][0]["cron"] = "61 * * * *"
    doc["settings"]["general"]["timezone"] = "UTC'; DROP TABLE users; --"
    doc["settings"]["search"]["season_pack_threshold"] = 10**9
    secrets = {
        "connectors": {"TV copy": SONARR_KEY, "Typo": "x" * 32},
        "channels": {"Hook copy": {"url": "file:///etc/shadow"}},
    }
    before = await _counts(harness)
    r = await admin.post(
        "/api/v1/config/import",
        json={"config": doc, "secrets": secrets, "current_password": PASSWORD},
    )
    assert r.status_code == 422, r.text
    problems = "\n".join(r.json()["detail"])
    for expected in (
        "'TV copy': url: Value error, must start with http:// or https://",
        "connector 'Films copy': its API key is needed",
        "connector 'Films copy': throttle profile 'Nope' is unknown",
        "'Films copy': shell: Extra inputs are not permitted",
        "not a five-field cron expression",
        "settings: general.timezone",
        "settings: search.season_pack_threshold",
        "channel 'Hook copy':",
        "channel 'Chat copy': its URL or secret fields are needed",
        "secrets.connectors names 'Typo'",
    ):
        assert expected in problems, (expected, problems.splitlines())
    assert await _counts(harness) == before
    assert (await admin.get("/api/v1/config/export")).json()["settings"] == exported["settings"]


async def test_import_needs_the_owner_and_refuses_oversized_or_malformed_bodies(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    body = {"config": {"format_version": 2}, "current_password": PASSWORD}
    r = await admin.post("/api/v1/config/import", json={**body, "current_password": "wrong"})
    assert r.status_code == 403
    _, token = await harness.api_key(admin, scope="full")
    async with harness.client() as robot:
        robot.headers["X-Api-Key"] = token
        assert (await robot.get("/api/v1/config/export")).status_code == 200
        assert (await robot.post("/api/v1/config/import", json=body)).status_code == 403
    async with harness.client() as anon:
        assert (await anon.get("/api/v1/config/export")).status_code == 401
        assert (await anon.post("/api/v1/config/import", json=body)).status_code == 401
    huge = {**body, "config": {"connectors": [{"name": "x" * 1000}] * 2000}}
    r = await admin.post("/api/v1/config/import", json=huge)
    assert r.status_code == 413
    r = await admin.post(
        "/api/v1/config/import",
        content=b'{"config": {"connectors": [',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 422
    for config in (
        {"format": "other-tool"},
        {"format_version": 3},
        {"connectors": "all"},
        {"connectors": [{}] * 201},
        {"notification_channels": [{"name": "x", "fields": [1, 2]}]},
        {"notification_channels": [{"name": {"$gt": ""}, "kind": "apprise"}]},
        {"connectors": [{"name": ["TV"], "type": "sonarr", "url": "http://a"}]},
        {"schedules": [{"connector": "TV", "cron": "0 0 * * *", "timezone": "UTC", "x": 1}]},
    ):
        # Secrets for every name tried, so each item reaches its own checks.
        secrets = {
            "connectors": {"TV": SONARR_KEY, "['TV']": SONARR_KEY},
            "channels": {"x": {"url": HOOK}, "{'$gt': ''}": {"url": HOOK}},
        }
        r = await admin.post(
            "/api/v1/config/import", json={**body, "config": config, "secrets": secrets}
        )
        assert r.status_code == 422, (config, r.text)
    assert (await admin.get("/api/v1/config/export")).json()["connectors"] == []


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "config", *args], env=env, capture_output=True, text=True, timeout=120, stdin=None
    )


async def test_the_cli_exports_and_imports_the_same_way(
    harness: Harness,
    admin: httpx.AsyncClient,
    pg_admin_url: str,
    migrated_template: str,
    database_url: str,
    private_tmp: Path,
) -> None:
    await _populate(harness, admin)
    env = base_env(private_tmp / "a", DATABASE_URL=database_url)
    out = private_tmp / "config.json"
    done = await asyncio.to_thread(_cli, env, "export", "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert out.stat().st_mode & 0o077 == 0
    exported = json.loads(out.read_text())
    assert SONARR_KEY not in out.read_text()
    async for url in _fresh_database(pg_admin_url, migrated_template):
        target = base_env(private_tmp / "b", DATABASE_URL=url, SECRET_KEY="c" * 40)
        # Without the secrets (and no terminal to ask on): every missing one is named.
        done = await asyncio.to_thread(_cli, target, "import", str(out))
        assert done.returncode == 1
        assert "nothing was imported" in done.stderr
        assert "connector 'TV': its API key is needed" in done.stderr
        secrets = private_tmp / "secrets.json"
        secrets.write_text(json.dumps(_secrets()))
        done = await asyncio.to_thread(_cli, target, "import", str(out), "--secrets", str(secrets))
        assert done.returncode == 0, done.stderr
        assert "2 connectors" in done.stdout
        again = await asyncio.to_thread(_cli, target, "export")
        assert _same(json.loads(again.stdout)) == _same(exported)
        broken = private_tmp / "broken.json"
        broken.write_text('{"connectors": [')
        done = await asyncio.to_thread(_cli, target, "import", str(broken))
        assert done.returncode == 1 and "is not JSON" in done.stderr


async def test_a_file_without_settings_leaves_the_settings_alone(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    r = await admin.patch("/api/v1/settings", json={"search": {"air_delay_hours": 9}})
    assert r.status_code == 200
    config = {"connectors": [{"type": "radarr", "name": "Films", "url": "http://127.0.0.1:9/"}]}
    r = await admin.post(
        "/api/v1/config/import",
        json={
            "config": config,
            "secrets": {"connectors": {"Films": RADARR_KEY}},
            "current_password": PASSWORD,
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["settings"] == 0 and r.json()["connectors"] == 1
    assert (await admin.get("/api/v1/settings")).json()["search"]["air_delay_hours"] == 9


async def test_an_older_file_imports_its_search_keys_and_schedule_profiles_where_they_live(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    """Cooldown, backoff and attempts moved to the throttle profile and the old 0-100
    weights are gone: such keys are dropped; a schedule's profile goes to its connector."""
    config = {
        "settings": {
            "search": {
                "cooldown_hours": 24,
                "backoff_multiplier": 2,
                "max_attempts": 5,
                "priority_weights": {"gap": 1.0, "upgrade": 0.5, "age": 1.0},
                "season_pack_threshold": 0.8,
            }
        },
        "throttle_profiles": [{"name": "Gentle", **_profile_values()}],
        "connectors": [{"type": "radarr", "name": "Films", "url": "http://127.0.0.1:9/"}],
        "schedules": [
            {
                "connector": "Films",
                "cron": "0 3 * * *",
                "timezone": "UTC",
                "throttle_profile": "Gentle",
            }
        ],
    }
    r = await admin.post(
        "/api/v1/config/import",
        json={
            "config": config,
            "secrets": {"connectors": {"Films": RADARR_KEY}},
            "current_password": PASSWORD,
        },
    )
    assert r.status_code == 201, r.text
    search = (await admin.get("/api/v1/settings")).json()["search"]
    assert search["season_pack_threshold"] == 0.8
    assert search["priority_weights"]["age"] == 30.0  # the old scale's value was not kept
    (films,) = (await admin.get("/api/v1/connectors")).json()
    profiles = {p["id"]: p["name"] for p in (await admin.get("/api/v1/throttle-profiles")).json()}
    assert profiles[films["throttle_profile_id"]] == "Gentle"


def _profile_values() -> dict[str, Any]:
    from comradarr_throttle import EDITABLE, MODERATE

    values = {k: getattr(MODERATE, k) for k in EDITABLE if k != "name"}
    values["budget_reset_time"] = MODERATE.budget_reset_time.strftime("%H:%M")
    return values
