"""`comradarr secrets rotate` against running services, SECRET_KEY from the environment:
every secret re-encrypted in one transaction, the services switch without a restart and a
connector syncs right after; a rotation that fails half-way changes nothing."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from comradarr_arrsim import Flavor, LibrarySpec, Simulator, serve_in_thread
from comradarr_channels import create_channel
from comradarr_connectors import create_connector
from comradarr_crypto import SecretBox, aad_for
from comradarr_gateway.keyrotation import current_keyring
from comradarr_proto import RequestSweep
from comradarr_runtime import Runner, available_services, load_service
from comradarr_settings import CoreSettings, load_settings

from tests.support import wait_for

pytestmark = pytest.mark.integration

OLD = "old-secret-key-0123456789abcdef0123456789"
NEW = "new-secret-key-fedcba9876543210fedcba9876"
API_KEY = "rotation-test-api-key-00000000000000000"
CLI = [sys.executable, "-m", "comradarr_runtime.cli", "secrets"]


def _env(database_url: str, nats_url: str, prefix: str, data: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "NATS_URL", "SECRET_KEY"} and not k.startswith("TEST_")
    }
    env.update(
        DATABASE_URL=database_url,
        NATS_URL=nats_url,
        COMRADARR_BUS_PREFIX=prefix,
        COMRADARR_DATA_DIR=str(data),
        SECRET_KEY=OLD,
        **extra,
    )
    return env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=120)


async def _key_ids(pool: asyncpg.Pool) -> set[bytes]:
    rows = await pool.fetch(
        "SELECT api_key_enc AS t FROM connectors UNION ALL"
        " SELECT secret_enc FROM notification_channels UNION ALL"
        " SELECT token_enc FROM connector_webhooks"
    )
    return {bytes(r["t"])[1:9] for r in rows}


@pytest.fixture
async def running(
    database_url: str, nats_url: str, bus_prefix: str, pool: asyncpg.Pool, private_tmp: Path
) -> AsyncIterator[tuple[Runner, Simulator, int]]:
    sim = Simulator(
        flavor=Flavor.SONARR_V3,
        api_key=API_KEY,
        spec=LibrarySpec(series=3, seasons=1, episodes_per_season=4, movies=0),
    )
    server = serve_in_thread(sim)
    old = SecretBox(OLD)
    async with pool.acquire() as conn:
        connector = await create_connector(
            conn, box=old, type="sonarr", name="Sim TV", url=server.url, api_key=API_KEY
        )
        await create_channel(
            conn,
            box=old,
            name="Hook",
            kind="apprise",
            url="json://127.0.0.1:9/x",
            fields={},
            events=[],
        )
        await conn.execute(
            "INSERT INTO connector_webhooks (connector_id, token_enc, token_last4)"
            " VALUES ($1, $2, 'oken')",
            connector.id,
            old.encrypt(
                "webhook-token",
                aad=aad_for(table="connector_webhooks", column="token_enc", row_id=connector.id),
            ),
        )
    settings = load_settings(
        CoreSettings,
        COMRADARR_BUS_PREFIX=bus_prefix,
        COMRADARR_DATA_DIR=str(private_tmp),
        COMRADARR_DB_POOL_MIN=1,
        COMRADARR_DB_POOL_MAX=5,
        COMRADARR_SHUTDOWN_TIMEOUT=5,
        SECRET_KEY=OLD,
    )
    runner = Runner(
        [load_service(n) for n in sorted(available_services()) if n != "gateway"],
        settings=settings,
        database_url=database_url,
        nats_url=nats_url,
        http_port=None,
        client_name="rotation-test",
    )
    await runner.start()
    try:
        yield runner, sim, connector.id
    finally:
        await runner.stop()
        server.stop()


async def _sweep_succeeds(runner: Runner, pool: asyncpg.Pool, connector_id: int, tag: str) -> None:
    await runner.contexts[0].bus.publish(
        RequestSweep(connector_id=connector_id, sync_mode="full", message_id=f"sweep-{tag}")
    )

    async def done() -> bool:
        return bool(
            await pool.fetchval(
                "SELECT outcome FROM sync_runs WHERE message_id = $1 AND outcome <> 'running'",
                f"sweep-{tag}",
            )
        )

    await wait_for(done, timeout=60)
    outcome = await pool.fetchval(
        "SELECT outcome || coalesce(': ' || error, '') FROM sync_runs WHERE message_id = $1",
        f"sweep-{tag}",
    )
    assert outcome == "success", outcome


async def test_rotation_from_the_environment_switches_running_services(
    running: tuple[Runner, Simulator, int],
    pool: asyncpg.Pool,
    database_url: str,
    nats_url: str,
    bus_prefix: str,
    private_tmp: Path,
) -> None:
    runner, sim, connector_id = running
    old_id, new_id = SecretBox(OLD).key_id, SecretBox(NEW).key_id
    assert await _key_ids(pool) == {old_id}
    env = _env(database_url, nats_url, bus_prefix, private_tmp / "cli")
    # From the environment, the new key must be given (never made up and lost).
    refused = await asyncio.to_thread(_cli, env, "rotate")
    assert refused.returncode == 1 and "--new-key-file" in refused.stderr
    key_file = private_tmp / "new.key"
    key_file.write_text("too-short\n")
    short = await asyncio.to_thread(_cli, env, "rotate", "--new-key-file", str(key_file))
    assert short.returncode == 1 and "at least 32" in short.stderr
    key_file.write_text(NEW + "\n")
    done = await asyncio.to_thread(_cli, env, "rotate", "--new-key-file", str(key_file))
    assert done.returncode == 0, done.stderr
    assert "3 secret(s) re-encrypted" in done.stdout
    assert "set SECRET_KEY to the new key" in done.stdout and NEW not in done.stdout
    assert "comradarr backup create" in done.stdout  # older backups need the previous key
    assert await _key_ids(pool) == {new_id}
    # The running services hold the new key and use it, without a restart.
    for ctx in runner.contexts:
        assert ctx.box.key_id == new_id
    before = len(sim.requests)
    await _sweep_succeeds(runner, pool, connector_id, "after-rotation")
    assert len(sim.requests) > before
    # A service restarted before the deployment has the new SECRET_KEY still switches...
    assert (await current_keyring(pool, OLD)).key_id == new_id
    # ... and one given the new key needs nothing else.
    assert (await current_keyring(pool, NEW)).key_id == new_id
    status = await asyncio.to_thread(_cli, {**env, "SECRET_KEY": NEW}, "status")
    assert status.returncode == 0 and new_id.hex() in status.stdout
    forgot = await asyncio.to_thread(_cli, {**env, "SECRET_KEY": NEW}, "forget-old")
    assert forgot.returncode == 0 and "1 handed-over key(s) deleted" in forgot.stdout
    assert (await current_keyring(pool, OLD)).key_id == old_id  # the old key opens nothing


async def test_a_rotation_that_fails_half_way_changes_nothing(
    running: tuple[Runner, Simulator, int],
    pool: asyncpg.Pool,
    database_url: str,
    nats_url: str,
    bus_prefix: str,
    private_tmp: Path,
) -> None:
    runner, _sim, connector_id = running
    old_id, new_id = SecretBox(OLD).key_id, SecretBox(NEW).key_id
    # The channel's secret is moved onto the webhook row: it no longer authenticates there,
    # and the webhook table is rotated after the connectors and channels.
    await pool.execute(
        "UPDATE connector_webhooks SET token_enc = (SELECT secret_enc FROM notification_channels)"
    )
    snapshot = await pool.fetch(
        "SELECT api_key_enc FROM connectors UNION ALL SELECT secret_enc FROM notification_channels"
    )
    env = _env(database_url, nats_url, bus_prefix, private_tmp / "cli", NEW_SECRET_KEY=NEW)
    failed = await asyncio.to_thread(_cli, env, "rotate")
    assert failed.returncode == 1
    assert "nothing changed" in failed.stderr and "connector_webhooks.token_enc" in failed.stderr
    after = await pool.fetch(
        "SELECT api_key_enc FROM connectors UNION ALL SELECT secret_enc FROM notification_channels"
    )
    assert after == snapshot
    assert await _key_ids(pool) == {old_id}
    assert await pool.fetchval("SELECT count(*) FROM secret_key_handoffs") == 0
    for ctx in runner.contexts:
        assert ctx.box.key_id == old_id and not ctx.box.holds(new_id)
    await _sweep_succeeds(runner, pool, connector_id, "after-failure")
