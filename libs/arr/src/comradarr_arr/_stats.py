"""Request statistics per connector, kept in memory and published once per interval.

Every request a client with a connector id makes is counted here (a dict update and a
logarithm, about a microsecond) by UTC hour, connector and endpoint kind: requests, errors
by category and a response-time histogram (comradarr_proto.latency). A loop in each process
that calls the apps publishes what accumulated as one ArrRequestsMeasured event per
interval, so the analytics service gets exact totals without an event per request.
"""

from __future__ import annotations

import itertools
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog
from comradarr_proto import ArrRequestsMeasured, EndpointKind, ErrorCategory, RequestStats
from comradarr_proto.latency import latency_bin

log = structlog.get_logger(__name__)

_KINDS: dict[str, EndpointKind] = {
    "command": "command",
    "command/{id}": "command_status",
    "history/since": "history",
    "ping": "system",
    "system/status": "system",
    "health": "system",
    "indexer": "indexer",
    "indexerstatus": "indexer",
}
_CATEGORIES: dict[str, ErrorCategory] = {
    "authentication": "auth",
    "rate_limited": "rate_limited",
    "server": "server",
    "not_found": "client",
    "application": "client",
}


def endpoint_kind(endpoint: str) -> EndpointKind:
    """What a client endpoint name is for (anything else reads the library)."""
    return _KINDS.get(endpoint, "library")


def error_category(category: str) -> ErrorCategory:
    """The analytics category of an ArrError category (network errors have several)."""
    return _CATEGORIES.get(category, "network")


@dataclass(slots=True)
class _Cell:
    requests: int = 0
    errors: dict[ErrorCategory, int] = field(default_factory=dict)
    latency: dict[int, int] = field(default_factory=dict)


class RequestStatsCollector:
    """One process's request counts by (UTC hour, connector, kind) since the last drain."""

    def __init__(self, *, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall
        self._cells: dict[tuple[int, int, EndpointKind], _Cell] = {}

    def record(
        self, *, connector_id: int, endpoint: str, seconds: float, error: str | None = None
    ) -> None:
        """Count one request: its endpoint name, how long it took, its ArrError category."""
        key = (int(self._wall() // 3600), connector_id, endpoint_kind(endpoint))
        cell = self._cells.get(key)
        if cell is None:
            cell = self._cells[key] = _Cell()
        cell.requests += 1
        if error is not None:
            category = error_category(error)
            cell.errors[category] = cell.errors.get(category, 0) + 1
        index = latency_bin(seconds * 1000.0)
        cell.latency[index] = cell.latency.get(index, 0) + 1

    def drain(self) -> list[RequestStats]:
        """What was counted since the last drain (and forget it)."""
        cells, self._cells = self._cells, {}
        return [
            RequestStats(
                hour=datetime.fromtimestamp(hour * 3600, UTC),
                connector_id=connector_id,
                kind=kind,
                requests=cell.requests,
                errors=cell.errors,
                latency=cell.latency,
            )
            for (hour, connector_id, kind), cell in sorted(cells.items())
        ]


# The process's collector: every ArrClient whose config names a connector id counts here.
REQUEST_STATS = RequestStatsCollector()

Publish = Callable[[ArrRequestsMeasured], Awaitable[Any]]
# Unsent batches kept for the next try while the bus is away (an hour at one a minute).
MAX_PENDING = 60


@dataclass
class RequestStatsPublisher:
    """Publishes the collector's counts every interval; a batch that could not be published
    is retried with the same message id (JetStream drops the copy if it did get through)."""

    publish: Publish
    collector: RequestStatsCollector = REQUEST_STATS
    source: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    _run: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _pending: list[ArrRequestsMeasured] = field(default_factory=list)

    async def flush(self) -> int:
        """Publish what was counted and what is still unsent; returns the batches left."""
        stats = self.collector.drain()
        if stats:
            self._pending.append(
                ArrRequestsMeasured(
                    message_id=f"arr.requests:{self._run}:{next(self._seq)}",
                    source=self.source,
                    stats=stats,
                )
            )
        while self._pending:
            try:
                await self.publish(self._pending[0])
            except Exception as exc:  # the bus is away: keep the batch for the next flush
                log.warning("request stats not published", error=repr(exc))
                break
            self._pending.pop(0)
        if len(self._pending) > MAX_PENDING:
            dropped = len(self._pending) - MAX_PENDING
            del self._pending[:dropped]
            log.warning("request stats dropped after the bus stayed away", batches=dropped)
        return len(self._pending)


_running: set[int] = set()


async def publish_request_stats(
    publish: Publish,
    *,
    sleep: Callable[[float], Awaitable[bool]],
    interval: float,
    key: int,
    collector: RequestStatsCollector | None = None,
) -> None:
    """Flush the process's request stats every interval until sleep() says stop, then once
    more. Services of one process share the collector: only the first loop started for
    `key` (the process's bus) runs, the others return at once."""
    if key in _running:
        return
    _running.add(key)
    publisher = RequestStatsPublisher(publish=publish, collector=collector or REQUEST_STATS)
    try:
        while await sleep(interval):
            await publisher.flush()
        await publisher.flush()  # stopping: what the last interval counted
    finally:
        _running.discard(key)


class _Bus(Protocol):
    async def publish(self, msg: Any) -> Any: ...


class _Settings(Protocol):
    @property
    def arr_stats_interval_seconds(self) -> float: ...


class _Context(Protocol):
    @property
    def bus(self) -> _Bus: ...

    @property
    def settings(self) -> _Settings: ...

    async def sleep(self, seconds: float) -> bool: ...


def request_stats_loop(ctx: _Context) -> Coroutine[Any, Any, None]:
    """The stats loop of a service that calls the apps (a runtime ServiceContext)."""
    return publish_request_stats(
        ctx.bus.publish,
        sleep=ctx.sleep,
        interval=ctx.settings.arr_stats_interval_seconds,
        key=id(ctx.bus),
    )
