"""The sender: takes due deliveries per channel, composes messages, sends them via Apprise.

It runs beside the event consumers, never inside them: a slow or failing channel delays
only its own deliveries, and the bus is acked as soon as the deliveries are recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from comradarr_channels import (
    Channel,
    ChannelNotFoundError,
    SendResult,
    get_channel,
    get_secret,
    send,
)
from comradarr_crypto import SecretBox
from comradarr_db import Connection

from . import deliveries
from .config import NotifierConfig
from .texts import KIND_TEXT, NotifyType, digest_text, summary_text

log = structlog.get_logger(__name__)

SendFn = Callable[..., Awaitable[SendResult]]


@dataclass(frozen=True, slots=True)
class Message:
    """One message to send, and the deliveries it carries."""

    title: str
    body: str
    notify_type: NotifyType
    ids: list[int]


def _quiet_label(channel: Channel) -> str:
    q = channel.quiet_hours
    if q is None:
        return "quiet hours"
    return f"{q.start:%H:%M} to {q.end:%H:%M} {q.timezone}"


def compose(rows: list[Any], channel: Channel) -> list[Message]:
    """Messages for a channel's claimed deliveries: one summary after quiet hours, else
    immediate ones each on its own and the others one digest per kind."""
    if any(r["status"] == "held" for r in rows):
        by_kind: dict[str, list[str]] = {}
        for r in rows:
            by_kind.setdefault(r["event_kind"], []).append(r["title"])
        title, body = summary_text(by_kind, _quiet_label(channel))
        return [Message(title, body, "info", [r["id"] for r in rows])]
    # Digest rows group by kind; the others by the event that made them (a season pack found
    # is one message, not one per episode).
    grouped: dict[tuple[str, str], list[Any]] = {}
    for r in rows:
        event = r["message_id"].split("#", 1)[0] if r["immediate"] else ""
        grouped.setdefault((r["event_kind"], event), []).append(r)
    messages: list[Message] = []
    for (kind, _event), group in grouped.items():
        notify_type = KIND_TEXT[kind].notify_type
        if len(group) == 1:
            r = group[0]
            messages.append(Message(r["title"], r["body"], notify_type, [r["id"]]))
        else:
            title, body = digest_text(kind, [r["title"] for r in group])
            messages.append(Message(title, body, notify_type, [r["id"] for r in group]))
    return messages


@dataclass
class Sender:
    """Sends what is due, each channel on its own, until the service stops."""

    pool: Any
    secret_key: str
    config: NotifierConfig
    clock: Callable[[], datetime]
    send_fn: SendFn = send
    # The process's keyring (follows SECRET_KEY rotations); else a box of secret_key.
    box: SecretBox | None = None

    def __post_init__(self) -> None:
        self._wake = asyncio.Event()
        self._box = self.box or SecretBox(self.secret_key)

    def wake(self) -> None:
        """Look for due deliveries now (an event was routed)."""
        self._wake.set()

    async def run(self, stopping: asyncio.Event) -> None:
        """Rounds until stopping is set: on every wake-up, at least every tick."""
        while not stopping.is_set():
            try:
                await self.round()
            except Exception:
                log.warning("delivery round failed", exc_info=True)
            self._wake.clear()
            waits = {
                asyncio.ensure_future(self._wake.wait()),
                asyncio.ensure_future(stopping.wait()),
            }
            _done, pending = await asyncio.wait(
                waits, timeout=self.config.tick_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()

    async def round(self) -> int:
        """Send everything due now; returns how many messages went out (or were tried)."""
        now = self.clock()
        async with self.pool.acquire() as conn:
            channel_ids = await deliveries.due_channels(conn, now=now)
            if None in channel_ids:
                await deliveries.drop(conn, channel_id=None, reason="channel deleted")
        limit = asyncio.Semaphore(self.config.send_concurrency)

        async def one(channel_id: int) -> int:
            async with limit:
                try:
                    return await self._channel_round(channel_id, now)
                except Exception:
                    log.warning("channel round failed", channel_id=channel_id, exc_info=True)
                    return 0

        counts = await asyncio.gather(*(one(c) for c in channel_ids if c is not None))
        return sum(counts)

    async def _channel_round(self, channel_id: int, now: datetime) -> int:
        async with self.pool.acquire() as conn:
            try:
                channel = await get_channel(conn, channel_id=channel_id)
            except ChannelNotFoundError:
                await deliveries.drop(conn, channel_id=channel_id, reason="channel deleted")
                return 0
            if not channel.enabled:
                await deliveries.drop(conn, channel_id=channel_id, reason="channel disabled")
                return 0
            if channel.quiet_hours is not None:
                until = channel.quiet_hours.quiet_until(now)
                if until is not None:
                    await deliveries.hold(conn, channel_id=channel_id, now=now, until=until)
                    return 0
            rows = await deliveries.claim(
                conn,
                channel_id=channel_id,
                now=now,
                lease=timedelta(seconds=self.config.lease_seconds),
            )
            if not rows:
                return 0
            url = (await get_secret(conn, box=self._box, channel_id=channel_id)).url
        messages = compose(rows, channel)
        for message in messages:
            await self._send_one(channel, url, message)
        return len(messages)

    async def _send_one(self, channel: Channel, url: str, message: Message) -> None:
        result = await self.send_fn(
            url,
            title=message.title,
            body=message.body,
            notify_type=message.notify_type,
            timeout=self.config.send_timeout_seconds,
        )
        now = self.clock()
        async with self.pool.acquire() as conn, conn.transaction():
            await _record(conn, channel, message, result, now, self.config)
        if result.ok:
            log.info("notification sent", channel_id=channel.id, events=len(message.ids))
        else:
            # Apprise's messages were scrubbed of the channel's secrets by send().
            log.warning(
                "notification failed",
                channel_id=channel.id,
                error=result.detail,
                events=len(message.ids),
            )


async def _record(
    conn: Connection,
    channel: Channel,
    message: Message,
    result: SendResult,
    now: datetime,
    config: NotifierConfig,
) -> None:
    if result.ok:
        await deliveries.mark_sent(conn, ids=message.ids, now=now)
    else:
        await deliveries.mark_failed_attempt(
            conn,
            ids=message.ids,
            now=now,
            error=result.detail,
            max_attempts=config.max_attempts,
            backoff=config.retry_backoff_seconds,
        )
    await deliveries.record_channel_result(
        conn, channel_id=channel.id, ok=result.ok, now=now, error=result.detail
    )
