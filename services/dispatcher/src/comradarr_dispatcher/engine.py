"""The dispatch engine: claim a batch under the throttle, send it, poll it, record it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from comradarr_arr import (
    ArrAuthenticationError,
    ArrClient,
    ArrError,
    ArrNetworkError,
    ArrRateLimitedError,
    Command,
    ConnectorConfig,
    RetryPolicy,
)
from comradarr_bus import Bus
from comradarr_connectors import (
    BLOCKING_HEALTH_SQL,
    Connector,
    get_api_key,
    get_connector,
    record_health,
)
from comradarr_crypto import SecretBox
from comradarr_db import Connection, skip_next_reset
from comradarr_logging import correlation_scope
from comradarr_mirror import SEARCH_TYPES, SearchSettings, load_search_settings
from comradarr_proto import (
    ConnectorHealthChanged,
    DailyBudgetSpent,
    Message,
    RateLimited,
    SearchDispatched,
    SearchFailed,
)
from comradarr_throttle import (
    SPACING,
    ThrottleProfile,
    ThrottleState,
    decide,
    default_profile,
    pause,
    profile_for_connector,
    rate_limit_pause_seconds,
)

from .batching import Batch, Candidate, plan_batch
from .claims import Buffer, Claimed, ClaimResult
from .config import DispatcherConfig
from .judging import GrabJudge
from .politeness import Politeness
from .recovery import Recovery
from .statements import (
    CANDIDATE_KEYS,
    CLAIM_IDS,
    CLAIM_SEASON,
    PROFILE_FIELDS,
    SENT,
    look_sql,
)

log = structlog.get_logger(__name__)
# Checked before logging each claim decision at debug (the claim loop is a hot path).
_DECISIONS = logging.getLogger(__name__)


def _log_decision(connector_id: int, result: ClaimResult) -> None:
    """`debug`: what a look at a connector decided: claimed, or refused and by which limit."""
    if result.claimed is not None:
        c = result.claimed
        log.debug(
            "dispatch claimed",
            connector_id=connector_id,
            command=c.command_name,
            items=len(c.registry_ids),
            dispatch_id=c.dispatch_id,
            correlation_id=c.correlation_id,
        )
    else:
        log.debug(
            "dispatch refused",
            connector_id=connector_id,
            reason=result.reason or "held back by commands in flight",
            retry_at=result.retry_at.isoformat() if result.retry_at else None,
        )


Clock = Callable[[], datetime]
ClientFactory = Callable[[Connector, str], ArrClient]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def default_client_factory(connector: Connector, api_key: str) -> ArrClient:
    """A real-HTTP client that does not retry 429 itself: the throttle handles Retry-After."""
    return ArrClient(
        ConnectorConfig(
            name=f"connector-{connector.id}",
            url=connector.url,
            api_key=api_key,
            connector_id=connector.id,
            verify_tls=connector.verify_ssl,
            timeout=connector.timeout_seconds,
            retry=RetryPolicy(max_retries=0),
        )
    )


@dataclass
class Dispatcher(Recovery):
    """One replica's dispatch engine over the shared database."""

    pool: Any
    bus: Bus
    secret_key: str
    config: DispatcherConfig = field(default_factory=DispatcherConfig)
    client_factory: ClientFactory = default_client_factory
    clock: Clock = _utcnow
    # The process's keyring (follows SECRET_KEY rotations); else a box of secret_key.
    box: SecretBox | None = None
    _clients: dict[int, ArrClient] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # Per connector: its next send slot as last seen (slots only move forward), the profile
    # of its last look (finishing a command uses it), whether its client is ready to send.
    _next_slot: dict[int, datetime] = field(default_factory=dict)
    _profiles: dict[int, ThrottleProfile] = field(default_factory=dict)
    # Per connector: what its last look read, for the next claims (see Buffer).
    _buffers: dict[int, Buffer] = field(default_factory=dict)
    _buffer_age: timedelta = timedelta(0)
    _ready: dict[int, asyncio.Task[None] | None] = field(default_factory=dict)
    _judges: dict[int, GrabJudge] = field(default_factory=dict)
    # The connectors that may dispatch, read at most once per tick (the look at a
    # connector checks again that it may).
    _connectors: list[int] = field(default_factory=list)
    _connectors_until: float = 0.0
    # Whether a command ending should wake the loop (set by a round that was held back).
    _finish_wakes: bool = True
    _look: str = ""
    # Settings → Search as last read (season-pack threshold, the search types sent).
    search: SearchSettings = field(default_factory=SearchSettings)
    _search_types: list[str] = field(default_factory=lambda: list(SEARCH_TYPES))
    _settings_stale: bool = True
    # Search windows and download-queue backpressure (read with the connector list).
    politeness: Politeness = field(init=False)
    # CPU seconds spent on the event loop thread per dispatched command (benchmark figure).
    sent: int = 0

    def __post_init__(self) -> None:
        self._look = look_sql(self.config.buffer_size)
        self._buffer_age = timedelta(seconds=self.config.buffer_max_age_seconds)
        self.politeness = Politeness(
            connection=self._connection,
            client_for=self._client,
            clock=lambda: self.clock(),
            wake=self._wake.set,
        )

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        """A pool connection given back without the pool's reset round trip: the engine
        runs only plain statements and transactions on it (no SET, LISTEN or session lock).
        After an error it is reset as usual."""
        async with self.pool.acquire() as conn:
            yield conn
            skip_next_reset(conn)

    # --- public -------------------------------------------------------------------------

    def wake(self) -> None:
        """Look at the queue now (new items, queue resumed, a connector back)."""
        self._connectors_until = 0.0  # and read which connectors may dispatch again
        self._buffers.clear()  # and the queues themselves
        self._wake.set()

    def settings_changed(self, keys: list[str]) -> None:
        """A SettingsChanged broadcast: read Settings → Search again before the next claim."""
        if any(k.startswith("search.") for k in keys):
            self._settings_stale = True
            self.wake()

    async def refresh_settings(self) -> None:
        """Read Settings → Search; a change drops the buffered looks (their order and
        search types were read under the old settings)."""
        async with self._connection() as conn:
            search = await load_search_settings(conn)
        self._settings_stale = False
        if search != self.search:
            self.search = search
            self._search_types = list(search.search_types())
            self._buffers.clear()
            log.info(
                "search settings applied",
                season_pack_threshold=search.season_pack_threshold,
                search_types=self._search_types,
            )

    async def run(self) -> None:
        """Dispatch until stop(): recover lapsed commands, claim, send and poll."""
        # Leases lapse after lease_seconds: looking for orphans a few times per lease is
        # enough, not on every round (a round runs after every slot and every finish).
        recover_every = self.config.lease_seconds / 4
        next_recover = 0.0
        while not self._stopping.is_set():
            wait = self.config.tick_seconds
            try:
                if self._settings_stale or time.monotonic() >= next_recover:
                    # Read with the orphan look too: a SettingsChanged missed while NATS
                    # was away is still applied within seconds.
                    await self.refresh_settings()
                if time.monotonic() >= next_recover:
                    next_recover = time.monotonic() + recover_every
                    await self.recover()
                wait = min(wait, await self.dispatch_round())
            except Exception:
                # Database or NATS briefly away: log and try again next tick.
                self._finish_wakes = True
                log.warning("dispatch round failed", exc_info=True)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(wait, 0.0)):  # no task per wait, unlike wait_for
                    await self._wake.wait()

    async def stop(self, *, timeout: float = 5.0) -> None:
        """Stop looking; give in-flight polls a moment, then leave them to another replica."""
        self._stopping.set()
        self._wake.set()
        self._buffers.clear()
        await self.politeness.close()
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.gather(*pending, return_exceptions=True)
        for ready in self._ready.values():
            if ready is not None:
                ready.cancel()
        self._ready.clear()
        for judge in self._judges.values():
            judge.close()
        self._judges.clear()
        for client in self._clients.values():
            with contextlib.suppress(Exception):
                await client.aclose()
        self._clients.clear()

    async def dispatch_round(self) -> float:
        """Claim as many batches as the limits allow now; returns seconds until worth looking
        again (the earliest slot, cooldown or pause end).

        A round uses one pool connection, taken only when there is something to look at.
        """
        wait = self.config.tick_seconds
        self._finish_wakes = False
        async with contextlib.AsyncExitStack() as stack:
            conn: Connection | None = None

            async def connection() -> Connection:
                nonlocal conn
                if conn is None:
                    conn = await stack.enter_async_context(self._connection())
                assert conn is not None
                return conn

            for connector_id in await self._dispatchable_connectors(connection):
                held = self.politeness.hold(connector_id, self.clock())
                if held is not None:  # outside its windows, or its download queue is full
                    if _DECISIONS.isEnabledFor(logging.DEBUG):
                        log.debug(
                            "dispatch held",
                            connector_id=connector_id,
                            reason=held.message,
                            until=held.until.isoformat() if held.until else None,
                        )
                    if held.until is not None:
                        wait = min(wait, (held.until - self.clock()).total_seconds())
                    continue
                if not self._client_ready(connector_id):
                    continue  # the loop is woken when the client is ready
                while not self._stopping.is_set():
                    slot = self._next_slot.get(connector_id)
                    if slot is not None:
                        ahead = (slot - self.clock()).total_seconds()
                        if ahead > 0:  # its next slot is known and not yet due
                            if _DECISIONS.isEnabledFor(logging.DEBUG):
                                _log_decision(
                                    connector_id, ClaimResult(retry_at=slot, reason=SPACING)
                                )
                            wait = min(wait, ahead)
                            break
                    result = await self.claim(connector_id=connector_id, conn=await connection())
                    if _DECISIONS.isEnabledFor(logging.DEBUG):
                        _log_decision(connector_id, result)
                    if result.next_slot_at is not None:
                        self._next_slot[connector_id] = result.next_slot_at
                    if result.claimed is None:
                        if result.retry_at is not None:
                            wait = min(wait, (result.retry_at - self.clock()).total_seconds())
                        else:  # held back by what is in flight, or idle
                            self._finish_wakes = True
                        break
                    self._spawn(self.send_and_follow(result.claimed))
        return max(wait, 0.0)

    def _client_ready(self, connector_id: int) -> bool:
        """Whether the connector's client is ready to send at once; if not, get it ready in
        the background (client built, app and API version detected).

        A slot is only taken when the command can go out right away: the first send of a
        connector otherwise waits for the detection request and a new connection after its
        slot was spent, and goes out later than the slots after it are spaced from.
        A failed detection is not handled here: the send retries it and handles the error.
        """
        if connector_id not in self._ready:
            warming = asyncio.create_task(self._get_ready(connector_id))
            warming.add_done_callback(lambda _t: self._wake.set())
            self._ready[connector_id] = warming
        task = self._ready[connector_id]
        if task is None:
            return True
        if not task.done():
            return False
        self._ready[connector_id] = None
        return True

    async def _get_ready(self, connector_id: int) -> None:
        try:
            client = await self._client(connector_id)
            await client.api_info()
        except Exception as exc:  # the send will meet (and handle) the same problem
            log.debug("client not ready", connector_id=connector_id, error=repr(exc))

    # --- claiming -------------------------------------------------------------------------

    async def _dispatchable_connectors(
        self, connection: Callable[[], Awaitable[Connection]]
    ) -> list[int]:
        if time.monotonic() >= self._connectors_until:
            conn = await connection()
            rows = await conn.fetch(
                "SELECT id, queue_limit, search_windows, search_timezone FROM connectors"  # noqa: S608
                " WHERE enabled AND type <> 'prowlarr'"
                f" AND health_status NOT IN {BLOCKING_HEALTH_SQL}"
                " AND (paused_until IS NULL OR paused_until <= $1) ORDER BY id",
                self.clock(),
            )
            self._connectors = [r["id"] for r in rows]
            self.politeness.configure(rows)
            self._connectors_until = time.monotonic() + self.config.tick_seconds
        return self._connectors

    async def claim(self, *, connector_id: int, conn: Connection | None = None) -> ClaimResult:
        """Check pauses and limits, choose the batch, then in one statement mark it queued,
        spend the throttle and record the dispatch row, if the connector's counters are
        still those the decision was made on (otherwise nothing is written: look again).
        So replicas together never exceed the profile nor claim an entry twice."""
        try:
            if conn is not None:
                return await self._claim(conn, connector_id)
            async with self._connection() as own:
                return await self._claim(own, connector_id)
        except _Retry:
            return ClaimResult(retry_at=self.clock(), reason="batch changed; looking again")

    async def _claim(self, conn: Connection, connector_id: int) -> ClaimResult:
        now = self.clock()
        buffer = self._buffers.pop(connector_id, None)
        if buffer is not None and buffer.usable(now, max_age=self._buffer_age):
            result = await self._claim_from(conn, buffer, now, fresh=False)
            if result is not None:
                return result
        return await self._look_and_claim(conn, connector_id, now)

    async def _look_and_claim(
        self, conn: Connection, connector_id: int, now: datetime
    ) -> ClaimResult:
        # Round trips: look (counters, profile, pause, in-flight, window), then claim (CAS on
        # the counters + entries + slot + dispatch row). No BEGIN/COMMIT: each is atomic.
        row = await conn.fetchrow(self._look, connector_id, now, self._search_types)
        if row is None or not row["dispatchable"]:
            self._connectors_until = 0.0  # read the list again next round
            return ClaimResult(reason="connector disabled, unavailable or paused")
        if not row["has_state"]:
            # First send of this connector: create its counters. The look read them as a new
            # row holds them (no slot, no window, nothing used, no pause), so no second look:
            # if another replica created and spent them meanwhile, the claim's
            # compare-and-set fails and the connector is looked at again.
            await conn.execute(
                "INSERT INTO throttle_state (connector_id) VALUES ($1) ON CONFLICT DO NOTHING",
                connector_id,
            )
        if row["queue_paused"]:
            return ClaimResult(reason="queue paused")
        if row["has_profile"]:
            profile = ThrottleProfile(**{name: row[f"p_{name}"] for name in PROFILE_FIELDS})
        else:
            profile = await default_profile(conn)
        self._profiles[connector_id] = profile
        # Each row: the Candidate's fields in their order, then the series' commands in
        # flight; best first.
        columns = [row[key] for key in CANDIDATE_KEYS]
        rows = list(zip(*columns, strict=True)) if columns[0] else []
        buffer = Buffer(
            candidates=[Candidate._make(r[:9]) for r in rows if r[3] is not None],
            series_busy={r[4]: r[9] for r in rows if r[4] is not None},
            in_flight=row["in_flight"],
            profile=profile,
            state=ThrottleState(
                connector_id=connector_id,
                next_slot_at=row["next_slot_at"],
                window_start=row["window_start"],
                window_used=row["window_used"],
                paused_until=row["paused_until"],
                pause_reason=row["pause_reason"],
            ),
            read_at=now,
            # A window cut at buffer_size is used while half of it is left; a shorter one
            # held every eligible entry and is used to its end.
            keep_while=max(self.config.buffer_size // 2, 1)
            if len(rows) >= self.config.buffer_size
            else 1,
        )
        result = await self._claim_from(conn, buffer, now, fresh=True)
        assert result is not None
        return result

    async def _claim_from(
        self, conn: Connection, buffer: Buffer, now: datetime, *, fresh: bool
    ) -> ClaimResult | None:
        """Plan, decide and claim from a connector's buffer. From a buffer read earlier
        (fresh False), None when only a new look can tell (nothing plannable, a limit
        reached, the compare-and-set failed); a refusal for spacing stands either way."""
        connector_id = buffer.state.connector_id
        profile = buffer.profile
        batch = plan_batch(
            buffer.candidates,
            batch_size=profile.batch_size,
            series_busy=buffer.series_busy,
            per_series_limit=profile.max_concurrent_per_series,
            season_pack_threshold=self.search.season_pack_threshold,
        )
        if batch is None:
            return ClaimResult(reason="nothing eligible") if fresh else None
        decision = decide(profile, buffer.state, now=now, in_flight=buffer.in_flight)
        if not decision.allowed or decision.state is None:
            spacing = decision.reason == SPACING
            if not fresh and not spacing:
                return None
            if decision.reason is not None and decision.reason.startswith("request budget spent"):
                # Recorded so the explanation and the gateway show why the connector waits.
                async with conn.transaction():
                    await pause(
                        conn,
                        connector_id=connector_id,
                        until=decision.wait_until,
                        reason="daily request budget spent",
                    )
                if decision.wait_until is not None:
                    # One per budget window: the message id is the window's end.
                    await self._publish(
                        DailyBudgetSpent(
                            message_id=f"budget.spent:{connector_id}:"
                            f"{decision.wait_until.isoformat()}",
                            connector_id=connector_id,
                            budget=profile.daily_budget,
                            resets_at=decision.wait_until,
                        )
                    )
            # Nothing was claimed or spent.
            if spacing:
                self._buffers[connector_id] = buffer
            return ClaimResult(
                retry_at=decision.wait_until,
                reason=decision.reason,
                next_slot_at=decision.wait_until if spacing else None,
            )
        claimed = await self._claim_rows(
            conn, connector_id, batch, buffer.state, decision.state, now
        )
        if claimed is None:
            # Counters or entries changed under us (nothing was written): look again.
            if fresh:
                raise _Retry
            return None
        buffer.claimed(batch, decision.state)
        self._buffers[connector_id] = buffer
        return ClaimResult(claimed=claimed, next_slot_at=decision.state.next_slot_at)

    async def _claim_rows(
        self,
        conn: Connection,
        connector_id: int,
        batch: Batch,
        read: ThrottleState,
        spent: ThrottleState,
        now: datetime,
    ) -> Claimed | None:
        first: Any
        second: Any
        if batch.command_name == "SeasonSearch":
            sql, first, second = CLAIM_SEASON, batch.series_arr_id, batch.season_number
        else:
            sql, first, second = CLAIM_IDS, batch.registry_ids, batch.arr_ids
        row = await conn.fetchrow(
            sql,
            connector_id,
            now,
            spent.next_slot_at,
            spent.window_start,
            spent.window_used,
            batch.command_name,
            batch.series_arr_id,
            batch.season_number,
            self.config.replica,
            now + timedelta(seconds=self.config.lease_seconds),
            int(now.timestamp() * 1e3),
            first,
            second,
            read.next_slot_at,
            read.window_start,
            read.window_used,
            read.paused_until,
        )
        if row is None:
            return None
        return Claimed(
            dispatch_id=row["id"],
            connector_id=connector_id,
            command_name=batch.command_name,
            arr_ids=list(row["arr_ids"]),
            registry_ids=list(row["registry_ids"]),
            series_arr_id=batch.series_arr_id,
            season_number=batch.season_number,
            correlation_id=row["correlation_id"],
        )

    # --- sending and following --------------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(self._finished)

    def _finished(self, _task: asyncio.Task[None]) -> None:
        # A command in flight ended: look again if that may let another go (a concurrency
        # limit or busy series held a connector back); a connector waiting for its next
        # slot is woken by the slot's time instead.
        if self._finish_wakes:
            self._wake.set()

    async def _client(self, connector_id: int) -> ArrClient:
        client = self._clients.get(connector_id)
        if client is None:
            async with self._connection() as conn:
                connector = await get_connector(conn, connector_id=connector_id)
                key = await get_api_key(
                    conn, box=self.box or SecretBox(self.secret_key), connector_id=connector_id
                )
            client = self.client_factory(connector, key)
            self._clients[connector_id] = client
        return client

    async def send_and_follow(self, claimed: Claimed) -> None:
        """Send the command, persist its id, then poll it to the end and record the outcome.

        Under the claim's correlation id (the sweep's or the click's that queued its first
        entry): every log line of it, the *arr requests' included, carries that id."""
        with correlation_scope(claimed.correlation_id):
            await self._send_and_follow(claimed)

    async def _send_and_follow(self, claimed: Claimed) -> None:
        try:
            command = await self.send(claimed)
            if command is not None:
                # The app's queue time as stored at send (saves reading it back).
                await self.follow(claimed, command_id=command.id, queued_at=command.queued)
        except asyncio.CancelledError:
            raise  # the lease lapses; another replica (or this one restarted) polls on
        except Exception:
            log.exception("dispatch failed", dispatch_id=claimed.dispatch_id)

    async def send(self, claimed: Claimed) -> Command | None:
        """POST the command; on success persist state 'searching' with the command id."""
        client = await self._client(claimed.connector_id)
        started = time.perf_counter()
        try:
            if claimed.command_name == "MoviesSearch":
                command = await client.search_movies(movie_ids=claimed.arr_ids)
            elif claimed.command_name == "SeasonSearch":
                assert claimed.series_arr_id is not None and claimed.season_number is not None
                command = await client.search_season(
                    series_id=claimed.series_arr_id, season_number=claimed.season_number
                )
            else:
                command = await client.search_episodes(episode_ids=claimed.arr_ids)
        except ArrRateLimitedError as exc:
            await self._rate_limited(claimed, exc)
            return None
        except ArrError as exc:
            await self._send_failed(claimed, exc)
            return None
        response_ms = int((time.perf_counter() - started) * 1000)
        self.sent += 1
        log.debug(
            "search dispatched",
            connector_id=claimed.connector_id,
            command=claimed.command_name,
            command_id=command.id,
            items=len(claimed.registry_ids),
        )
        await self._record_sent(claimed, command, response_ms=response_ms)
        return command

    async def _record_sent(
        self, claimed: Claimed, command: Command, *, response_ms: int | None
    ) -> None:
        """Persist a command the app took, then announce it.

        One statement (atomic on its own): command id persisted before polling, entries
        searching, one history row per entry.
        """
        now = self.clock()
        async with self._connection() as conn:
            await conn.execute(
                SENT,
                claimed.dispatch_id,
                command.id,
                now,
                command.queued or now,
                response_ms,
                claimed.registry_ids,
                claimed.command_name,
                len(claimed.registry_ids),
            )
        await self._publish(
            SearchDispatched(
                message_id=f"search.dispatched:{claimed.dispatch_id}",
                correlation_id=claimed.correlation_id,
                connector_id=claimed.connector_id,
                command_id=command.id,
                command_name=claimed.command_name,  # type: ignore[arg-type]
                registry_ids=claimed.registry_ids,
            ),
            confirmed=False,
        )

    async def _rate_limited(self, claimed: Claimed, exc: ArrRateLimitedError) -> None:
        self._buffers.pop(claimed.connector_id, None)  # paused: the next look says until when
        now = self.clock()
        async with self._connection() as conn, conn.transaction():
            profile = await profile_for_connector(conn, connector_id=claimed.connector_id)
            seconds = rate_limit_pause_seconds(profile, retry_after=exc.retry_after)
            until = now + timedelta(seconds=seconds)
            await pause(
                conn,
                connector_id=claimed.connector_id,
                until=until,
                reason=f"rate limited (429), Retry-After {exc.retry_after}",
                rate_limited=True,
            )
            # Not the items' fault: back to pending, no attempt counted.
            await self._release(conn, claimed, status="rate_limited", message=str(exc))
        log.warning(
            "rate limited; connector paused",
            connector_id=claimed.connector_id,
            retry_after=exc.retry_after,
            paused_until=until.isoformat(),
        )
        await self._publish(
            RateLimited(
                message_id=f"ratelimited:{claimed.dispatch_id}",
                correlation_id=claimed.correlation_id,
                connector_id=claimed.connector_id,
                retry_after_seconds=seconds,
                paused_until=until,
            )
        )

    async def _send_failed(self, claimed: Claimed, exc: ArrError) -> None:
        delay = timedelta(seconds=self.config.send_failure_delay_seconds)
        async with self._connection() as conn, conn.transaction():
            await self._release(
                conn, claimed, status="failed", message=str(exc), eligible_at=self.clock() + delay
            )
        log.warning("search not sent", connector_id=claimed.connector_id, error=str(exc))
        if isinstance(exc, ArrNetworkError):
            await self.set_health(claimed.connector_id, "offline", [str(exc)])
        elif isinstance(exc, ArrAuthenticationError):
            # Nothing more is sent until the key is re-entered (or the health check passes).
            await self.set_health(
                claimed.connector_id,
                "auth_failed",
                [f"the app refused the API key: {exc}"],
            )
        await self._publish(
            SearchFailed(
                message_id=f"search.failed:{claimed.dispatch_id}",
                correlation_id=claimed.correlation_id,
                connector_id=claimed.connector_id,
                registry_ids=claimed.registry_ids,
                error=str(exc)[:500],
            )
        )

    async def _release(
        self,
        conn: Connection,
        claimed: Claimed,
        *,
        status: str,
        message: str,
        eligible_at: datetime | None = None,
    ) -> None:
        now = self.clock()
        await conn.execute(
            "UPDATE search_registry SET state = 'pending', next_eligible_at = $2,"
            " updated_at = $3 WHERE id = ANY ($1::bigint[]) AND state IN ('queued', 'searching')",
            claimed.registry_ids,
            eligible_at or now,
            now,
        )
        await conn.execute(
            "UPDATE dispatch_commands SET status = $2, ended_at = $3, message = $4 WHERE id = $1",
            claimed.dispatch_id,
            status,
            now,
            message[:2000],
        )

    async def set_health(self, connector_id: int, status: str, messages: list[str]) -> None:
        """Record a health reading and announce a change (dispatching stops while offline)."""
        async with self._connection() as conn:
            previous = await record_health(
                conn,
                connector_id=connector_id,
                status=status,  # type: ignore[arg-type]
                messages=messages,
            )
        if previous != status:
            self._connectors_until = 0.0  # the set of connectors that may dispatch changed
            self._buffers.pop(connector_id, None)
            await self._publish(
                ConnectorHealthChanged(
                    connector_id=connector_id,
                    previous=None if previous == "unknown" else previous,  # type: ignore[arg-type]
                    current=status,  # type: ignore[arg-type]
                    messages=messages,
                )
            )

    async def _publish(self, msg: Message, *, confirmed: bool = True) -> None:
        # confirmed=False for the two events every search makes (dispatched, completed):
        # sent without waiting for JetStream's ack (Bus.emit), as their rate can be high.
        try:
            if confirmed:
                await self.bus.publish(msg)
            else:
                await self.bus.emit(msg)
        except Exception as exc:  # the database holds the truth; events are best effort
            log.warning("event not published", type=type(msg).__name__, error=repr(exc))


class _Retry(Exception):
    """Roll back a claim whose batch vanished between choosing and claiming."""
