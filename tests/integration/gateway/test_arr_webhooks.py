"""The *arr webhooks in: token and HMAC, payload checks, found at once, replay, health."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from comradarr_bus import Subscription
from comradarr_connectors import create_connector
from comradarr_dispatcher.service import DispatcherService
from comradarr_proto import (
    ArrWebhookReceived,
    ConnectorHealthChanged,
    RequestSweep,
    SearchFound,
)

from tests.support import wait_for

from .conftest import Harness

pytestmark = pytest.mark.integration

GRAB = {
    "eventType": "Grab",
    "instanceName": "Sonarr",
    "series": {"id": 10, "title": "Quiet Crown", "tvdbId": 1},
    "episodes": [{"id": 101, "seasonNumber": 2, "episodeNumber": 1, "title": "One"}],
    "release": {"releaseTitle": "Quiet.Crown.S02E01.1080p", "indexer": "x"},
    "downloadClient": "qbit",
    "downloadId": "ABC123",
}


class Seen:
    """Messages of some types seen on the bus (each its own durable consumer)."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def __call__(self, msg: Any, _delivery: Any) -> None:
        self.messages.append(msg)

    def of(self, kind: type) -> list[Any]:
        return [m for m in self.messages if isinstance(m, kind)]


@pytest.fixture
async def world(harness: Harness, admin: httpx.AsyncClient) -> AsyncIterator[dict[str, Any]]:
    async with harness.pool.acquire() as conn:
        c = await create_connector(
            conn,
            box=harness.gw.box,
            type="sonarr",
            name="Sonarr",
            url="http://127.0.0.1:1",
            api_key="sonarr-key-000000000000000000000000",
        )
        await conn.execute(
            "INSERT INTO series (connector_id, arr_id, title) VALUES ($1, 10, 'Quiet Crown')", c.id
        )
        await conn.execute(
            "INSERT INTO episodes (connector_id, arr_id, series_arr_id, season_number,"
            " episode_number) SELECT $1, 100 + n, 10, 2, n FROM generate_series(1, 3) n",
            c.id,
        )
        await conn.execute(
            "INSERT INTO search_registry (connector_id, content_type, episode_id, search_type,"
            " state, attempts) SELECT $1, 'episode', id, 'gap',"
            " CASE WHEN arr_id = 101 THEN 'searching' ELSE 'cooldown' END,"
            " CASE WHEN arr_id = 101 THEN 0 ELSE 1 END FROM episodes ORDER BY arr_id",
            c.id,
        )
        # 101 is being searched now; 102 was searched an hour ago and judged not found;
        # 103 was never searched by Comradarr.
        await conn.execute(
            "INSERT INTO search_history (registry_id, connector_id, command_id, command_name,"
            " search_type, outcome, started_at, ended_at) SELECT r.id, $1, 5, 'EpisodeSearch',"
            " 'gap', CASE WHEN e.arr_id = 101 THEN 'dispatched' ELSE 'not_found' END,"
            " now() - CASE WHEN e.arr_id = 101 THEN interval '10 seconds' ELSE interval '1 hour'"
            " END, CASE WHEN e.arr_id = 101 THEN NULL ELSE now() - interval '59 minutes' END"
            " FROM search_registry r JOIN episodes e ON e.id = r.episode_id WHERE e.arr_id < 103",
            c.id,
        )
    dispatcher = DispatcherService(harness.ctx)
    seen = Seen()
    subs = [
        Subscription(
            ArrWebhookReceived, durable="t-dispatch", handler=dispatcher.handle_arr_webhook
        ),
        Subscription(SearchFound, durable="t-found", handler=seen),
        Subscription(RequestSweep, durable="t-sweep", handler=seen),
        Subscription(ConnectorHealthChanged, durable="t-health", handler=seen),
        Subscription(ArrWebhookReceived, durable="t-webhook", handler=seen),
    ]
    for sub in subs:
        await harness.bus.subscribe(sub)
    r = await admin.post(f"/api/v1/connectors/{c.id}/webhook", json={})
    assert r.status_code == 200, r.text
    yield {"connector": c.id, "token": r.json()["password"], "info": r.json(), "seen": seen}


def basic(token: str) -> dict[str, str]:
    return {"Authorization": "Basic " + _b64(f"comradarr:{token}")}


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


async def outcomes(admin: httpx.AsyncClient) -> dict[int, str]:
    """Each episode's latest search outcome, as the series page of the API shows it."""
    series_id = (await admin.get("/api/v1/content?type=series")).json()["items"][0]["id"]
    detail = (await admin.get(f"/api/v1/content/series/{series_id}")).json()
    return {
        e["arr_id"]: e["history"][0]["outcome"]
        for season in detail["seasons"]
        for e in season["episodes"]
        if e["history"]
    }


async def test_the_connector_page_fields_show_the_token_once(
    harness: Harness, admin: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    info = world["info"]
    cid = world["connector"]
    assert info["path"] == f"/api/v1/webhooks/arr/{cid}"
    assert info["url"].endswith(info["path"]) and info["method"] == "POST"
    assert info["username"] == "comradarr" and len(info["password"]) >= 40
    again = (await admin.get(f"/api/v1/connectors/{cid}/webhook")).json()
    assert again["password"] is None
    assert again["password_masked"] == "****" + world["token"][-4:]
    assert world["token"] not in json.dumps(again)
    token_enc = await harness.pool.fetchval("SELECT token_enc FROM connector_webhooks")
    assert world["token"].encode() not in bytes(token_enc)


async def test_wrong_missing_or_foreign_tokens_are_401(
    harness: Harness, world: dict[str, Any]
) -> None:
    cid = world["connector"]
    async with harness.client() as anon:
        for headers in (
            {},
            basic("wrong-token"),
            {"X-Comradarr-Token": "nope"},
            {"Authorization": "Basic !!"},
        ):
            r = await anon.post(f"/api/v1/webhooks/arr/{cid}", json=GRAB, headers=headers)
            assert r.status_code == 401, (headers, r.text)
        r = await anon.post("/api/v1/webhooks/arr/9999", json=GRAB, headers=basic(world["token"]))
        assert r.status_code == 401
        r = await anon.post("/api/v1/webhooks/arr/abc", json=GRAB, headers=basic(world["token"]))
        assert r.status_code == 422
    assert world["seen"].of(ArrWebhookReceived) == []


async def test_bad_payloads_are_400_never_500(harness: Harness, world: dict[str, Any]) -> None:
    url = f"/api/v1/webhooks/arr/{world['connector']}"
    headers = basic(world["token"])
    async with harness.client() as app:
        for body in (b"", b"not json", b"[]", b'{"eventType": 5}', b'{"series": {}}', b"{" * 5000):
            r = await app.post(
                url, content=body, headers={**headers, "Content-Type": "application/json"}
            )
            assert r.status_code == 400, (body[:20], r.status_code, r.text)
        big = json.dumps({**GRAB, "pad": "x" * 200_000})
        r = await app.post(url, content=big, headers=headers)
        assert r.status_code == 413
        r = await app.post(url, json={"eventType": "Test"}, headers=headers)
        assert r.status_code == 202 and r.json()["event"] == "test"


async def test_a_grab_for_a_searched_item_is_found_within_a_second_and_replay_counts_once(
    harness: Harness, admin: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    url = f"/api/v1/webhooks/arr/{world['connector']}"
    seen: Seen = world["seen"]
    body = json.dumps(GRAB).encode()
    async with harness.client() as app:
        r = await app.post(url, content=body, headers=basic(world["token"]))
        assert r.status_code == 202 and r.json() == {"accepted": True, "event": "grab"}

        async def found() -> bool:
            return (await outcomes(admin)).get(101) == "found"

        await wait_for(found, timeout=1.0)
        # The replay: same body, later (after JetStream's window too: the message id is the
        # body's, and the dispatcher's exactly-once marker has it).
        r = await app.post(url, content=body, headers=basic(world["token"]))
        assert r.status_code == 202
    await wait_for(lambda: len(seen.of(RequestSweep)) >= 1 and len(seen.of(SearchFound)) >= 1)
    await asyncio.sleep(0.5)
    assert len(seen.of(SearchFound)) == 1
    assert seen.of(SearchFound)[0].source == "webhook"
    assert len(seen.of(RequestSweep)) == 1
    sweep = seen.of(RequestSweep)[0]
    assert sweep.series_arr_ids == [10] and sweep.requested_by == "webhook"
    # The token is in no message on the bus.
    assert world["token"] not in json.dumps([m.model_dump(mode="json") for m in seen.messages])
    assert (
        await harness.pool.fetchval("SELECT count(*) FROM search_history WHERE outcome = 'found'")
        == 1
    )
    # Redelivered to the dispatcher directly: still one found, the same entries announced.
    webhook = seen.of(ArrWebhookReceived)[0]
    dispatcher = DispatcherService(harness.ctx)
    from comradarr_bus import Delivery

    delivery = Delivery("t-dispatch", "x", webhook.message_id, 2, harness.pool)
    await dispatcher.handle_arr_webhook(webhook, delivery)
    assert (
        await harness.pool.fetchval("SELECT count(*) FROM search_history WHERE outcome = 'found'")
        == 1
    )


async def test_an_import_after_not_found_gives_the_attempt_back(
    harness: Harness, admin: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    url = f"/api/v1/webhooks/arr/{world['connector']}"
    body = {**GRAB, "eventType": "Download", "episodes": [{"id": 102}, {"id": 103}]}
    async with harness.client() as app:
        r = await app.post(url, json=body, headers={"X-Comradarr-Token": world["token"]})
    assert r.status_code == 202 and r.json()["event"] == "download"

    async def found() -> bool:
        return (await outcomes(admin)).get(102) == "found"

    await wait_for(found, timeout=2.0)
    row = await harness.pool.fetchrow(
        "SELECT r.state, r.attempts FROM search_registry r JOIN episodes e ON e.id = r.episode_id"
        " WHERE e.arr_id = 102"
    )
    assert row["state"] == "cooldown" and row["attempts"] == 0
    # 103 was never searched by Comradarr: nothing to mark.
    assert 103 not in await outcomes(admin)


async def test_signature_is_checked_over_the_raw_body(
    harness: Harness, admin: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    cid = world["connector"]
    r = await admin.post(
        f"/api/v1/connectors/{cid}/webhook", json={"signature_header": "X-Signature"}
    )
    token = r.json()["password"]
    assert r.json()["signature_header"] == "X-Signature"
    url = f"/api/v1/webhooks/arr/{cid}"
    # Whitespace a re-serialisation would lose: the HMAC is over the bytes as sent.
    body = b'{ "eventType" : "Test" }'
    good = hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    async with harness.client() as app:
        headers = basic(token)
        r = await app.post(
            url, content=body, headers={**headers, "X-Signature": "sha256=" + "0" * 64}
        )
        assert r.status_code == 401
        r = await app.post(url, content=body, headers=headers)
        assert r.status_code == 401
        resigned = hmac.new(token.encode(), json.dumps(json.loads(body)).encode(), hashlib.sha256)
        r = await app.post(
            url, content=body, headers={**headers, "X-Signature": resigned.hexdigest()}
        )
        assert r.status_code == 401
        r = await app.post(url, content=body, headers={**headers, "X-Signature": f"sha256={good}"})
        assert r.status_code == 202
        # The old token stopped working when a new one was made.
        r = await app.post(
            url, content=body, headers={**basic(world["token"]), "X-Signature": good}
        )
        assert r.status_code == 401


async def test_health_issue_sets_the_connector_status(
    harness: Harness, admin: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    cid = world["connector"]
    url = f"/api/v1/webhooks/arr/{cid}"
    issue = {
        "eventType": "Health",
        "level": "error",
        "message": "All indexers are unavailable due to failures",
        "type": "IndexerStatusCheck",
    }
    async with harness.client() as app:
        r = await app.post(url, json=issue, headers=basic(world["token"]))
        assert r.status_code == 202
        c = (await admin.get(f"/api/v1/connectors/{cid}")).json()
        assert c["health_status"] == "unhealthy"
        assert c["health_messages"] == [issue["message"]]
        r = await app.post(
            url, json={**issue, "eventType": "HealthRestored"}, headers=basic(world["token"])
        )
        assert r.status_code == 202
    assert (await admin.get(f"/api/v1/connectors/{cid}")).json()["health_status"] == "healthy"
    seen: Seen = world["seen"]
    await wait_for(lambda: len(seen.of(ConnectorHealthChanged)) >= 2)
    assert [m.current for m in seen.of(ConnectorHealthChanged)] == ["unhealthy", "healthy"]


async def test_near_neighbours_and_other_connectors_are_not_open(
    harness: Harness, admin: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    """#13 for the webhook: only the exact route, only with its own connector's token."""
    cid = world["connector"]
    async with harness.pool.acquire() as conn:
        other = await create_connector(
            conn,
            box=harness.gw.box,
            type="radarr",
            name="Radarr",
            url="http://127.0.0.1:1",
            api_key="radarr-key-000000000000000000000000",
        )
    await admin.post(f"/api/v1/connectors/{other.id}/webhook", json={})
    token = world["token"]
    neighbours = [
        f"/api/v1/webhooks/arr/{cid}/",
        f"/api/v1/webhooks/arr/{cid}/x",
        f"/api/v1/webhooks/arr/{cid};x",
        "/api/v1/webhooks/arr",
        "/api/v1/webhooks",
        f"/API/V1/WEBHOOKS/ARR/{cid}",
        f"/api/v1/webhooks/arr/{cid}/../../connectors",
        "/api/v1/webhooks/arr/..%2Fconnectors",
        f"/api/v1/webhooks/arr/{cid}?next=/api/v1/connectors",
    ]
    async with harness.client() as anon:
        for path in neighbours:
            for method in ("GET", "POST", "DELETE"):
                r = await anon.request(method, path, json=GRAB, headers=basic(token))
                assert not 200 <= r.status_code < 300 or path.startswith(
                    f"/api/v1/webhooks/arr/{cid}?"
                ), (method, path, r.status_code)
                assert "****" not in r.text and "sonarr-key" not in r.text
        r = await anon.get(f"/api/v1/webhooks/arr/{cid}", headers=basic(token))
        assert r.status_code == 405
        # One connector's token opens only its own endpoint.
        r = await anon.post(f"/api/v1/webhooks/arr/{other.id}", json=GRAB, headers=basic(token))
        assert r.status_code == 401


async def test_an_unreachable_bus_is_a_503_not_a_500(
    harness: Harness, world: dict[str, Any]
) -> None:
    await harness.bus.stop(timeout=1)
    async with harness.client() as app:
        r = await app.post(
            f"/api/v1/webhooks/arr/{world['connector']}", json=GRAB, headers=basic(world["token"])
        )
    assert r.status_code == 503 and "try again" in r.json()["detail"]
