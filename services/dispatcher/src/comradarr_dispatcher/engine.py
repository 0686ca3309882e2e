"""The dispatch engine: claim a batch under the throttle, send it, poll it, record it."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from comradarr_arr import (
    ArrClient,
    ArrError,
    ArrNetworkError,
    ArrRateLimitedError,
    Command,
    ConnectorConfig,
    RetryPolicy,
)
from comradarr_bus import Bus
from comradarr_connectors import Connector, get_api_key, get_connector, record_health
from comradarr_crypto import SecretBox
from comradarr_db import Connection, skip_next_reset
from comradarr_proto import (
    ConnectorHealthChanged,
    DailyBudgetSpent,
    Message,
    RateLimited,
    SearchCompleted,
    SearchDispatched,
    SearchExhausted,
    SearchFailed,
    SearchFound,
)
from comradarr_throttle import (
    SPACING,
    ThrottleProfile,
    ThrottleState,
    cooldown_seconds,
    decide,
    default_profile,
    pause,
    profile_for_connector,
    rate_limit_pause_seconds,
)

from .batching import Batch, Candidate, plan_batch
from .config import DispatcherConfig
from .judging import Grab, GrabJudge
from .politeness import Politeness

log = structlog.get_logger(__name__)

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


_PROFILE_FIELDS = tuple(f.name for f in dataclasses.fields(ThrottleProfile))
# A look returns its candidates column by column, one typed array each (c_0, c_1, ...):
# asyncpg decodes those for about two thirds of the CPU an array of anonymous records took
# (each of whose fields carries its own type). The Candidate's fields in their order, then
# the commands in flight for the candidate's series.
_CANDIDATE_COLUMNS = (
    "w.id",
    "w.content_type",
    "w.search_type",
    "w.arr_id",
    "w.series_arr_id",
    "w.season_number",
    "w.fully_aired",
    "w.missing_share",
    "w.pack_failed",
    "coalesce(b.n, 0)",
)
_CANDIDATE_KEYS = tuple(f"c_{i}" for i in range(len(_CANDIDATE_COLUMNS)))


def _look_sql(buffer_size: int) -> str:
    """One round trip, no lock and no transaction, before deciding: the connector's counters
    (has_state false: no row yet), its profile (NULL columns: the default), whether its
    queue is paused, the commands in flight, and its best eligible entries with what
    batching needs, as one array per column (_CANDIDATE_COLUMNS) in priority order.

    Nothing is locked: the claim statement re-checks the counters it was decided on
    (compare-and-set on the throttle row) and takes the entries only if they are still
    eligible, so two replicas never both spend a slot or search an entry twice.

    The inner query walks the partial index search_registry_eligible and stops after
    buffer_size rows (a constant, and `now` compared through a sub-select, so the plan
    does not depend on the parameter values and PostgreSQL keeps one generic plan per
    connection instead of planning every call).
    """
    return f"""
WITH st AS (
    SELECT c.enabled AND c.type <> 'prowlarr' AND c.health_status NOT IN ('unhealthy', 'offline')
           AND (c.paused_until IS NULL OR c.paused_until <= $2) AS dispatchable,
           t.connector_id IS NOT NULL AS has_state, t.next_slot_at, t.window_start,
           coalesce(t.window_used, 0) AS window_used, t.paused_until, t.pause_reason,
           (SELECT coalesce(bool_or(q.paused), false) FROM queue_state q
            WHERE q.connector_id IN (0, $1)) AS queue_paused,
           p.id IS NOT NULL AS has_profile,
           {", ".join(f"p.{name} AS p_{name}" for name in _PROFILE_FIELDS)}
    FROM connectors c
    LEFT JOIN throttle_state t ON t.connector_id = c.id
    LEFT JOIN throttle_profiles p ON p.id = c.throttle_profile_id
    WHERE c.id = $1
), busy AS MATERIALIZED (
    SELECT series_arr_id, count(*)::int AS n FROM dispatch_commands
    WHERE connector_id = $1 AND status IN ('sending', 'searching')
    GROUP BY series_arr_id
), w AS MATERIALIZED (
    SELECT r.id, r.content_type, r.search_type, r.priority,
           coalesce(e.arr_id, m.arr_id) AS arr_id, e.series_arr_id, e.season_number,
           coalesce(s.fully_aired, false) AS fully_aired,
           CASE WHEN coalesce(s.episode_count, 0) > 0
                THEN (s.episode_count - s.episode_file_count)::float8 / s.episode_count
                ELSE 0 END AS missing_share,
           f.connector_id IS NOT NULL AS pack_failed
    FROM (
        SELECT id, content_type, search_type, priority, episode_id, movie_id
        FROM search_registry
        WHERE connector_id = $1 AND state IN ('pending', 'cooldown')
          AND next_eligible_at <= (SELECT $2::timestamptz)
        ORDER BY priority DESC, id
        LIMIT {int(buffer_size)}
    ) r
    LEFT JOIN episodes e ON e.id = r.episode_id
    LEFT JOIN movies m ON m.id = r.movie_id
    LEFT JOIN seasons s ON s.connector_id = e.connector_id
                       AND s.series_arr_id = e.series_arr_id
                       AND s.season_number = e.season_number
    LEFT JOIN season_pack_fallbacks f ON f.connector_id = e.connector_id
                       AND f.series_arr_id = e.series_arr_id
                       AND f.season_number = e.season_number
)
SELECT st.*, (SELECT coalesce(sum(n), 0)::int FROM busy) AS in_flight, c.*
FROM st, LATERAL (
    SELECT {
        ", ".join(
            f"array_agg({expr} ORDER BY w.priority DESC, w.id) AS c_{i}"
            for i, expr in enumerate(_CANDIDATE_COLUMNS)
        )
    }
    FROM w LEFT JOIN busy b ON b.series_arr_id = w.series_arr_id
) c
"""  # noqa: S608 - constant column names and an int


# Claiming in one statement (atomic on its own, no transaction round trips): lock the
# throttle row only if it still holds the counters the decision was made on (another
# replica's claim or a 429 pause changed them: nothing happens, the caller looks again),
# mark the entries queued, spend the slot and record the dispatch row, all only when at
# least one entry was still eligible. $1 connector, $2 now, $3 next_slot_at,
# $4 window_start, $5 window_used, $6 command, $7 series, $8 season, $9 owner, $10 lease,
# $11 millis, $12/$13 what to claim, $14..$17 the counters read: next_slot_at,
# window_start, window_used, paused_until.
_CAS = """
WITH lk AS (
    SELECT 1 FROM throttle_state
    WHERE connector_id = $1 AND next_slot_at IS NOT DISTINCT FROM $14
      AND window_start IS NOT DISTINCT FROM $15 AND window_used = $16
      AND paused_until IS NOT DISTINCT FROM $17
    FOR UPDATE
)"""
_CLAIM_TAIL = """
, taken AS (
    SELECT array_agg(id ORDER BY pos) AS registry_ids,
           array_agg(arr_id ORDER BY pos) AS arr_ids
    FROM claimed HAVING count(*) > 0
), spent AS (
    UPDATE throttle_state SET next_slot_at = $3, window_start = $4, window_used = $5,
        paused_until = NULL, pause_reason = NULL, requests_total = requests_total + 1,
        last_sent_at = $2, updated_at = now()
    WHERE connector_id = $1 AND EXISTS (SELECT 1 FROM taken)
)
INSERT INTO dispatch_commands (connector_id, command_name, series_arr_id, season_number,
    arr_ids, registry_ids, owner, lease_until, correlation_id, created_at)
SELECT $1, $6, $7, $8, arr_ids, registry_ids, $9, $10,
       'dispatch-' || $1 || '-' || registry_ids[1] || '-' || $11::bigint, $2
FROM taken
RETURNING id, arr_ids, registry_ids, correlation_id
"""
# A season pack covers every eligible gap of the season, also those beyond the window.
# $12 series, $13 season (typed apart from $7/$8, which may be NULL for other commands).
_SEASON_HEAD = """
, claimed AS (
    UPDATE search_registry r SET state = 'queued', updated_at = $2
    FROM episodes e
    WHERE EXISTS (SELECT 1 FROM lk)
      AND e.id = r.episode_id AND r.connector_id = $1 AND e.connector_id = $1
      AND e.series_arr_id = $12 AND e.season_number = $13 AND r.search_type = 'gap'
      AND r.state IN ('pending', 'cooldown') AND r.next_eligible_at <= $2
    RETURNING r.id, e.arr_id, e.arr_id AS pos
)"""
_CLAIM_SEASON = _CAS + _SEASON_HEAD + _CLAIM_TAIL
# The chosen entries that are still eligible, in the batch's order. $12 ids, $13 arr ids.
_IDS_HEAD = """
, chosen AS (
    SELECT id, arr_id, pos FROM unnest($12::bigint[], $13::int[]) WITH ORDINALITY
        AS c(id, arr_id, pos)
), claimed AS (
    UPDATE search_registry r SET state = 'queued', updated_at = $2
    FROM chosen c
    WHERE EXISTS (SELECT 1 FROM lk)
      AND r.connector_id = $1 AND r.id = c.id AND r.state IN ('pending', 'cooldown')
    RETURNING r.id, c.arr_id, c.pos
)"""
_CLAIM_IDS = _CAS + _IDS_HEAD + _CLAIM_TAIL


# A command the app accepted: $1 dispatch, $2 command id, $3 now, $4 app queued at,
# $5 response ms, $6 registry ids, $7 command name, $8 batch size.
_SENT = """
WITH d AS (
    UPDATE dispatch_commands SET status = 'searching', command_id = $2, sent_at = $3,
        app_queued_at = $4, response_ms = $5
    WHERE id = $1
), r AS (
    UPDATE search_registry SET state = 'searching', last_searched_at = $3, updated_at = $3
    WHERE id = ANY ($6::bigint[])
    RETURNING id, connector_id, search_type
)
INSERT INTO search_history (registry_id, connector_id, command_id, command_name,
    search_type, outcome, started_at, dispatch_id, response_ms, batch_size)
SELECT r.id, r.connector_id, $2, $7, r.search_type, 'dispatched', $3, $1, $5, $8 FROM r
"""


# Recording a command's outcome in one statement (atomic on its own): per entry found
# (grabbed: one base cooldown, no attempt counted) or not (attempts + 1, backoff from $6,
# exhausted at $5 attempts as is_exhausted says), the history rows, the dispatch row, and
# a season whose pack did not do it goes by episode searches from now on.
# $1 dispatch, $2 registry ids, $3 arr ids found, $4 now, $5 max attempts, $6 cooldown
# seconds after the n-th attempt (n = 1.., the last one repeats), $7 base cooldown,
# $8 error, $9 outcome when not found, $10 message, $11 dispatch status, $12 season pack,
# $13 connector, $14 series, $15 season.
_FINISH = """
WITH cur0 AS (
    SELECT r.id, r.attempts,
           coalesce(coalesce(e.arr_id, m.arr_id) = ANY ($3::int[]), false) AS judged,
           -- The app's webhook may have reported the grab already (webhooks.py).
           EXISTS (SELECT 1 FROM search_history h WHERE h.registry_id = r.id
                   AND h.dispatch_id = $1 AND h.outcome = 'found') AS already
    FROM search_registry r LEFT JOIN episodes e ON e.id = r.episode_id
    LEFT JOIN movies m ON m.id = r.movie_id
    WHERE r.id = ANY ($2::bigint[]) FOR UPDATE OF r
), cur AS (
    SELECT id, attempts, judged OR already AS found, already FROM cur0
), upd AS (
    UPDATE search_registry r SET
        state = CASE WHEN c.found THEN 'cooldown'
                     WHEN c.attempts + 1 >= $5 THEN 'exhausted' ELSE 'cooldown' END,
        attempts = CASE WHEN c.found THEN c.attempts ELSE c.attempts + 1 END,
        next_eligible_at = CASE
            WHEN c.found THEN $4::timestamptz + $7::interval
            WHEN c.attempts + 1 >= $5 THEN $4
            ELSE $4 + make_interval(
                secs => ($6::float8[])[least(c.attempts + 1, cardinality($6::float8[]))])
            END,
        last_error = CASE WHEN c.found THEN NULL ELSE $8 END,
        updated_at = $4
    FROM cur c WHERE r.id = c.id
    RETURNING r.id, r.state, c.found, c.already
), hist AS (
    UPDATE search_history SET
        outcome = CASE WHEN registry_id IN (SELECT id FROM upd WHERE found) THEN 'found'
                       ELSE $9 END,
        ended_at = $4, message = $10, error = CASE WHEN $11 = 'failed' THEN $10 END
    WHERE dispatch_id = $1
), disp AS (
    UPDATE dispatch_commands SET status = $11, ended_at = $4, message = $10,
        found = (SELECT count(*) FROM upd WHERE found)
    WHERE id = $1
), fallback AS (
    INSERT INTO season_pack_fallbacks (connector_id, series_arr_id, season_number, failed_at)
    SELECT $13, $14, $15, $4
    WHERE $12 AND ($11 = 'failed' OR EXISTS (SELECT 1 FROM upd WHERE NOT found))
    ON CONFLICT DO NOTHING
)
SELECT id, state, found, already FROM upd
"""


def _cooldowns(profile: ThrottleProfile) -> list[float]:
    """cooldown_seconds after the 1st, 2nd, ... unsuccessful attempt, up to the cap (every
    later attempt waits as long as the last one listed)."""
    out = [cooldown_seconds(profile, attempts=1)]
    while out[-1] < profile.cooldown_max_seconds and len(out) < 65:
        out.append(cooldown_seconds(profile, attempts=len(out) + 1))
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Claimed:
    """A batch claimed for sending: its dispatch row and what it searches."""

    dispatch_id: int
    connector_id: int
    command_name: str
    arr_ids: list[int]
    registry_ids: list[int]
    series_arr_id: int | None
    season_number: int | None
    correlation_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimResult:
    """What one look at a connector produced: a batch, or when to look again (None: idle)."""

    claimed: Claimed | None = None
    retry_at: datetime | None = None
    reason: str | None = None
    # The connector's next send slot when known (after a claim, or refused for spacing):
    # no replica can send for it before then, so there is no point looking earlier.
    next_slot_at: datetime | None = None


@dataclass(slots=True, kw_only=True)
class _Buffer:
    """A connector's best eligible entries as one look read them, kept for the next claims.

    At a high rate most claims then read nothing: they plan from what is left, decide on
    the counters this replica's last claim wrote, and the claim's compare-and-set proves
    both still hold (any other replica's claim or a pause changes the counters, an entry
    taken meanwhile is no longer eligible: the claim writes nothing and a new look
    follows). What in flight counts only grows here (a command that ended still counts
    until the next look), so the buffer can hold a connector back, never push it past a
    limit: a claim it cannot make goes to a new look. It ages out after
    buffer_max_age_seconds, and when half of the look's window has been claimed, so that
    batches still gather from a full window.
    """

    candidates: list[Candidate]
    series_busy: dict[int, int]
    in_flight: int
    profile: ThrottleProfile
    state: ThrottleState
    read_at: datetime
    keep_while: int  # used while at least this many candidates are left (at least 1)

    def usable(self, now: datetime, *, max_age: timedelta) -> bool:
        """Whether claims may still plan from it."""
        return now - self.read_at < max_age and len(self.candidates) >= self.keep_while

    def claimed(self, batch: Batch, state: ThrottleState) -> None:
        """Account for a claimed batch: its entries gone, one more command in flight."""
        if batch.command_name == "SeasonSearch":
            # The claim took every eligible gap of the season, in the window or not.
            def taken(c: Candidate) -> bool:
                return (
                    c.series_arr_id == batch.series_arr_id
                    and c.season_number == batch.season_number
                    and c.search_type == "gap"
                )
        else:
            ids = set(batch.registry_ids)

            def taken(c: Candidate) -> bool:
                return c.registry_id in ids

        self.candidates = [c for c in self.candidates if not taken(c)]
        self.in_flight += 1
        if batch.series_arr_id is not None:
            self.series_busy[batch.series_arr_id] = self.series_busy.get(batch.series_arr_id, 0) + 1
        self.state = state


@dataclass
class Dispatcher:
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
    # Per connector: what its last look read, for the next claims (see _Buffer).
    _buffers: dict[int, _Buffer] = field(default_factory=dict)
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
    # Search windows and download-queue backpressure (read with the connector list).
    politeness: Politeness = field(init=False)
    # CPU seconds spent on the event loop thread per dispatched command (benchmark figure).
    sent: int = 0

    def __post_init__(self) -> None:
        self._look = _look_sql(self.config.buffer_size)
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

    async def run(self) -> None:
        """Dispatch until stop(): recover lapsed commands, claim, send and poll."""
        # Leases lapse after lease_seconds: looking for orphans a few times per lease is
        # enough, not on every round (a round runs after every slot and every finish).
        recover_every = self.config.lease_seconds / 4
        next_recover = 0.0
        while not self._stopping.is_set():
            wait = self.config.tick_seconds
            try:
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
                            wait = min(wait, ahead)
                            break
                    result = await self.claim(connector_id=connector_id, conn=await connection())
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
                "SELECT id, queue_limit, search_windows, search_timezone FROM connectors"
                " WHERE enabled AND type <> 'prowlarr'"
                " AND health_status NOT IN ('unhealthy', 'offline')"
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
        row = await conn.fetchrow(self._look, connector_id, now)
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
            profile = ThrottleProfile(**{name: row[f"p_{name}"] for name in _PROFILE_FIELDS})
        else:
            profile = await default_profile(conn)
        self._profiles[connector_id] = profile
        # Each row: the Candidate's fields in their order, then the series' commands in
        # flight; best first.
        columns = [row[key] for key in _CANDIDATE_KEYS]
        rows = list(zip(*columns, strict=True)) if columns[0] else []
        buffer = _Buffer(
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
        self, conn: Connection, buffer: _Buffer, now: datetime, *, fresh: bool
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
            season_pack_threshold=self.config.season_pack_threshold,
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
            sql, first, second = _CLAIM_SEASON, batch.series_arr_id, batch.season_number
        else:
            sql, first, second = _CLAIM_IDS, batch.registry_ids, batch.arr_ids
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
        """Send the command, persist its id, then poll it to the end and record the outcome."""
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
                _SENT,
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

    async def follow(
        self, claimed: Claimed, *, command_id: int, queued_at: datetime | None = None
    ) -> None:
        """Poll the command to its end (renewing the lease), then record the outcome.

        The first poll waits one interval (the command was queued a moment ago); the lease
        is renewed once a third of it has passed, not on every poll.
        """
        client = await self._client(claimed.connector_id)
        deadline = time.monotonic() + self.config.command_max_wait_seconds
        lease = self.config.lease_seconds
        renewed = time.monotonic()
        command: Command | None = None
        while True:
            await asyncio.sleep(self.config.poll_interval_seconds)
            try:
                command = await client.command(command_id=command_id)
            except ArrError as exc:
                log.info("command poll failed; retrying", command_id=command_id, error=str(exc))
                command = None
            if command is not None and command.is_terminal:
                break
            if time.monotonic() > deadline:
                break
            if time.monotonic() - renewed >= lease / 3:
                renewed = time.monotonic()
                async with self._connection() as conn:
                    await conn.execute(
                        "UPDATE dispatch_commands SET lease_until = $2"
                        " WHERE id = $1 AND owner = $3",
                        claimed.dispatch_id,
                        self.clock() + timedelta(seconds=lease),
                        self.config.replica,
                    )
        await self.finish(claimed, command, queued_at=queued_at)

    async def _found_ids(
        self, claimed: Claimed, command: Command, queued_at: datetime | None = None
    ) -> set[int]:
        """Items the app grabbed a release for since the command was queued (its own clock)."""
        since = queued_at or await self.pool.fetchval(
            "SELECT app_queued_at FROM dispatch_commands WHERE id = $1", claimed.dispatch_id
        )
        since = (since or command.queued or self.clock()) - timedelta(seconds=2)
        return await self._judge(claimed.connector_id).found(
            since=since,
            wanted=frozenset(claimed.arr_ids),
            movie=claimed.command_name == "MoviesSearch",
        )

    def _judge(self, connector_id: int) -> GrabJudge:
        judge = self._judges.get(connector_id)
        if judge is None:

            async def grabs(since: datetime) -> list[Grab]:
                client = await self._client(connector_id)
                return [
                    (r.date, r.movie_id, r.episode_id)
                    async for r in client.history_since(since=since, event_type="grabbed")
                ]

            judge = GrabJudge(grabs, self.config.judge_wait_seconds)
            self._judges[connector_id] = judge
        return judge

    async def finish(
        self, claimed: Claimed, command: Command | None, *, queued_at: datetime | None = None
    ) -> None:
        """Record found / not found / failed per item, apply backoff and exhaustion, publish."""
        status = command.status if command is not None else "timeout"
        found: set[int] = set()
        if status == "completed" and command is not None:
            try:
                found = await self._found_ids(claimed, command, queued_at)
            except ArrError as exc:
                log.info("history unavailable; counting as not found", error=str(exc))
        now = self.clock()
        failed = status != "completed"
        outcome_missing = (
            "not_found" if not failed else ("timeout" if status == "timeout" else "failed")
        )
        message = (command.message if command is not None else None) or status
        profile = self._profiles.get(claimed.connector_id)
        async with self._connection() as conn:
            if profile is None:  # a command taken over from another replica
                profile = await profile_for_connector(conn, connector_id=claimed.connector_id)
            rows = await conn.fetch(
                _FINISH,
                claimed.dispatch_id,
                claimed.registry_ids,
                list(found),
                now,
                profile.max_attempts,
                _cooldowns(profile),
                timedelta(seconds=profile.cooldown_base_seconds),
                None if not failed else message[:500],
                outcome_missing,
                message[:2000],
                "failed" if failed else "done",
                claimed.command_name == "SeasonSearch",
                claimed.connector_id,
                claimed.series_arr_id,
                claimed.season_number,
            )
        found_ids = [r["id"] for r in rows if r["found"]]
        newly_found = [r["id"] for r in rows if r["found"] and not r["already"]]
        exhausted = [r["id"] for r in rows if r["state"] == "exhausted"]
        log.info(
            "search finished",
            connector_id=claimed.connector_id,
            command=claimed.command_name,
            status=status,
            items=len(claimed.registry_ids),
            found=len(found_ids),
            exhausted=len(exhausted),
        )
        if failed:
            await self._publish(
                SearchFailed(
                    message_id=f"search.failed:{claimed.dispatch_id}",
                    correlation_id=claimed.correlation_id,
                    connector_id=claimed.connector_id,
                    registry_ids=claimed.registry_ids,
                    error=message[:500],
                    command_name=claimed.command_name,  # type: ignore[arg-type]
                )
            )
        else:
            await self._publish(
                SearchCompleted(
                    message_id=f"search.completed:{claimed.dispatch_id}",
                    correlation_id=claimed.correlation_id,
                    connector_id=claimed.connector_id,
                    command_id=command.id if command is not None else 0,
                    registry_ids=claimed.registry_ids,
                    found=len(found_ids),
                    command_name=claimed.command_name,  # type: ignore[arg-type]
                ),
                confirmed=False,
            )
        if newly_found:
            await self._publish(
                SearchFound(
                    message_id=f"search.found:{claimed.dispatch_id}",
                    correlation_id=claimed.correlation_id,
                    connector_id=claimed.connector_id,
                    registry_ids=newly_found,
                ),
                confirmed=False,
            )
        if exhausted:
            await self._publish(
                SearchExhausted(
                    message_id=f"search.exhausted:{claimed.dispatch_id}",
                    correlation_id=claimed.correlation_id,
                    connector_id=claimed.connector_id,
                    registry_ids=exhausted,
                )
            )

    # --- recovery ---------------------------------------------------------------------------

    async def recover(self) -> int:
        """Take over commands whose replica stopped renewing its lease: poll those that were
        sent (never send them again), release those whose send never got an answer."""
        now = self.clock()
        async with self._connection() as conn, conn.transaction():
            rows = await conn.fetch(
                "UPDATE dispatch_commands d SET owner = $2, lease_until = $3"
                " WHERE d.id IN (SELECT id FROM dispatch_commands"
                "   WHERE status IN ('sending', 'searching') AND lease_until < $1"
                "   ORDER BY id LIMIT 50 FOR UPDATE SKIP LOCKED)"
                " RETURNING d.*",
                now,
                self.config.replica,
                now + timedelta(seconds=self.config.lease_seconds),
            )
            claimed = [
                (
                    r["status"],
                    r["command_id"],
                    Claimed(
                        dispatch_id=r["id"],
                        connector_id=r["connector_id"],
                        command_name=r["command_name"],
                        arr_ids=list(r["arr_ids"]),
                        registry_ids=list(r["registry_ids"]),
                        series_arr_id=r["series_arr_id"],
                        season_number=r["season_number"],
                        correlation_id=r["correlation_id"],
                    ),
                )
                for r in rows
            ]
        for status, command_id, c in claimed:
            if status == "searching":
                log.info("resuming poll of an orphaned command", command_id=command_id)
                self._spawn(self._follow_safely(c, command_id))
            else:
                await self._adopt_or_release(c)
        return len(claimed)

    async def _adopt_or_release(self, claimed: Claimed) -> None:
        """A command whose sender died between sending it and recording the answer.

        If the app has it (its command list holds the same search under an id no dispatch
        recorded), it is recorded as sent and polled: sending it again would search the same items
        twice within their cooldown (found by the distributed chaos test). If the app has
        no such command, or cannot be asked, the items go back to pending.
        """
        command = None
        try:
            command = await self._find_sent(claimed)
        except ArrError as exc:
            log.warning("could not ask the app about an orphaned send", error=str(exc))
        if command is None:
            async with self._connection() as conn, conn.transaction():
                await self._release(conn, claimed, status="abandoned", message="sender vanished")
            return
        log.info("adopted a command its sender did not record", command_id=command.id)
        await self._record_sent(claimed, command, response_ms=None)
        self._spawn(self._follow_safely(claimed, command.id))

    async def _find_sent(self, claimed: Claimed) -> Command | None:
        """The newest command in the app's list for exactly this search that no dispatch of
        this connector recorded, or None. (No clocks compared: the app's may differ.)"""
        client = await self._client(claimed.connector_id)
        wanted_ids = sorted(claimed.arr_ids)
        matches = []
        for command in await client.commands():
            if command.name != claimed.command_name:
                continue
            body = command.body
            if claimed.command_name == "SeasonSearch":
                same = (body.get("seriesId"), body.get("seasonNumber")) == (
                    claimed.series_arr_id,
                    claimed.season_number,
                )
            else:
                ids = body.get("episodeIds") or body.get("movieIds") or []
                same = sorted(int(i) for i in ids) == wanted_ids
            if same:
                matches.append(command)
        if not matches:
            return None
        async with self._connection() as conn:
            recorded = await conn.fetch(
                "SELECT command_id FROM dispatch_commands"
                " WHERE connector_id = $1 AND command_id = ANY ($2::int[])",
                claimed.connector_id,
                [c.id for c in matches],
            )
        taken = {r["command_id"] for r in recorded}
        fresh = [c for c in matches if c.id not in taken]
        return max(fresh, key=lambda c: c.id) if fresh else None

    async def _follow_safely(self, claimed: Claimed, command_id: int) -> None:
        try:
            await self.follow(claimed, command_id=command_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("follow failed", dispatch_id=claimed.dispatch_id)

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
