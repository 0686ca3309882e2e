"""What holds a connector's searches back besides the throttle: its search windows and its
download queue (the rules themselves are comradarr_throttle's, shared with the gateway).

Nothing here is on a claim's path: the dispatch round asks `hold` (a dict lookup and, for
a connector with windows, the window status cached until it changes) before it looks at a
connector. The download queue is read in the background, at most once per
QUEUE_CHECK_SECONDS per connector across every replica (download_queue_readings), and a
failed read holds nothing (fail open).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from comradarr_arr import ArrClient, ArrError
from comradarr_db import Connection
from comradarr_throttle import (
    QUEUE_CHECK_SECONDS,
    Hold,
    SearchWindow,
    WindowStatus,
    parse_windows,
    politeness_hold,
    window_status,
)

log = structlog.get_logger(__name__)

# Before its first reading a connector with a limit waits this long for it at most (a read
# that hangs must not hold it back longer: fail open).
FIRST_READ_WAIT = timedelta(seconds=10)
_EVERY = timedelta(seconds=QUEUE_CHECK_SECONDS)

# One replica reads the app per interval: it moves claimed_at; the others find it moved.
_CLAIM_READ = """
INSERT INTO download_queue_readings AS d (connector_id, claimed_at) VALUES ($1, $2)
ON CONFLICT (connector_id) DO UPDATE SET claimed_at = $2
    WHERE d.claimed_at <= $3
RETURNING true
"""


@dataclass(frozen=True, slots=True)
class Rules:
    """A connector's politeness settings."""

    queue_limit: int | None
    windows: tuple[SearchWindow, ...]
    timezone: str


@dataclass(frozen=True, slots=True)
class Reading:
    """The connector's download queue as last read (total None: the read failed)."""

    total: int | None
    checked_at: datetime | None
    error: str | None = None


@dataclass
class Politeness:
    """Per-connector windows and download-queue backpressure for one dispatcher replica."""

    connection: Callable[[], contextlib.AbstractAsyncContextManager[Connection]]
    client_for: Callable[[int], Awaitable[ArrClient]]
    clock: Callable[[], datetime]
    wake: Callable[[], None]
    rules: dict[int, Rules] = field(default_factory=dict)
    readings: dict[int, Reading] = field(default_factory=dict)
    _windows: dict[int, WindowStatus] = field(default_factory=dict)
    _reading: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    _asked: dict[int, datetime] = field(default_factory=dict)
    _held: dict[int, str] = field(default_factory=dict)

    def configure(self, rows: Iterable[Any]) -> None:
        """Take each dispatchable connector's settings (rows with id, queue_limit,
        search_windows, search_timezone), as read with the list of connectors."""
        rules: dict[int, Rules] = {}
        for row in rows:
            try:
                windows = parse_windows(row["search_windows"])
            except ValueError as exc:  # the gateway validates; a bad row must not stop us
                log.warning("search windows ignored", connector_id=row["id"], error=str(exc))
                windows = ()
            rules[row["id"]] = Rules(row["queue_limit"], windows, row["search_timezone"])
        changed = {cid for cid in rules if rules[cid] != self.rules.get(cid)}
        for cid in changed | (self.rules.keys() - rules.keys()):
            self._windows.pop(cid, None)
        self.rules = rules

    def hold(self, connector_id: int, now: datetime) -> Hold | None:
        """What holds the connector back now, or None when it may search."""
        rules = self.rules.get(connector_id)
        if rules is None:
            return None
        window: WindowStatus | None = None
        if rules.windows:
            window = self._windows.get(connector_id)
            if window is None or (window.until is not None and now >= window.until):
                window = window_status(rules.windows, rules.timezone, now=now)
                self._windows[connector_id] = window
        reading = self._reading_for(connector_id, rules, now)
        if reading is None and rules.queue_limit is not None and (not window or window.open):
            asked = self._asked.get(connector_id, now)
            if now - asked < FIRST_READ_WAIT:
                return Hold("download_queue", "checking the download queue", now + FIRST_READ_WAIT)
        held = politeness_hold(
            windows=rules.windows,
            timezone=rules.timezone,
            queue_limit=rules.queue_limit,
            queue_total=reading.total if reading else None,
            queue_checked_at=reading.checked_at if reading else None,
            now=now,
            window=window,
        )
        self._note(connector_id, held)
        return held

    def _note(self, connector_id: int, held: Hold | None) -> None:
        """Log when a connector starts or stops waiting (not on every round)."""
        code = held.message if held is not None else ""
        if self._held.get(connector_id, "") == code:
            return
        self._held[connector_id] = code
        if held is not None:
            log.info("searches wait", connector_id=connector_id, reason=held.message)
        else:
            log.info("searches go on", connector_id=connector_id)

    def _reading_for(self, connector_id: int, rules: Rules, now: datetime) -> Reading | None:
        """The last reading; a new one is asked for in the background once it is due."""
        if rules.queue_limit is None:
            return None
        reading = self.readings.get(connector_id)
        due = reading is None or reading.checked_at is None or now - reading.checked_at >= _EVERY
        running = self._reading.get(connector_id)
        if due and (running is None or running.done()):
            self._asked.setdefault(connector_id, now)
            task = asyncio.create_task(self._read(connector_id))
            self._reading[connector_id] = task
        return reading

    async def _read(self, connector_id: int) -> None:
        now = self.clock()
        try:
            async with self.connection() as conn:
                mine = await conn.fetchval(_CLAIM_READ, connector_id, now, now - _EVERY)
                if not mine:
                    # Another replica read it within the minute: take its answer.
                    row = await conn.fetchrow(
                        "SELECT checked_at, total_count, error FROM download_queue_readings"
                        " WHERE connector_id = $1",
                        connector_id,
                    )
                    if row is not None and row["checked_at"] is not None:
                        self._store(
                            connector_id,
                            Reading(row["total_count"], row["checked_at"], row["error"]),
                        )
                    return
            reading = await self._ask_app(connector_id, now)
            async with self.connection() as conn:
                await conn.execute(
                    "UPDATE download_queue_readings SET checked_at = $2, total_count = $3,"
                    " error = $4 WHERE connector_id = $1",
                    connector_id,
                    reading.checked_at,
                    reading.total,
                    reading.error,
                )
            self._store(connector_id, reading)
        except Exception as exc:  # the database away: fail open until the next round
            log.warning("download queue not checked", connector_id=connector_id, error=repr(exc))
            self._store(connector_id, Reading(None, now, repr(exc)))

    async def _ask_app(self, connector_id: int, now: datetime) -> Reading:
        try:
            client = await self.client_for(connector_id)
            status = await client.queue_status()
        except (ArrError, OSError, TimeoutError) as exc:
            message = getattr(exc, "message", None) or str(exc) or repr(exc)
            log.info("download queue unknown: searches go on", connector_id=connector_id)
            return Reading(None, now, message[:500])
        return Reading(status.total_count, now)

    def _store(self, connector_id: int, reading: Reading) -> None:
        self.readings[connector_id] = reading
        self._asked.pop(connector_id, None)
        self.wake()

    async def close(self) -> None:
        """Stop background reads."""
        tasks = [t for t in self._reading.values() if not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._reading.clear()
