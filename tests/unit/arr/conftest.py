"""Fixtures for the *arr client tests: simulators over ASGI and a fake clock."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from comradarr_arr import ArrClient, ConnectorConfig, RetryPolicy
from comradarr_arrsim import DEFAULT_REFERENCE, Flavor, LibrarySpec, ManualClock, Simulator

API_KEY = "s3cr3t-api-key-0123456789abcdef"
_names = itertools.count()


class FakeTime:
    """A monotonic clock and a sleep that only moves it (and records the delays)."""

    def __init__(self, *, also: ManualClock | None = None) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._also = also

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self._also is not None:
            self._also.advance(seconds)


def unique_name(prefix: str = "t") -> str:
    """A connector name of its own, so metric samples are per test."""
    return f"{prefix}-{next(_names)}"


@pytest.fixture
def make_sim() -> Callable[..., Simulator]:
    """Build a simulator on a manual clock."""

    def build(flavor: Flavor = Flavor.SONARR_V3, **spec: Any) -> Simulator:
        options = {k: spec.pop(k) for k in ("behaviour", "version", "url_base") if k in spec}
        return Simulator(
            flavor=flavor,
            api_key=API_KEY,
            spec=LibrarySpec(**spec),
            clock=ManualClock(start=DEFAULT_REFERENCE),
            **options,
        )

    return build


@pytest.fixture
def make_client() -> Callable[..., tuple[ArrClient, FakeTime]]:
    """Build a client talking to a simulator (or any transport) with a fake clock."""

    def build(
        target: Simulator | httpx.AsyncBaseTransport,
        *,
        name: str | None = None,
        url: str = "http://sim",
        retry: RetryPolicy | None = None,
        api_key: str = API_KEY,
        **config: Any,
    ) -> tuple[ArrClient, FakeTime]:
        if isinstance(target, Simulator):
            transport: httpx.AsyncBaseTransport = httpx.ASGITransport(app=target.app)
            clock = target.clock if isinstance(target.clock, ManualClock) else None
        else:
            transport, clock = target, None
        fake = FakeTime(also=clock)
        client = ArrClient(
            ConnectorConfig(
                name=name or unique_name(),
                url=url,
                api_key=api_key,
                retry=retry or RetryPolicy(max_retries=3, base_delay=0.5, max_delay=8),
                **config,
            ),
            transport=transport,
            sleep=fake.sleep,
            clock=fake.clock,
            rng=random.Random(7),
        )
        return client, fake

    return build


@pytest.fixture
def api_key() -> str:
    """The key every simulator in these tests expects."""
    return API_KEY
