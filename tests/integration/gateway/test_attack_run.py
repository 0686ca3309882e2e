"""The attack run's failures (issue 20), reproduced at the gateway's HTTP edge.

Each was a 500 before: the request must now be a clear 4xx naming what is wrong, the
server state must be unchanged, and no log line may carry secret material.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from comradarr_logging import configure_logging

from .conftest import Harness

pytestmark = pytest.mark.integration

SONARR = {"type": "sonarr", "name": "TV", "url": "http://127.0.0.1:9", "api_key": "k" * 32}


@pytest.fixture
def log_text() -> io.StringIO:
    """Everything logged during the test, rendered as the services render it."""
    stream = io.StringIO()
    configure_logging(service="gateway", level="debug", stream=stream)
    return stream


async def test_nul_byte_in_a_path_with_an_api_key_is_a_400(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    assert (await admin.post("/api/v1/connectors", json=SONARR)).status_code == 201
    _, key = await harness.api_key(admin, "full")
    paths = [
        "/api/v1/connectors/1%00",
        "/api/v1/connectors/%00",
        "/api/v1/schedules/1%00",
        "/api/v1/content/series/1%00",
        "/api/v1/content/movies/1%00",
        "/api/v1/throttle-profiles/1%00",
        "/api/v1/connectors%00",
        "/api/v1/queue?connector_id=1%00",
        "/api/v1/content?q=a%00b",
    ]
    async with harness.client() as c:
        for path in paths:
            for method in ("GET", "DELETE"):
                r = await c.request(method, path, headers={"X-API-Key": key})
                assert r.status_code in (400, 422), (path, r.status_code, r.text)
                if "?" in path:  # a query parameter: named, as validation errors are
                    assert r.json()["detail"][0]["loc"] == [
                        "query",
                        path.split("?")[1].split("=")[0],
                    ]
    # Still usable, and nothing reached the usage log with the NUL.
    async with harness.client() as c:
        r = await c.get("/api/v1/connectors/1", headers={"X-API-Key": key})
        assert r.status_code == 200
    rows = await harness.pool.fetch("SELECT endpoint FROM api_key_usage")
    assert all("\x00" not in row["endpoint"] for row in rows)


NON_ASCII_KEYS = ["ключ" * 8, "k" * 31 + "é", "abc def", "abc\tdef", "k" * 31 + "\u2028"]


async def test_non_ascii_arr_api_key_is_refused_at_the_edge(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    for bad in NON_ASCII_KEYS:
        for path in ("/api/v1/connectors/test", "/api/v1/connectors"):
            body = {**SONARR, "api_key": bad}
            if path.endswith("test"):
                body.pop("name")
            r = await admin.post(path, json=body)
            assert r.status_code == 422, (bad, path, r.text)
            assert r.json()["detail"][0]["loc"][-1] == "api_key"
            assert bad not in r.text
    r = await admin.post("/api/v1/connectors", json=SONARR)
    cid = r.json()["id"]
    r = await admin.patch(f"/api/v1/connectors/{cid}", json={"api_key": NON_ASCII_KEYS[0]})
    assert r.status_code == 422
    assert await harness.pool.fetchval("SELECT count(*) FROM connectors") == 1


async def test_a_stored_non_ascii_key_tests_as_a_clear_failure(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    """A key stored before edge validation existed: its test says what is wrong, no 500."""
    from comradarr_connectors import create_connector

    async with harness.pool.acquire() as conn:
        c = await create_connector(
            conn,
            box=harness.gw.box,
            type="sonarr",
            name="old",
            url="http://127.0.0.1:9",
            api_key="ключ" * 8,
            enabled=True,
            verify_ssl=True,
            timeout_seconds=5,
        )
    r = await admin.post(f"/api/v1/connectors/{c.id}/test")
    assert r.status_code == 200, r.text
    assert r.json()["ok"] is False
    assert r.json()["error"] == "authentication"
    assert "API key" in r.json()["message"]


TINY = [1e-50, 5e-324, 1e-46, 0.0001, -0.0, 301, 1e308]


async def test_tiny_timeout_is_a_422_and_no_log_carries_key_material(
    harness: Harness, admin: httpx.AsyncClient, log_text: io.StringIO
) -> None:
    secret = "deadbeefcafebabe0123456789abcdef"
    for value in TINY:
        body = {**SONARR, "name": f"t{value}", "api_key": secret, "timeout_seconds": value}
        r = await admin.post("/api/v1/connectors", json=body)
        assert r.status_code == 422, (value, r.text)
        assert r.json()["detail"][0]["loc"][-1] == "timeout_seconds"
    r = await admin.post("/api/v1/connectors", json={**SONARR, "api_key": secret})
    cid = r.json()["id"]
    for value in TINY:
        r = await admin.patch(f"/api/v1/connectors/{cid}", json={"timeout_seconds": value})
        assert r.status_code == 422, (value, r.text)
        r = await admin.post(
            "/api/v1/connectors/test", json={**SONARR, "timeout": value} | {"name": None}
        )
    enc = bytes(await harness.pool.fetchval("SELECT api_key_enc FROM connectors"))
    text = log_text.getvalue()
    assert secret not in text
    for chunk in (enc[i : i + 6] for i in range(0, len(enc) - 6, 3)):
        assert chunk.hex() not in text and repr(chunk)[2:-1] not in text
    assert "unhandled error" not in text


async def test_budget_reset_time_patch_is_not_a_500(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    r = await admin.post("/api/v1/throttle-profiles", json={"name": "Night"})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    r = await admin.patch(f"/api/v1/throttle-profiles/{pid}", json={"budget_reset_time": "04:00"})
    assert r.status_code == 200, r.text
    assert r.json()["budget_reset_time"] == "04:00"
    assert (await admin.get(f"/api/v1/throttle-profiles/{pid}")).json()[
        "budget_reset_time"
    ] == "04:00"
    for bad in ("24:00", "4:00", "04:60", "04:00:00", "\x00", "04:00\n"):
        r = await admin.patch(f"/api/v1/throttle-profiles/{pid}", json={"budget_reset_time": bad})
        assert r.status_code == 422, (bad, r.text)


# --- the same class of bug anywhere: edge values in every field of every operation ---------

NUMBER_EDGES: list[object] = [
    1e-50,
    5e-324,
    -0.0,
    1e308,
    2**63,
    -(2**31) - 1,
    float("nan"),
    float("inf"),
]
TEXT_EDGES = ["a\x00b", "\ud800", "\x00", "é" * 3000, "\u202e\u0000", " "]
# Would end the run's own session, stream forever, or rotate the key the harness holds.
EDGE_SKIP = {
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/logout-others"),
    ("GET", "/api/v1/events"),
}


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def _kinds(spec: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    schema = _resolve(spec, schema)
    options = schema.get("anyOf") or schema.get("oneOf") or [schema]
    out: set[str] = set()
    for option in options:
        option = _resolve(spec, option)
        kind = option.get("type")
        if kind in ("number", "integer"):
            out.add("number")
        elif kind == "string" and "enum" not in option and "const" not in option:
            out.add("text")
    return out


def _fields(spec: dict[str, Any], schema: dict[str, Any], prefix: str = "") -> list[Any]:
    """(dotted name, kinds) of every leaf field, nested objects included."""
    schema = _resolve(spec, schema)
    out: list[Any] = []
    for name, sub in schema.get("properties", {}).items():
        resolved = _resolve(spec, sub)
        options = [_resolve(spec, o) for o in resolved.get("anyOf", [resolved])]
        nested = [o for o in options if "properties" in o]
        if nested and len(prefix.split(".")) < 3:
            out += _fields(spec, nested[0], f"{prefix}{name}.")
        else:
            out.append((prefix + name, _kinds(spec, sub)))
    return out


def _nest(dotted: str, value: object) -> dict[str, Any]:
    *parents, leaf = dotted.split(".")
    body: dict[str, Any] = {leaf: value}
    for part in reversed(parents):
        body = {part: body}
    return body


def _edges(kinds: set[str]) -> list[object]:
    return [
        *(NUMBER_EDGES if "number" in kinds else []),
        *(TEXT_EDGES if "text" in kinds else []),
    ]


async def _seed(admin: httpx.AsyncClient) -> None:
    r = await admin.post("/api/v1/connectors", json=SONARR)
    assert r.status_code == 201, r.text
    r = await admin.post("/api/v1/throttle-profiles", json={"name": "Custom"})
    assert r.status_code == 201, r.text
    r = await admin.post("/api/v1/schedules", json={"connector_id": 1, "cron": "0 3 * * *"})
    assert r.status_code == 201, r.text


async def test_edge_values_in_every_field_are_4xx_never_5xx(
    harness: Harness, admin: httpx.AsyncClient, log_text: io.StringIO
) -> None:
    """Tiny, huge and negative numbers, NUL, lone surrogates and long text in every body
    field and query parameter of every operation: a clear 4xx or a success, never a 500."""
    await _seed(admin)
    spec = harness.app.openapi()
    sent, failures = 0, []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if (method.upper(), path) in EDGE_SKIP or not path.startswith("/api/v1"):
                continue
            url = re.sub(r"\{[^}]+\}", "1", path)
            body_schema = (
                op.get("requestBody", {}).get("content", {}).get("application/json", {})
            ).get("schema")
            targets: list[tuple[str, str, set[str]]] = []
            if body_schema is not None:
                targets += [("body", name, kinds) for name, kinds in _fields(spec, body_schema)]
            for param in op.get("parameters", []):
                if param["in"] == "query":
                    targets.append(("query", param["name"], _kinds(spec, param["schema"])))
            for where, name, kinds in targets:
                for value in _edges(kinds):
                    if where == "body":
                        content = json.dumps(_nest(name, value)).encode()
                        r = await admin.request(
                            method.upper(),
                            url,
                            content=content,
                            headers={"content-type": "application/json"},
                        )
                    else:
                        # Raw bytes (a lone surrogate as invalid UTF-8): what a client can send.
                        query = quote(str(value), safe="", errors="surrogatepass")
                        r = await admin.request(method.upper(), f"{url}?{name}={query}")
                    sent += 1
                    if r.status_code >= 500:
                        failures.append(f"{method.upper()} {path} {where}.{name}={value!r:.40}")
    print(f"edge requests: {sent}")
    assert sent > 300
    assert not failures, "\n".join(failures)
    assert "unhandled error" not in log_text.getvalue()
