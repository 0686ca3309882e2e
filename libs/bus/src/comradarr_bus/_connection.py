"""Connecting to NATS and declaring the JetStream streams."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import nats
import structlog
from comradarr_proto import COMMANDS_STREAM, EVENTS_STREAM, StreamSpec, stream_name
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

log = structlog.get_logger(__name__)

# JetStream drops a second publish with the same Nats-Msg-Id inside this window.
DUPLICATE_WINDOW_SECONDS = 600.0


async def connect(
    url: str,
    *,
    name: str,
    retry_for: float = 30.0,
    connect_timeout: float = 2.0,
    closing: Callable[[], bool] = lambda: False,
) -> NATS:
    """Connect, retrying while the server is down at start; reconnect forever afterwards."""

    async def on_disconnect() -> None:
        # Our own close is not news; losing the server is.
        if not closing():
            log.warning("nats disconnected", client=name)

    async def on_reconnect() -> None:
        log.info("nats reconnected", client=name)

    async def on_error(exc: Exception) -> None:
        log.debug("nats client error", client=name, error=str(exc))

    loop = asyncio.get_running_loop()
    deadline = loop.time() + retry_for
    delay = 0.2
    while True:
        try:
            return await nats.connect(
                servers=[s.strip() for s in url.split(",")],
                name=name,
                connect_timeout=connect_timeout,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                disconnected_cb=on_disconnect,
                reconnected_cb=on_reconnect,
                error_cb=on_error,
            )
        except (OSError, nats.errors.NoServersError, TimeoutError):
            if loop.time() >= deadline:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 3.0)


def _config(prefix: str, spec: StreamSpec, replicas: int) -> StreamConfig:
    return StreamConfig(
        name=stream_name(prefix, spec),
        description=spec.description,
        subjects=[f"{prefix}.{spec.subject_root}.>"],
        retention=RetentionPolicy(spec.retention),
        storage=StorageType.FILE,
        max_age=spec.max_age_seconds,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        num_replicas=replicas,
    )


async def ensure_streams(js: JetStreamContext, *, prefix: str, replicas: int = 1) -> None:
    """Create the commands and events streams, or bring their config up to date.

    replicas > 1 (a NATS cluster) keeps each stream on that many servers, so losing one
    server loses neither the streams nor their messages.
    """
    for spec in (COMMANDS_STREAM, EVENTS_STREAM):
        cfg = _config(prefix, spec, replicas)
        try:
            await js.stream_info(str(cfg.name))
        except NotFoundError:
            try:
                await js.add_stream(cfg)
                log.debug("stream created", stream=cfg.name)
                continue
            except BadRequestError:
                # Another replica created it between our look and our add.
                pass
        await js.update_stream(cfg)


async def delete_streams(js: JetStreamContext, *, prefix: str) -> None:
    """Remove both streams (tests clean up their own prefix with it)."""
    for spec in (COMMANDS_STREAM, EVENTS_STREAM):
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(stream_name(prefix, spec))


def headers_for(msg: Any) -> dict[str, str]:
    """Headers of a published message: the de-duplication id and the type."""
    return {
        "Nats-Msg-Id": msg.message_id,
        "Comradarr-Type": type(msg).__name__,
        "Comradarr-Correlation-Id": msg.correlation_id,
    }
