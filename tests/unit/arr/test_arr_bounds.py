"""An answer is bounded in size and in total time, whatever is sent; the error names the
limit that was hit, and the request is not repeated (it would cost as much again)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from comradarr_arr import ArrClient, ArrResponseTooLargeError, ArrResponseTooSlowError
from comradarr_arrsim import Simulator

from .conftest import FakeTime

ClientFactory = Callable[..., tuple[ArrClient, FakeTime]]
SimFactory = Callable[..., Simulator]


def _serving(body: Callable[[], Any], headers: dict[str, str] | None = None) -> Any:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(200, content=body(), headers=headers or {})

    transport = httpx.MockTransport(handler)
    transport.calls = calls  # type: ignore[attr-defined]
    return transport


async def test_a_declared_length_past_the_limit_is_refused_before_reading(
    make_client: ClientFactory,
) -> None:
    transport = _serving(lambda: b"{}" + b" " * 5000)
    client, _ = make_client(transport, max_body_bytes=1000)
    async with client:
        with pytest.raises(ArrResponseTooLargeError) as err:
            await client.ping()
    assert err.value.limit == "max_body_bytes" and "max_body_bytes" in str(err.value)
    assert transport.calls == ["/ping"]  # not retried


async def test_an_undeclared_body_is_counted_as_it_arrives(make_client: ClientFactory) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b" " * 100

    transport = _serving(chunks)
    client, _ = make_client(transport, max_body_bytes=1000)
    async with client:
        with pytest.raises(ArrResponseTooLargeError, match="max_body_bytes"):
            await client.ping()
    assert transport.calls == ["/ping"]


async def test_a_trickling_body_hits_the_total_time_limit(make_client: ClientFactory) -> None:
    async def drip() -> AsyncIterator[bytes]:
        yield b'{"status":'
        for _ in range(100):
            await asyncio.sleep(0.02)  # each wait is short: no per-read timeout trips
            yield b" "
        yield b'"OK"}'

    transport = _serving(drip)
    client, _ = make_client(transport, max_request_seconds=0.2, timeout=5)
    async with client:
        with pytest.raises(ArrResponseTooSlowError) as err:
            await client.ping()
    assert err.value.limit == "max_request_seconds" and "0.2 s" in str(err.value)
    assert transport.calls == ["/ping"]


async def test_within_the_limits_nothing_changes(make_client: ClientFactory) -> None:
    client, _ = make_client(_serving(lambda: b'{"status":"OK"}'), max_body_bytes=1000)
    async with client:
        await client.ping()


async def test_a_streamed_list_is_bounded_too(
    make_sim: SimFactory, make_client: ClientFactory
) -> None:
    sim = make_sim(series=30, seasons=1, episodes_per_season=1)
    client, _ = make_client(sim, max_stream_bytes=2000)
    async with client:
        with pytest.raises(ArrResponseTooLargeError) as err:
            async for _ in client.series():
                pass
    assert err.value.limit == "max_stream_bytes"
    roomy, _ = make_client(sim)
    async with roomy:
        assert len([s async for s in roomy.series()]) == 30
