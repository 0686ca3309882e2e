"""Correlation ids: binding, scoping, and propagation across asyncio tasks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from comradarr_logging import (
    bind_correlation_id,
    correlation_id,
    correlation_scope,
    get_correlation_id,
    get_logger,
)

if TYPE_CHECKING:
    from conftest import Captured

pytestmark = pytest.mark.unit


@pytest.fixture
def out(configure: Callable[..., Captured]) -> Captured:
    # info, not trace: asyncio's own debug lines would interleave.
    return configure(level="info")


@pytest.fixture(autouse=True)
def _fresh_correlation_id() -> None:
    correlation_id.set(None)


def test_bind_generates_uuid4_hex() -> None:
    cid = bind_correlation_id()
    assert len(cid) == 32
    int(cid, 16)
    assert get_correlation_id() == cid
    assert bind_correlation_id() != cid


def test_bind_explicit() -> None:
    assert bind_correlation_id("req-1") == "req-1"
    assert get_correlation_id() == "req-1"


def test_scope_restores_previous() -> None:
    assert get_correlation_id() is None
    with correlation_scope("outer") as outer:
        assert outer == "outer"
        with correlation_scope() as inner:
            assert get_correlation_id() == inner != "outer"
        assert get_correlation_id() == "outer"
    assert get_correlation_id() is None


def test_scope_restores_on_error() -> None:
    with pytest.raises(RuntimeError), correlation_scope("x"):
        raise RuntimeError
    assert get_correlation_id() is None


def test_correlation_id_in_output(out: Captured) -> None:
    log = get_logger("m")
    log.info("before")
    with correlation_scope("abc123"):
        log.info("inside")
        logging.getLogger("ext.nats").info("stdlib inside")
    log.info("after")
    assert [line["correlation_id"] for line in out.lines()] == [None, "abc123", "abc123", None]


async def test_propagates_to_tasks_and_does_not_leak_back(out: Captured) -> None:
    log = get_logger("m")

    async def child() -> None:
        log.info("child sees parent")
        bind_correlation_id("child-own")
        log.info("child rebound")

    with correlation_scope("parent"):
        await asyncio.create_task(child())
        log.info("parent after child")

    assert [(line["event"], line["correlation_id"]) for line in out.lines()] == [
        ("child sees parent", "parent"),
        ("child rebound", "child-own"),
        ("parent after child", "parent"),
    ]


async def test_concurrent_tasks_keep_their_own_ids(out: Captured) -> None:
    log = get_logger("m")

    async def handle(n: int) -> None:
        with correlation_scope(f"req-{n}"):
            for step in range(3):
                log.info("step", n=n, step=step)
                await asyncio.sleep(0)

    await asyncio.gather(*(handle(n) for n in range(5)))
    lines = out.lines()
    assert len(lines) == 15
    for line in lines:
        assert line["correlation_id"] == f"req-{line['n']}"
    # They really interleaved, so the contextvar did the separating.
    assert [line["n"] for line in lines[:5]] == [0, 1, 2, 3, 4]
