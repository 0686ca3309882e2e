"""Fixtures for dispatcher tests: a connected bus on the test's own prefix."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from comradarr_bus import Bus

# Helper modules next to the tests import under both pytest import modes.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
async def bus(nats_url: str, bus_prefix: str, pool: asyncpg.Pool) -> AsyncIterator[Bus]:
    """A bus connected to the test's NATS prefix."""
    b = Bus(url=nats_url, prefix=bus_prefix, client_name="dispatcher-test", pool=pool)
    await b.connect()
    try:
        yield b
    finally:
        await b.stop()
