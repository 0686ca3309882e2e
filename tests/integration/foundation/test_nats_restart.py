"""NATS restarted mid-run: the bus reconnects and the service carries on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest
from comradarr_bus import Bus, Delivery, Subscription
from comradarr_embedded import EmbeddedNats
from comradarr_proto import RequestSweep

from tests.support import wait_for

pytestmark = pytest.mark.integration


async def test_consumer_survives_a_nats_restart(private_tmp: Path, pool: asyncpg.Pool) -> None:
    server = EmbeddedNats(private_tmp / "nats")
    await asyncio.to_thread(server.start)
    await pool.execute("CREATE TABLE seen (connector_id int)")

    async def handler(msg: RequestSweep, d: Delivery) -> None:
        async with d.once() as conn:
            await conn.execute("INSERT INTO seen VALUES ($1)", msg.connector_id)

    bus = Bus(url=server.url, prefix="restart", client_name="restart-test", pool=pool)
    try:
        await bus.connect()
        await bus.subscribe(Subscription(RequestSweep, durable="survivor", handler=handler))
        await bus.publish(RequestSweep(connector_id=1))
        await wait_for(lambda: pool.fetchval("SELECT count(*) = 1 FROM seen"))

        server.kill()
        await wait_for(lambda: not bus.connected)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(server.start)  # same port, same store
        await wait_for(lambda: bus.connected, timeout=20)

        async def publish_when_ready() -> bool:
            try:
                await bus.publish(RequestSweep(connector_id=2), timeout=1.0)
            except Exception:
                return False
            return True

        await wait_for(publish_when_ready, timeout=20)
        await wait_for(lambda: pool.fetchval("SELECT count(*) = 2 FROM seen"), timeout=20)
    finally:
        await bus.stop(timeout=2)
        await asyncio.to_thread(server.stop)
