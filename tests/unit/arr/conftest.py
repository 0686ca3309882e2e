"""Fixtures for the *arr client tests: simulators over ASGI and a fake clock."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from comradarr_arr import ArrClient, ConnectorConfig, RetryPolicy
from comradarr_arrsim import DEFAULT_REFERENCE, Flavor, LibrarySpec, ManualClock, Simulator

from tests.unit.arr.arr_testkit import API_KEY, FakeTime, unique_name


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
