"""Taking over the commands of a replica that stopped: poll what it sent, adopt what the app
has, release what never went out."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog
from comradarr_arr import ArrError, Command

from .claims import Claimed
from .outcomes import Outcomes

log = structlog.get_logger(__name__)


class Recovery(Outcomes):
    """Lapsed leases (a part of the Dispatcher)."""

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
