"""Property-based fuzzing of the gateway's own OpenAPI (schemathesis, offline, bounded).

Requests go through the real app (PostgreSQL + NATS) as a signed-in admin; every answer
must be a non-5xx and conform to the documented schema.
"""

from __future__ import annotations

import time
import warnings

import httpx
import pytest
import schemathesis
from hypothesis.errors import NonInteractiveExampleWarning
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from .conftest import Harness

pytestmark = pytest.mark.integration

# Would end the fuzzer's own session, or stream forever.
SKIP = {
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/logout-others"),
    ("POST", "/api/v1/auth/password"),
    ("GET", "/api/v1/events"),
}
EXAMPLES_PER_OPERATION = 6
BUDGET_SECONDS = 50


async def test_fuzz_every_operation_no_5xx_and_conforming(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    await admin.post(
        "/api/v1/connectors",
        json={"type": "sonarr", "name": "TV", "url": "http://127.0.0.1:9", "api_key": "k" * 32},
    )
    schema = schemathesis.openapi.from_dict(harness.app.openapi())
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    started = time.monotonic()
    sent = 0
    failures: list[str] = []
    for result in schema.get_all_operations():
        op = result.ok()
        if (op.method.upper(), op.path) in SKIP:
            continue
        strategy = op.as_strategy()
        for _ in range(EXAMPLES_PER_OPERATION):
            if time.monotonic() - started > BUDGET_SECONDS:
                break
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NonInteractiveExampleWarning)
                case = strategy.example()
            kwargs = case.as_transport_kwargs(base_url="http://testserver")
            kwargs.pop("follow_redirects", None)
            kwargs.pop("timeout", None)
            kwargs.pop("cookies", None)
            if isinstance(kwargs.get("data"), bytes | str):
                # A raw body (e.g. an optional body left empty): httpx wants it as content.
                kwargs["content"] = kwargs.pop("data")
            headers = {**dict(admin.headers), **(kwargs.pop("headers", None) or {})}
            headers.pop("X-API-Key", None)
            headers.pop("x-api-key", None)
            response = await admin.request(headers=headers, **kwargs)
            sent += 1
            if response.status_code == 429:
                continue
            try:
                case.validate_response(response, checks=checks)
            except Exception as exc:  # collect every failure, report them together
                failures.append(f"{op.method.upper()} {op.path}: {str(exc)[:400]}")
    assert sent >= 40
    assert not failures, "\n".join(failures[:10])
