"""Following a sent command to its end and recording its outcome per item: found, not
found (backoff), exhausted, failed; the events that say so."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from comradarr_arr import ArrClient, ArrError, Command
from comradarr_db import Connection
from comradarr_proto import Message, SearchCompleted, SearchExhausted, SearchFailed, SearchFound
from comradarr_throttle import ThrottleProfile, profile_for_connector

from .claims import Claimed
from .config import DispatcherConfig
from .judging import Grab, GrabJudge
from .statements import FINISH, cooldowns

log = structlog.get_logger(__name__)


class EngineParts:
    """What the engine's concerns use of one another (declared for the type checker; the
    Dispatcher dataclass provides them)."""

    if TYPE_CHECKING:
        pool: Any
        config: DispatcherConfig
        clock: Callable[[], datetime]
        _profiles: dict[int, ThrottleProfile]
        _judges: dict[int, GrabJudge]

        def _connection(self) -> contextlib.AbstractAsyncContextManager[Connection]: ...
        async def _client(self, connector_id: int) -> ArrClient: ...
        async def _publish(self, msg: Message, *, confirmed: bool = True) -> None: ...
        def _spawn(self, coro: Any) -> None: ...
        async def _release(
            self,
            conn: Connection,
            claimed: Claimed,
            *,
            status: str,
            message: str,
            eligible_at: datetime | None = None,
        ) -> None: ...
        async def _record_sent(
            self, claimed: Claimed, command: Command, *, response_ms: int | None
        ) -> None: ...


class Outcomes(EngineParts):
    """Polling a command and judging what it found (a part of the Dispatcher)."""

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
                FINISH,
                claimed.dispatch_id,
                claimed.registry_ids,
                list(found),
                now,
                profile.max_attempts,
                cooldowns(profile),
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
