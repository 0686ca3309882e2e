"""A populated install (connector synced from a simulated Sonarr, schedules, searches and
their history, users, an API key), backed up and restored into a fresh database, works
there: the owner signs in, the queue is the same, and a sync with the connector's restored
(still encrypted) key succeeds. (Backing up while services run: test_cli.)"""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from comradarr_arrsim import Flavor, LibrarySpec, Simulator, serve_in_thread
from comradarr_backup import create_backup, restore_from
from comradarr_bus import Bus, delete_streams
from comradarr_crypto import PasswordHasher
from comradarr_db import PoolConfig, create_pool
from comradarr_gateway.service import create_app
from comradarr_runtime import Runner, ServiceContext, load_service
from comradarr_settings import CoreSettings, load_settings

from tests.support import wait_for

from .conftest import ADMIN, PASSWORD, Harness, make_settings

pytestmark = pytest.mark.integration
ARR_KEY = "restore-install-api-key-00000000000000000"


def _runner(settings: CoreSettings, url: str, nats_url: str, names: tuple[str, ...]) -> Runner:
    return Runner(
        [load_service(n) for n in names],
        settings=settings,
        database_url=url,
        nats_url=nats_url,
        http_port=None,
        client_name=f"restore-{uuid.uuid4().hex[:6]}",
    )


def _settings(prefix: str, data: Path, key: str) -> CoreSettings:
    return load_settings(
        CoreSettings,
        COMRADARR_BUS_PREFIX=prefix,
        COMRADARR_DATA_DIR=str(data),
        COMRADARR_DB_POOL_MIN=1,
        COMRADARR_DB_POOL_MAX=5,
        COMRADARR_SHUTDOWN_TIMEOUT=5,
        SECRET_KEY=key,
    )


async def _queue(c: httpx.AsyncClient) -> list[tuple[object, ...]]:
    r = await c.get("/api/v1/queue", params={"limit": 500})
    assert r.status_code == 200, r.text
    return sorted((i["id"], i["state"], i["title"], i.get("attempts")) for i in r.json()["items"])


async def test_a_populated_install_restored_into_a_fresh_database_works(
    harness: Harness,
    admin: httpx.AsyncClient,
    database_url: str,
    empty_database_url: str,
    nats_url: str,
    bus_prefix: str,
    pool: asyncpg.Pool,
    private_tmp: Path,
) -> None:
    sim = Simulator(
        flavor=Flavor.SONARR_V3,
        api_key=ARR_KEY,
        spec=LibrarySpec(series=4, seasons=2, episodes_per_season=5, movies=0),
    )
    server = serve_in_thread(sim)
    key = harness.ctx.secret_key
    runner = _runner(
        _settings(bus_prefix, private_tmp / "one", key),
        database_url,
        nats_url,
        ("sync", "discovery", "dispatcher", "scheduler"),
    )
    await runner.start()
    backup = io.BytesIO()
    try:
        r = await admin.post(
            "/api/v1/connectors",
            json={"type": "sonarr", "name": "TV", "url": server.url, "api_key": ARR_KEY},
        )
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        await wait_for(
            lambda: pool.fetchval(
                "SELECT count(*) > 0 FROM search_history WHERE ended_at IS NOT NULL"
            ),
            timeout=60,
        )
        await harness.api_key(admin, "read")
    finally:
        await runner.stop()
    queue = await _queue(admin)
    async with pool.acquire() as conn:
        manifest = await create_backup(conn, secret_key=key, dest=backup)
    counts = {t.table: t.rows for t in manifest.tables}
    assert counts["search_history"] > 0 and counts["episodes"] > 0 and counts["users"] == 1

    fresh = await create_pool(empty_database_url, config=PoolConfig(min_size=1, max_size=5))
    prefix2 = f"t{uuid.uuid4().hex[:12]}"
    bus2 = Bus(url=nats_url, prefix=prefix2, client_name="restored", pool=fresh)
    await bus2.connect(retry_for=5)
    runner2 = None
    try:
        async with fresh.acquire() as conn:
            backup.seek(0)
            await restore_from(conn, backup, secret_key=key)
        core = CoreSettings(
            COMRADARR_DATA_DIR=private_tmp / "two", COMRADARR_BUS_PREFIX=prefix2, SECRET_KEY=key
        )
        ctx = ServiceContext(name="gateway", settings=core, pool=fresh, bus=bus2, secret_key=key)
        app = create_app(ctx, settings=make_settings(), hasher=PasswordHasher.cheap())
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c2:
            r = await c2.post("/api/v1/auth/login", json={"username": ADMIN, "password": PASSWORD})
            assert r.status_code == 200, r.text
            c2.headers["X-CSRF-Token"] = r.json()["csrf_token"]
            # The same queue, entry for entry, in the same order.
            assert await _queue(c2) == queue
            names = [c["name"] for c in (await c2.get("/api/v1/connectors")).json()]
            assert names == ["TV"]
            schedules = (await c2.get("/api/v1/schedules", params={"connector_id": cid})).json()
            assert {s["sync_mode"] for s in schedules} == {"incremental", "full"}
            assert len((await c2.get("/api/v1/api-keys")).json()) == 1
            # A sync of the restored connector: its key decrypts, the app answers.
            runner2 = _runner(
                _settings(prefix2, private_tmp / "three", key),
                empty_database_url,
                nats_url,
                ("sync",),
            )
            await runner2.start()
            before = await fresh.fetchval("SELECT count(*) FROM sync_runs")
            r = await c2.post(f"/api/v1/connectors/{cid}/sync", json={"mode": "full"})
            assert r.status_code == 202, r.text
            await wait_for(
                lambda: fresh.fetchval(
                    "SELECT count(*) FROM sync_runs WHERE outcome = 'success' AND id > $1",
                    before,
                ),
                timeout=60,
            )
            assert await fresh.fetchval("SELECT count(*) FROM episodes") == counts["episodes"]
    finally:
        if runner2 is not None:
            await runner2.stop()
        await delete_streams(bus2.js, prefix=prefix2)
        await bus2.stop(timeout=1)
        await fresh.close()
        server.stop()
