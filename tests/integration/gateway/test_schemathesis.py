"""Property-based fuzzing of every operation in the gateway's own OpenAPI (schemathesis).

A full-scope API key on this test's own disposable database; whatever routes exist are
covered (nothing here names one). Every answer must be a non-5xx, carry a status the
operation documents, and conform to the documented schema and content type. Positive data
(valid per the schema) and negative data (invalid) are both sent.

Generation runs in Hypothesis (sync); the requests go through the real app on the test's
event loop (PostgreSQL and NATS of this test), bounded per request in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import time
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, openapi
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import Harness, make_settings

pytestmark = pytest.mark.integration

TARGET_REQUESTS = 3000
NEGATIVE_SHARE = 0.25  # of each operation's cases
REQUEST_TIMEOUT = 20.0
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]


def _streams(operation: dict[str, Any]) -> bool:
    """An operation whose success answer is an endless stream (server-sent events)."""
    for status, response in operation.get("responses", {}).items():
        if status.startswith("2") and "text/event-stream" in response.get("content", {}):
            return True
    return False


def _cases(op: Any, mode: GenerationMode, count: int, key: str) -> list[Any]:
    """count cases of one operation, drawn by Hypothesis (boundaries and odd values too)."""
    found: list[Any] = []
    strategy = op.as_strategy(generation_mode=mode, headers={"X-API-Key": key})

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(case: Any) -> None:
        found.append(case)

    # An operation without parameters has one positive case and no negative one.
    with contextlib.suppress(Unsatisfiable):
        collect()
    return found


def _plan(operations: list[Any], key: str) -> dict[Any, list[Any]]:
    """At least TARGET_REQUESTS distinct cases: small operations give what they have, the
    rest is drawn from operations with room (more parameters, more to try)."""
    goal = math.ceil(TARGET_REQUESTS * 1.05)
    quota = math.ceil(goal / len(operations))
    negative = max(1, round(quota * NEGATIVE_SHARE))
    plan = {
        op: _cases(op, GenerationMode.POSITIVE, quota - negative, key)
        + _cases(op, GenerationMode.NEGATIVE, negative, key)
        for op in operations
    }
    while (missing := goal - sum(len(c) for c in plan.values())) > 0:
        roomy = [op for op, cases in plan.items() if len(cases) >= quota - 1]
        extra = math.ceil(missing / len(roomy))
        for op in roomy:
            plan[op] += _cases(op, GenerationMode.POSITIVE, extra, key)
        quota += extra
    return plan


def _no_dns_beyond_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fuzzed URLs (connector tests, channels) must not reach out: names other than
    localhost resolve to nothing, so every such call fails fast on this machine."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host or "")
        if name not in ("localhost", "127.0.0.1", "::1") and not name.startswith("127."):
            raise socket.gaierror(socket.EAI_NONAME, "fuzzing: no lookups beyond loopback")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.timeout(900)
async def test_fuzz_every_operation_no_5xx_and_conforming(
    harness: Harness, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_dns_beyond_loopback(monkeypatch)
    harness.gw.settings = make_settings(connector_test_max_timeout=2.0)
    r = await admin.post(
        "/api/v1/api-keys",
        json={"description": "fuzz", "scope": "full", "rate_per_minute": 100_000},
    )
    assert r.status_code == 201, r.text
    key = r.json()["key"]
    await admin.post(
        "/api/v1/connectors",
        json={"type": "sonarr", "name": "TV", "url": "http://127.0.0.1:9", "api_key": "k" * 32},
    )

    raw = harness.app.openapi()
    schema = openapi.from_dict(raw)
    operations = []
    for result in schema.get_all_operations():
        op = result.ok()
        if not _streams(raw["paths"][op.path][op.method.lower()]):
            operations.append(op)
    started = time.monotonic()
    plan = _plan(operations, key)
    generated = time.monotonic() - started
    sent, failures, statuses = 0, [], {}
    async with harness.client() as client:  # no cookie: the key is the only credential
        for op, cases in plan.items():
            for case in cases:
                kwargs = case.as_transport_kwargs(base_url="http://testserver")
                for drop in ("follow_redirects", "timeout", "cookies"):
                    kwargs.pop(drop, None)
                if isinstance(kwargs.get("data"), bytes | str):
                    kwargs["content"] = kwargs.pop("data")  # a raw body: httpx's content
                kwargs["headers"] = {**(kwargs.get("headers") or {}), "X-API-Key": key}
                label = f"{op.method.upper()} {op.path}"
                try:
                    async with asyncio.timeout(REQUEST_TIMEOUT):
                        response = await client.request(**kwargs)
                except TimeoutError:
                    failures.append(f"{label}: no answer within {REQUEST_TIMEOUT} s")
                    continue
                sent += 1
                statuses[response.status_code // 100] = (
                    statuses.get(response.status_code // 100, 0) + 1
                )
                try:
                    case.validate_response(response, checks=CHECKS)
                except (Exception, BaseExceptionGroup) as exc:  # report them all together
                    failures.append(f"{label} -> {response.status_code}: {str(exc)[:300]}")
    elapsed = time.monotonic() - started
    print(
        f"schemathesis: {len(operations)} operations, {sent} requests, "
        f"{statuses.get(5, 0)} 5xx, {len(failures)} failures, {elapsed:.0f} s "
        f"({generated:.0f} s generating), by class {statuses}"
    )
    assert sent >= TARGET_REQUESTS
    assert statuses.get(5, 0) == 0
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:15])
