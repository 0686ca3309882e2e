"""The bus against real NATS and PostgreSQL: de-duplication, redelivery, dead letters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest
from comradarr_bus import Bus, Delivery, Subscription
from comradarr_proto import MessageDeadLettered, RequestSweep, SearchDispatched

from tests.support import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
async def make_bus(
    nats_url: str, bus_prefix: str, pool: asyncpg.Pool
) -> AsyncIterator[Callable[[], Bus]]:
    made: list[Bus] = []

    def factory() -> Bus:
        bus = Bus(url=nats_url, prefix=bus_prefix, client_name="test", pool=pool)
        made.append(bus)
        return bus

    yield factory
    for bus in made:
        await bus.stop(timeout=1)


async def setup_work_table(pool: asyncpg.Pool) -> None:
    await pool.execute("CREATE TABLE work_done (message_id text, connector_id int)")


async def recording_bus(
    make_bus: Callable[[], Bus], pool: asyncpg.Pool, model: type[RequestSweep | SearchDispatched]
) -> Bus:
    """A connected bus whose consumer of model records each message in work_done."""
    await setup_work_table(pool)
    bus = make_bus()
    await bus.connect()

    async def handler(msg: RequestSweep | SearchDispatched, d: Delivery) -> None:
        async with d.once() as conn:
            await conn.execute(
                "INSERT INTO work_done VALUES ($1, $2)", d.message_id, msg.connector_id
            )

    await bus.subscribe(Subscription(model, durable="recorder", handler=handler))
    return bus


async def test_same_message_id_published_twice_is_handled_once(
    make_bus: Callable[[], Bus], pool: asyncpg.Pool
) -> None:
    bus = await recording_bus(make_bus, pool, RequestSweep)
    msg = RequestSweep(connector_id=5, message_id="fixed-id")
    assert await bus.publish(msg) is True
    assert await bus.publish(msg) is False  # dropped by JetStream as a duplicate
    await wait_for(lambda: pool.fetchval("SELECT count(*) FROM work_done"))
    await asyncio.sleep(0.5)
    assert await pool.fetchval("SELECT count(*) FROM work_done") == 1


async def test_emitted_event_is_stored_once_and_commands_are_refused(
    make_bus: Callable[[], Bus], pool: asyncpg.Pool
) -> None:
    bus = await recording_bus(make_bus, pool, SearchDispatched)
    event = SearchDispatched(
        message_id="dispatched-1",
        connector_id=3,
        command_id=9,
        command_name="EpisodeSearch",
        registry_ids=[1],
    )
    await bus.emit(event)
    await bus.emit(event)  # no ack awaited, but the stream still de-duplicates by id
    await wait_for(lambda: pool.fetchval("SELECT count(*) FROM work_done"))
    await asyncio.sleep(0.5)
    assert await pool.fetch("SELECT message_id, connector_id FROM work_done") == [
        ("dispatched-1", 3)
    ]
    with pytest.raises(ValueError, match="is a command"):
        await bus.emit(RequestSweep(connector_id=5))  # a command's loss must not go unnoticed


async def test_consumer_killed_after_commit_before_ack_does_not_repeat_work(
    make_bus: Callable[[], Bus], pool: asyncpg.Pool
) -> None:
    await setup_work_table(pool)
    committed = asyncio.Event()
    never = asyncio.Event()
    calls = 0

    async def dying_handler(msg: RequestSweep, d: Delivery) -> None:
        nonlocal calls
        calls += 1
        async with d.once() as conn:
            await conn.execute(
                "INSERT INTO work_done VALUES ($1, $2)", d.message_id, msg.connector_id
            )
        committed.set()
        await never.wait()  # the process "dies" here: no ack ever goes out

    first = make_bus()
    await first.connect()
    sub = Subscription(RequestSweep, durable="crashy", handler=dying_handler, ack_wait=1.0)
    await first.subscribe(sub)
    await first.publish(RequestSweep(connector_id=9))
    await asyncio.wait_for(committed.wait(), 10)
    # Kill the replica abruptly: close the connection without acking.
    await first.nc.close()

    handled_again = asyncio.Event()

    async def healthy_handler(msg: RequestSweep, d: Delivery) -> None:
        try:
            async with d.once() as conn:
                await conn.execute(
                    "INSERT INTO work_done VALUES ($1, $2)", d.message_id, msg.connector_id
                )
        finally:
            handled_again.set()

    second = make_bus()
    await second.connect()
    await second.subscribe(
        Subscription(RequestSweep, durable="crashy", handler=healthy_handler, ack_wait=1.0)
    )
    await asyncio.wait_for(handled_again.wait(), 15)  # redelivered after ack_wait
    await asyncio.sleep(0.3)
    assert calls == 1
    assert await pool.fetchval("SELECT count(*) FROM work_done") == 1
    info = await second.js.consumer_info(f"{second.prefix.upper()}_COMMANDS", "crashy")
    assert info.num_ack_pending == 0 and info.num_pending == 0


async def test_failing_handler_retries_then_dead_letters(
    make_bus: Callable[[], Bus], pool: asyncpg.Pool
) -> None:
    bus = make_bus()
    await bus.connect()
    attempts: list[int] = []

    async def broken(msg: RequestSweep, d: Delivery) -> None:
        attempts.append(d.attempt)
        raise RuntimeError("arr app on fire")

    dead: list[MessageDeadLettered] = []

    async def on_dead(msg: MessageDeadLettered, d: Delivery) -> None:
        dead.append(msg)

    await bus.subscribe(Subscription(MessageDeadLettered, durable="dlq-watch", handler=on_dead))
    await bus.subscribe(
        Subscription(
            RequestSweep, durable="broken", handler=broken, max_attempts=3, backoff=(0.1, 0.2)
        )
    )
    await bus.publish(RequestSweep(connector_id=1, message_id="doomed"))
    await wait_for(lambda: dead)
    assert attempts == [1, 2, 3]
    row = await pool.fetchrow("SELECT * FROM dead_letters")
    assert row is not None
    assert (row["consumer"], row["message_id"], row["deliveries"]) == ("broken", "doomed", 3)
    assert "arr app on fire" in row["error"]
    assert dead[0].failed_message_id == "doomed"


async def test_invalid_payload_goes_straight_to_dead_letters(
    make_bus: Callable[[], Bus], pool: asyncpg.Pool
) -> None:
    bus = make_bus()
    await bus.connect()
    called = False

    async def handler(msg: RequestSweep, d: Delivery) -> None:
        nonlocal called
        called = True

    await bus.subscribe(Subscription(RequestSweep, durable="strict", handler=handler))
    await bus.js.publish(f"{bus.prefix}.cmd.sweep.1", b'{"connector_id": "not a number"}')
    await wait_for(lambda: pool.fetchval("SELECT count(*) FROM dead_letters"))
    assert not called
    assert "invalid message" in await pool.fetchval("SELECT error FROM dead_letters")
