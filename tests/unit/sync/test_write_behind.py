"""The sync's write-behind: batches run on every writer, fence orders them, errors surface."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from comradarr_sync.engine import _WriteBehind
from comradarr_sync.writer import MirrorWriter


def _writers(n: int) -> list[MirrorWriter]:
    # Jobs only receive their writer; a label stands in for a connection's writer.
    return [cast(MirrorWriter, f"w{i}") for i in range(n)]


class _Gated:
    """Jobs that wait for the gate, then record (writer, job number)."""

    def __init__(self) -> None:
        self.done: list[tuple[str, int]] = []
        self.gate = asyncio.Event()

    def job(self, n: int) -> Any:
        async def run(writer: Any) -> None:
            await self.gate.wait()
            self.done.append((writer, n))

        return run


async def test_jobs_spread_over_writers_and_fence_waits_for_all() -> None:
    writes = _WriteBehind(_writers(2), depth=2)
    jobs = _Gated()
    done, gate, job = jobs.done, jobs.gate, jobs.job
    await writes.submit(job(1))
    await writes.submit(job(2))
    fence = asyncio.create_task(writes.fence())
    await asyncio.sleep(0.01)
    assert not fence.done()  # both jobs are held
    gate.set()
    await fence
    assert sorted(n for _, n in done) == [1, 2]
    assert {w for w, _ in done} == {"w0", "w1"}  # written side by side
    await writes.submit(job(3))
    await writes.close()
    assert sorted(n for _, n in done) == [1, 2, 3]


async def test_a_standby_writer_joins_once_the_queue_is_full() -> None:
    writes = _WriteBehind(_writers(2), depth=1, standby=True)
    jobs = _Gated()
    done, gate, job = jobs.done, jobs.gate, jobs.job
    await writes.submit(job(1))  # taken by w0, which then waits
    await writes.submit(job(2))  # queued: the queue is full now
    assert len(writes.tasks) == 1
    third = asyncio.create_task(writes.submit(job(3)))  # w1 joins and takes job 2
    await asyncio.sleep(0.01)
    assert len(writes.tasks) == 2 and third.done()
    gate.set()
    await writes.close()
    assert sorted(n for _, n in done) == [1, 2, 3]
    assert {w for w, _ in done} == {"w0", "w1"}


async def test_without_standby_every_writer_starts_at_once() -> None:
    writes = _WriteBehind(_writers(3), depth=1)
    assert len(writes.tasks) == 3
    await writes.close()


async def _boom(_writer: Any) -> None:
    raise ValueError("merge failed")


def _recording(ran: list[int]) -> Any:
    async def later(_writer: Any) -> None:
        ran.append(1)

    return later


async def test_a_failed_write_fails_the_next_submit_and_stops_the_rest() -> None:
    writes = _WriteBehind(_writers(1), depth=1)
    ran: list[int] = []
    later = _recording(ran)

    try:
        await writes.submit(_boom)
        with pytest.raises(ValueError, match="merge failed"):
            for _ in range(3):  # the queue may take one more before the error shows
                await writes.submit(later)
                await asyncio.sleep(0)
        with pytest.raises(ValueError, match="merge failed"):
            await writes.fence()
    finally:
        await writes.cancel()
    assert ran == []


async def test_after_all_holds_later_jobs_back_but_not_the_caller() -> None:
    writes = _WriteBehind(_writers(2), depth=4)
    order: list[str] = []
    gate = asyncio.Event()

    async def series(_writer: Any) -> None:
        await gate.wait()
        order.append("series")

    async def episodes(_writer: Any) -> None:
        order.append("episodes")

    await writes.submit(series)
    after_series = writes.after_all()
    # Both submits return at once although the series job is held.
    await asyncio.wait_for(writes.submit(after_series(episodes)), 1)
    await asyncio.wait_for(writes.submit(after_series(episodes)), 1)
    await asyncio.sleep(0.01)
    assert order == []  # the free writer took an episodes job and waits
    gate.set()
    await writes.close()
    assert order == ["series", "episodes", "episodes"]


async def test_after_all_writes_nothing_more_once_an_earlier_job_failed() -> None:
    writes = _WriteBehind(_writers(2), depth=4)
    ran: list[int] = []

    try:
        await writes.submit(_boom)
        await writes.submit(writes.after_all()(_recording(ran)))
        with pytest.raises(ValueError, match="merge failed"):
            await writes.close()
        assert ran == []
    finally:
        await writes.cancel()
