"""Typed publish and durable consumption over JetStream."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import asyncpg
import nats
import structlog
from comradarr_db import AlreadyProcessed, Connection, once
from comradarr_logging import correlation_scope, get_correlation_id
from comradarr_proto import (
    COMMANDS_STREAM,
    EVENTS_STREAM,
    Message,
    MessageDeadLettered,
    stream_name,
)
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from prometheus_client import Counter, Histogram
from pydantic import ValidationError

from ._connection import connect, ensure_streams, headers_for

log = structlog.get_logger(__name__)

M = TypeVar("M", bound=Message)
T = TypeVar("T")

# JetStream briefly unavailable: a server of the cluster restarting, a leader being elected,
# or the server up before its JetStream. Worth retrying at start; anything else is not.
JETSTREAM_UNAVAILABLE = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.js.errors.ServiceUnavailableError,
)

HANDLED = Counter(
    "comradarr_bus_messages_total",
    "Messages handled by a consumer, by outcome.",
    ["consumer", "outcome"],
)
HANDLE_SECONDS = Histogram(
    "comradarr_bus_handle_seconds", "Time spent in a message handler.", ["consumer"]
)
PUBLISHED = Counter("comradarr_bus_published_total", "Messages published.", ["type"])


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a handler knows about the delivery of the message it is given."""

    consumer: str
    subject: str
    message_id: str
    attempt: int
    pool: asyncpg.Pool | None

    @contextlib.asynccontextmanager
    async def once(self) -> AsyncIterator[Connection]:
        """A transaction that commits the work together with the 'done' marker."""
        if self.pool is None:
            raise RuntimeError("this bus has no database pool; exactly-once needs one")
        async with once(self.pool, consumer=self.consumer, message_id=self.message_id) as conn:
            yield conn


Handler = Callable[[M, Delivery], Awaitable[None]]


@dataclass(frozen=True)
class Subscription(Generic[M]):
    """A durable consumer of one message type, handled by handler."""

    model: type[M]
    durable: str
    handler: Handler[M]
    max_attempts: int = 5
    # Delay before each redelivery after a failure; the last value repeats.
    backoff: Sequence[float] = (1.0, 5.0, 30.0, 120.0)
    ack_wait: float = 60.0
    batch: int = 10
    concurrency: int = 1
    subject: str | None = None  # narrower filter than the model's own, if any


@dataclass
class _Running:
    sub: Subscription[Any]
    task: asyncio.Task[None] | None = None
    inflight: set[asyncio.Task[None]] = field(default_factory=set)


class Bus:
    """One NATS connection per process: streams, typed publish, durable consumers."""

    def __init__(
        self,
        *,
        url: str,
        prefix: str,
        client_name: str,
        pool: asyncpg.Pool | None = None,
        replicas: int = 1,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.client_name = client_name
        self.pool = pool
        self.replicas = replicas
        self._retry_for = 30.0
        self._nc: NATS | None = None
        self._js: JetStreamContext | None = None
        self._running: list[_Running] = []
        self._stopping = asyncio.Event()
        self._closing = False

    @property
    def js(self) -> JetStreamContext:
        """The JetStream context (connect first)."""
        if self._js is None:
            raise RuntimeError("bus is not connected")
        return self._js

    @property
    def nc(self) -> NATS:
        """The underlying NATS client (connect first)."""
        if self._nc is None:
            raise RuntimeError("bus is not connected")
        return self._nc

    @property
    def connected(self) -> bool:
        """True while the client holds a live connection."""
        return self._nc is not None and self._nc.is_connected

    async def connect(self, *, retry_for: float = 30.0) -> None:
        """Connect and declare the streams, waiting up to retry_for for JetStream."""
        self._retry_for = retry_for
        self._nc = await connect(
            self.url,
            name=self.client_name,
            retry_for=retry_for,
            closing=lambda: self._closing,
        )
        self._js = self._nc.jetstream()
        js = self._js
        await self._while_unavailable(
            "declare streams",
            lambda: ensure_streams(js, prefix=self.prefix, replicas=self.replicas),
        )

    async def _while_unavailable(self, what: str, op: Callable[[], Awaitable[T]]) -> T:
        """op, retried while JetStream is briefly unavailable, for the connect's retry_for.

        A service (re)started while a server of the cluster is down, or a stream or meta
        leader is being elected, gets timeouts or 503s from the JetStream API for a few
        seconds: waiting them out starts the service instead of crashing it.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._retry_for
        delay = 0.2
        while True:
            try:
                return await op()
            except JETSTREAM_UNAVAILABLE as exc:
                if self._closing or loop.time() >= deadline:
                    raise
                log.warning("jetstream unavailable; retrying", action=what, error=repr(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def publish(self, msg: Message, *, timeout: float = 5.0) -> bool:
        """Publish msg; returns False when JetStream dropped it as a duplicate."""
        subject, payload, headers = self._wire(msg)
        ack = await self.js.publish(subject, payload, timeout=timeout, headers=headers)
        PUBLISHED.labels(type(msg).__name__).inc()
        return not ack.duplicate

    async def emit(self, msg: Message) -> None:
        """Publish an event without waiting for JetStream's acknowledgement.

        For best-effort events on a hot path (two per dispatched search): waiting for the
        ack costs about ten times the publish itself. The stream still stores the message
        and its id still de-duplicates; only the confirmation is gone, so a message the
        server does not store (stream missing or full) is lost unnoticed. While the
        connection is down, nats-py buffers it and sends it after reconnecting.
        """
        if msg.kind != "event":
            raise ValueError(f"{type(msg).__name__} is a command: publish it and await its ack")
        subject, payload, headers = self._wire(msg)
        await self.nc.publish(subject, payload, headers=headers)
        PUBLISHED.labels(type(msg).__name__).inc()

    def _wire(self, msg: Message) -> tuple[str, bytes, dict[str, str]]:
        """Subject, payload and headers of msg as published.

        A message whose correlation id was not set takes the one of the work publishing it
        (the HTTP request, or the message being handled): a click's id follows everything
        it causes, to the *arr command at the end.
        """
        cid = get_correlation_id()
        if cid is not None and "correlation_id" not in msg.model_fields_set:
            msg = msg.model_copy(update={"correlation_id": cid})
        return msg.subject(self.prefix), msg.model_dump_json().encode(), headers_for(msg)

    async def listen(self, model: type[M], handler: Callable[[M], Awaitable[None]]) -> None:
        """Every process gets every message of model, live only (no durable state).

        Used for broadcast control such as log-level changes, which every replica applies.
        """

        async def on_msg(raw: Msg) -> None:
            try:
                await handler(model.model_validate_json(raw.data))
            except ValidationError as exc:
                log.warning("invalid broadcast ignored", type=model.__name__, error=str(exc))

        await self.nc.subscribe(model.subject_filter(self.prefix), cb=on_msg)

    def _stream_for(self, model: type[Message]) -> str:
        spec = COMMANDS_STREAM if model.kind == "command" else EVENTS_STREAM
        return stream_name(self.prefix, spec)

    def _consumer_config(self, sub: Subscription[Any]) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=sub.durable,
            name=sub.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            # One more than our own limit: a delivery past it means the last attempt died
            # mid-way (crash, timeout) and the message still reaches the dead-letter table.
            max_deliver=sub.max_attempts + 1,
            ack_wait=sub.ack_wait,
            max_ack_pending=max(sub.batch * sub.concurrency, 1) * 2,
            filter_subject=sub.subject or sub.model.subject_filter(self.prefix),
        )

    async def subscribe(self, sub: Subscription[Any]) -> None:
        """Create (or reuse) the durable consumer and start pulling from it."""
        stream = self._stream_for(sub.model)
        config = self._consumer_config(sub)
        await self._while_unavailable(
            f"declare consumer {sub.durable}", lambda: self.js.add_consumer(stream, config=config)
        )
        running = _Running(sub=sub)
        running.task = asyncio.create_task(self._pull_loop(stream, running), name=sub.durable)
        self._running.append(running)

    async def _pull_loop(self, stream: str, running: _Running) -> None:
        sub = running.sub
        psub: JetStreamContext.PullSubscription | None = None
        limiter = asyncio.Semaphore(sub.concurrency)
        while not self._stopping.is_set():
            try:
                if psub is None:
                    psub = await self.js.pull_subscribe_bind(durable=sub.durable, stream=stream)
                msgs = await psub.fetch(batch=sub.batch, timeout=1.0)
            except nats.errors.TimeoutError:
                continue
            except Exception as exc:  # reconnecting, consumer gone after a restart, ...
                if self._stopping.is_set():
                    break
                log.debug("fetch failed; retrying", consumer=sub.durable, error=repr(exc))
                await asyncio.sleep(0.5)
                if psub is not None and not self.connected:
                    continue
                with contextlib.suppress(Exception):
                    await self._redeclare(sub, stream)
                    psub = None
                continue
            for raw in msgs:
                await limiter.acquire()
                task = asyncio.create_task(self._handle(sub, raw))
                running.inflight.add(task)
                task.add_done_callback(running.inflight.discard)
                task.add_done_callback(lambda _t: limiter.release())
        with contextlib.suppress(Exception):
            if psub is not None:
                await psub.unsubscribe()

    async def _redeclare(self, sub: Subscription[Any], stream: str) -> None:
        """Declare the streams and the consumer again (after the server lost its store)."""
        await ensure_streams(self.js, prefix=self.prefix, replicas=self.replicas)
        try:
            await self.js.consumer_info(stream, sub.durable)
        except nats.js.errors.NotFoundError:
            log.warning("consumer lost; declaring it again", consumer=sub.durable)
            await self.js.add_consumer(stream, config=self._consumer_config(sub))

    async def _handle(self, sub: Subscription[Any], raw: Msg) -> None:
        meta = raw.metadata
        attempt = meta.num_delivered
        headers = raw.headers or {}
        message_id = headers.get("Nats-Msg-Id") or f"seq:{meta.sequence.stream}"
        try:
            msg = sub.model.model_validate_json(raw.data)
        except ValidationError as exc:
            # It will never parse: retrying is pointless, set it aside at once.
            await self._dead_letter(sub, raw, message_id, attempt, f"invalid message: {exc}")
            return
        with correlation_scope(msg.correlation_id):
            await self._run_handler(sub, raw, msg, message_id, attempt)

    async def _run_handler(
        self, sub: Subscription[Any], raw: Msg, msg: Message, message_id: str, attempt: int
    ) -> None:
        bound = log.bind(consumer=sub.durable, message_id=message_id, attempt=attempt)
        if attempt > sub.max_attempts:
            await self._dead_letter(
                sub, raw, message_id, attempt - 1, "no outcome on the final attempt (crash?)"
            )
            return
        delivery = Delivery(
            consumer=sub.durable,
            subject=raw.subject,
            message_id=message_id,
            attempt=attempt,
            pool=self.pool,
        )
        heartbeat = asyncio.create_task(self._keep_alive(raw, sub.ack_wait))
        started = time.perf_counter()
        try:
            await sub.handler(msg, delivery)
        except AlreadyProcessed:
            bound.debug("duplicate delivery; work already committed")
            HANDLED.labels(sub.durable, "duplicate").inc()
            await raw.ack()
        except Exception as exc:
            HANDLED.labels(sub.durable, "error").inc()
            if attempt >= sub.max_attempts:
                bound.error("handler failed on the last attempt", error=repr(exc))
                await self._dead_letter(sub, raw, message_id, attempt, repr(exc))
            else:
                delay = sub.backoff[min(attempt - 1, len(sub.backoff) - 1)]
                bound.warning("handler failed; will retry", error=repr(exc), retry_in=delay)
                await raw.nak(delay=delay)
        else:
            HANDLED.labels(sub.durable, "ok").inc()
            await raw.ack()
        finally:
            heartbeat.cancel()
            HANDLE_SECONDS.labels(sub.durable).observe(time.perf_counter() - started)

    async def _keep_alive(self, raw: Msg, ack_wait: float) -> None:
        # Long work must not look dead to the server and be handed to another replica.
        with contextlib.suppress(Exception):
            while True:
                await asyncio.sleep(ack_wait / 3)
                await raw.in_progress()

    async def _dead_letter(
        self, sub: Subscription[Any], raw: Msg, message_id: str, attempts: int, error: str
    ) -> None:
        HANDLED.labels(sub.durable, "dead_letter").inc()
        payload = raw.data.decode("utf-8", errors="replace")
        if self.pool is not None:
            await self.pool.execute(
                "INSERT INTO dead_letters (consumer, subject, message_id, deliveries, error,"
                " payload) VALUES ($1, $2, $3, $4, $5, $6)",
                sub.durable,
                raw.subject,
                message_id,
                attempts,
                error[:4000],
                payload,
            )
        event = MessageDeadLettered(
            message_id=f"dlq:{sub.durable}:{message_id}",
            consumer=sub.durable,
            failed_subject=raw.subject,
            failed_message_id=message_id,
            deliveries=attempts,
            error=error[:4000],
        )
        with contextlib.suppress(Exception):
            await self.publish(event)
        log.error("message dead-lettered", consumer=sub.durable, message_id=message_id)
        await raw.term()

    async def stop(self, *, timeout: float = 20.0) -> None:
        """Stop pulling, let in-flight handlers finish within timeout, then drain."""
        self._stopping.set()
        inflight = [t for r in self._running for t in r.inflight]
        loops = [r.task for r in self._running if r.task is not None]
        if loops:
            await asyncio.wait(loops, timeout=2.0)
        if inflight:
            _done, pending = await asyncio.wait(inflight, timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("in-flight handlers cancelled at shutdown", count=len(pending))
        for task in loops:
            task.cancel()
        self._running.clear()
        if self._nc is not None and not self._nc.is_closed:
            # Our handlers are done and our subscriptions gone, so flush + close is enough;
            # nats-py's drain() leaves an un-awaited gather behind when it times out.
            self._closing = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._nc.flush(), timeout=2.0)
            with contextlib.suppress(Exception):
                await self._nc.close()
