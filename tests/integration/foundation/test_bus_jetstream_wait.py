"""A service started while JetStream is unavailable waits for it instead of crashing.

Found by the distributed chaos test: a service restarted while a node of the NATS cluster
was down got a timeout from the JetStream API while declaring its streams, and exited.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import asyncpg
import nats.errors
import pytest
from comradarr_bus import Bus, Delivery, Subscription
from comradarr_embedded import EmbeddedNats, find_nats_server, free_port
from comradarr_proto import RequestSweep

from tests.support import wait_for

pytestmark = pytest.mark.integration


def _plain_nats(port: int) -> subprocess.Popen[bytes]:
    """A nats-server without JetStream: every JetStream request goes unanswered."""
    proc = subprocess.Popen(
        [find_nats_server(), "-a", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with __import__("socket").create_connection(("127.0.0.1", port), 0.2):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("nats-server did not start")


async def test_connect_waits_until_jetstream_answers(private_tmp: Path, pool: asyncpg.Pool) -> None:
    port = free_port()
    plain = _plain_nats(port)
    server = EmbeddedNats(private_tmp / "nats", port=port)
    bus = Bus(url=server.url, prefix="jswait", client_name="jswait-test", pool=pool)
    await pool.execute("CREATE TABLE seen (connector_id int)")

    async def handler(msg: RequestSweep, d: Delivery) -> None:
        async with d.once() as conn:
            await conn.execute("INSERT INTO seen VALUES ($1)", msg.connector_id)

    try:
        connecting = asyncio.create_task(bus.connect(retry_for=30))
        await asyncio.sleep(1.5)
        assert not connecting.done(), "connect gave up while JetStream was unavailable"
        plain.kill()
        plain.wait()
        await asyncio.to_thread(server.start)  # the same port, now with JetStream
        await asyncio.wait_for(connecting, timeout=30)
        await bus.subscribe(Subscription(RequestSweep, durable="waiter", handler=handler))
        await bus.publish(RequestSweep(connector_id=7))
        await wait_for(lambda: pool.fetchval("SELECT count(*) = 1 FROM seen"), timeout=20)
    finally:
        plain.kill()
        plain.wait()
        await bus.stop(timeout=2)
        await asyncio.to_thread(server.stop)


async def test_connect_gives_up_after_retry_for(pool: asyncpg.Pool) -> None:
    port = free_port()
    plain = _plain_nats(port)
    bus = Bus(url=f"nats://127.0.0.1:{port}", prefix="jsgone", client_name="t", pool=pool)
    try:
        started = time.monotonic()
        with pytest.raises(nats.errors.Error):
            await bus.connect(retry_for=1.5)
        assert time.monotonic() - started >= 1.5
    finally:
        await bus.stop(timeout=2)
        plain.kill()
        plain.wait()
