"""Commands finishing together are judged with one history request, each by its own start."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from comradarr_dispatcher.judging import Grab, GrabJudge

T0 = datetime(2026, 1, 1, 12, 0, 0, 500_000, tzinfo=UTC)


async def test_one_request_answers_every_waiting_command_by_its_own_start() -> None:
    asked: list[datetime] = []
    grabs: list[Grab] = [
        (T0 - timedelta(seconds=5), None, 1),  # before both commands
        (T0.replace(microsecond=0), None, 2),  # same second as the first: the app counts it
        (T0 + timedelta(seconds=3), None, 3),  # after both
        (T0 + timedelta(seconds=3), 3, None),  # a movie with the same id
        (T0 + timedelta(seconds=1), None, 4),  # before the second command started
    ]

    async def fetch(since: datetime) -> list[Grab]:
        asked.append(since)
        return grabs

    judge = GrabJudge(fetch, 0.01)
    first, second, movies = await asyncio.gather(
        judge.found(since=T0, wanted=frozenset({1, 2, 3}), movie=False),
        judge.found(since=T0 + timedelta(seconds=2), wanted=frozenset({3, 4}), movie=False),
        judge.found(since=T0 + timedelta(seconds=2), wanted=frozenset({3}), movie=True),
    )
    assert asked == [T0]  # one request, from the earliest start
    assert first == {2, 3}
    assert second == {3}
    assert movies == {3}
    # Later commands get a request of their own.
    assert await judge.found(since=T0, wanted=frozenset({1}), movie=False) == set()
    assert len(asked) == 2


async def test_a_failed_request_fails_every_waiting_command() -> None:
    async def fetch(since: datetime) -> list[Grab]:
        raise RuntimeError("history unavailable")

    judge = GrabJudge(fetch, 0.01)
    results = await asyncio.gather(
        judge.found(since=T0, wanted=frozenset({1}), movie=False),
        judge.found(since=T0, wanted=frozenset({2}), movie=False),
        return_exceptions=True,
    )
    assert all(isinstance(r, RuntimeError) for r in results)


async def test_close_cancels_waiting_commands() -> None:
    async def fetch(since: datetime) -> list[Grab]:
        return []

    judge = GrabJudge(fetch, 10)
    waiting = asyncio.create_task(judge.found(since=T0, wanted=frozenset({1}), movie=False))
    await asyncio.sleep(0)
    judge.close()
    with pytest.raises(asyncio.CancelledError):
        await waiting
