"""Judging finished commands: which of the searched items the app grabbed a release for."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

# One grabbed history record: (date, movie id, episode id).
Grab = tuple[datetime, int | None, int | None]
# Grabbed records since a time (the app's history/since, eventType=grabbed).
FetchGrabs = Callable[[datetime], Awaitable[list[Grab]]]


@dataclass(slots=True)
class _Ask:
    since: datetime
    wanted: frozenset[int]
    movie: bool
    answer: asyncio.Future[set[int]]


@dataclass
class GrabJudge:
    """Answers "which of these items were grabbed since then?" for one connector.

    Commands that finish within `wait` seconds of each other share one history request,
    made from the earliest of their start times; each command then keeps only the records
    its own request would have returned (on or after its start, to the second, as the app
    filters). At a high send rate that is one request for many commands instead of one
    each; a command's outcome is recorded at most `wait` seconds later.
    """

    fetch: FetchGrabs
    wait: float
    _asks: list[_Ask] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    async def found(self, *, since: datetime, wanted: frozenset[int], movie: bool) -> set[int]:
        """The wanted movie (movie=True) or episode ids grabbed on or after `since`.

        Raises whatever the history request raised (every command waiting for it does).
        """
        ask = _Ask(since, wanted, movie, asyncio.get_running_loop().create_future())
        self._asks.append(ask)
        if self._task is None:
            self._task = asyncio.create_task(self._answer())
        return await ask.answer

    async def _answer(self) -> None:
        await asyncio.sleep(self.wait)
        asks, self._asks, self._task = self._asks, [], None
        try:
            grabs = await self.fetch(min(a.since for a in asks))
        except Exception as exc:
            for a in asks:
                if not a.answer.done():
                    a.answer.set_exception(exc)
            return
        for a in asks:
            if a.answer.done():  # its command was cancelled meanwhile
                continue
            floor = a.since.replace(microsecond=0)
            a.answer.set_result(
                {
                    item
                    for date, movie_id, episode_id in grabs
                    if date >= floor
                    and (item := movie_id if a.movie else episode_id) is not None
                    and item in a.wanted
                }
            )

    def close(self) -> None:
        """Stop answering (on shutdown): commands still waiting are cancelled."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        for a in self._asks:
            a.answer.cancel()
        self._asks = []
