"""The event loop every Comradarr process runs on."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import uvloop

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on uvloop: libuv's loop roughly halves the per-request cost of socket
    I/O (HTTP and asyncpg), which dominates the gateway's CPU under load."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)
