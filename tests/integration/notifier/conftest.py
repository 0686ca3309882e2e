"""Notifier harness: the real service on PostgreSQL and NATS, a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from comradarr_bus import Bus
from comradarr_channels import QuietHours, build_url, create_channel, normalise_events
from comradarr_connectors import create_connector
from comradarr_crypto import SecretBox
from comradarr_notifier.config import NotifierConfig
from comradarr_notifier.service import NotifierService, subscriptions
from comradarr_runtime import ServiceContext
from comradarr_settings import CoreSettings

SECRET_KEY = "notifier-test-secret-key-0123456789abcdef"


class Clock:
    """A settable clock (digest windows, quiet hours, retry backoff)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@dataclass
class Harness:
    pool: asyncpg.Pool
    bus: Bus
    service: NotifierService
    clock: Clock
    box: SecretBox
    connector_id: int

    async def channel(
        self,
        name: str,
        kind: str,
        fields: dict[str, str],
        *,
        events: list[str] | None = None,
        digest_minutes: int = 0,
        quiet: QuietHours | None = None,
    ) -> int:
        async with self.pool.acquire() as conn:
            ch = await create_channel(
                conn,
                box=self.box,
                name=name,
                kind=kind,
                url=build_url(kind, fields),
                fields=fields,
                events=normalise_events(events),
                digest_minutes=digest_minutes,
                quiet=quiet,
            )
        return ch.id

    async def deliveries(self) -> list[Any]:
        return list(await self.pool.fetch("SELECT * FROM notification_deliveries ORDER BY id"))

    async def subscribe(self) -> None:
        for sub in subscriptions(self.service):
            await self.bus.subscribe(sub)


@pytest.fixture
async def harness(
    pool: asyncpg.Pool, nats_url: str, bus_prefix: str, private_tmp: Path
) -> AsyncIterator[Harness]:
    core = CoreSettings(
        COMRADARR_DATA_DIR=private_tmp, COMRADARR_BUS_PREFIX=bus_prefix, SECRET_KEY=SECRET_KEY
    )
    bus = Bus(url=nats_url, prefix=bus_prefix, client_name="notifier-test", pool=pool)
    await bus.connect(retry_for=5)
    ctx = ServiceContext(name="notifier", settings=core, pool=pool, bus=bus, secret_key=SECRET_KEY)
    clock = Clock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    config = NotifierConfig(
        max_attempts=3, retry_backoff_seconds=(10.0, 20.0), send_timeout_seconds=5
    )
    service = NotifierService(ctx=ctx, config=config, clock=clock)
    box = SecretBox(SECRET_KEY)
    async with pool.acquire() as conn:
        connector = await create_connector(
            conn,
            box=box,
            type="sonarr",
            name="Sonarr",
            url="http://127.0.0.1:1",
            api_key="sonarr-key-0000000000000000000000",
        )
        await conn.execute(
            "INSERT INTO series (connector_id, arr_id, title) VALUES ($1, 10, 'Quiet Crown')",
            connector.id,
        )
        await conn.execute(
            "INSERT INTO episodes (connector_id, arr_id, series_arr_id, season_number,"
            " episode_number) SELECT $1, 100 + n, 10, 2, n FROM generate_series(1, 12) n",
            connector.id,
        )
        await conn.execute(
            "INSERT INTO search_registry (connector_id, content_type, episode_id, search_type)"
            " SELECT $1, 'episode', id, 'gap' FROM episodes WHERE connector_id = $1"
            " ORDER BY arr_id",
            connector.id,
        )
    h = Harness(
        pool=pool, bus=bus, service=service, clock=clock, box=box, connector_id=connector.id
    )
    try:
        yield h
    finally:
        await bus.stop(timeout=1)


@pytest.fixture
def h(harness: Harness) -> Harness:
    """The harness, by its short name."""
    return harness
