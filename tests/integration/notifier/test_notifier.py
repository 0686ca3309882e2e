"""The notifier end to end on 127.0.0.1: events in over NATS, Apprise out to local receivers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import structlog
from comradarr_bus import Delivery
from comradarr_channels import QuietHours
from comradarr_db import AlreadyProcessed
from comradarr_notifier.deliveries import prune_deliveries
from comradarr_proto import (
    ConnectorHealthChanged,
    DailyBudgetSpent,
    IndexerFailing,
    IndexerRateLimited,
    IndexerRecovered,
    RateLimited,
    SearchFound,
    SweepCompleted,
)

from tests.support import wait_for
from tests.support.receivers import http_receiver, smtp_receiver

from .conftest import Harness

pytestmark = pytest.mark.integration


def offline(connector_id: int, **kw: Any) -> ConnectorHealthChanged:
    return ConnectorHealthChanged(
        connector_id=connector_id,
        previous="healthy",
        current="offline",
        messages=["connection refused"],
        **kw,
    )


async def registry_ids(h: Harness) -> list[int]:
    rows = await h.pool.fetch("SELECT id FROM search_registry ORDER BY id")
    return [r["id"] for r in rows]


async def send_all(h: Harness) -> None:
    """Sender rounds until nothing is due now."""
    for _ in range(5):
        if not await h.service.sender.round():
            return


async def test_one_event_reaches_webhook_ntfy_gotify_and_email(h: Harness) -> None:
    with http_receiver() as web, smtp_receiver() as mail:
        await h.channel("hook", "webhook", {"url": f"http://{web.base}/hook"})
        await h.channel(
            "phone", "ntfy", {"server_url": f"http://{web.base}", "topic": "comradarr-alerts"}
        )
        await h.channel(
            "gotify",
            "gotify",
            {"server_url": f"http://{web.base}/gotify", "app_token": "AppToken123"},
        )
        await h.channel(
            "mail",
            "email",
            {
                "smtp_host": "127.0.0.1",
                "smtp_port": str(mail.port),
                "security": "none",
                "from_address": "comradarr@example.com",
                "to_addresses": "me@example.com",
            },
        )
        await h.subscribe()
        await h.bus.publish(offline(h.connector_id))
        await wait_for(lambda: _count(h, 4), timeout=10)
        await send_all(h)

        hook = web.at("/hook")
        assert len(hook) == 1
        assert hook[0].json()["title"] == "Sonarr · offline"
        assert hook[0].json()["message"] == "connection refused"
        ntfy = [r for r in web.at("/") if r.body and r.json().get("topic") == "comradarr-alerts"]
        assert len(ntfy) == 1 and ntfy[0].json()["message"] == "connection refused"
        gotify = web.at("/gotify/message")
        assert len(gotify) == 1 and gotify[0].json()["title"] == "Sonarr · offline"
        assert (
            gotify[0].headers.get("x-gotify-key") == "AppToken123"
            or "AppToken123" in gotify[0].path
        )
        assert len(mail.messages) == 1
        sender, rcpt, content = mail.messages[0]
        assert sender == "comradarr@example.com" and rcpt == ["me@example.com"]
        assert b"connection refused" in content
    rows = await h.deliveries()
    assert [r["status"] for r in rows] == ["sent"] * 4
    assert all(r["event_kind"] == "connector_offline" for r in rows)


async def _count(h: Harness, n: int) -> bool:
    return len(await h.deliveries()) >= n


async def test_a_redelivered_event_is_sent_once(h: Harness) -> None:
    with http_receiver() as web:
        await h.channel("hook", "webhook", {"url": f"http://{web.base}/hook"})
        event = offline(h.connector_id)
        delivery = Delivery(
            consumer="notifier-ConnectorHealthChanged",
            subject="x",
            message_id=event.message_id,
            attempt=1,
            pool=h.pool,
        )
        await h.service.route(event, delivery)
        with pytest.raises(AlreadyProcessed):
            await h.service.route(event, delivery)
        await send_all(h)
        # And over the bus: the same message id published twice is one delivery.
        await h.subscribe()
        again = offline(h.connector_id, message_id="health-dup-1")
        await h.bus.publish(again)
        await h.bus.publish(again)
        await wait_for(lambda: _count(h, 2), timeout=10)
        await send_all(h)
        assert len(web.at("/hook")) == 2
    assert len(await h.deliveries()) == 2


async def test_channels_get_only_the_kinds_they_chose(h: Harness) -> None:
    with http_receiver() as web:
        await h.channel(
            "found", "webhook", {"url": f"http://{web.base}/found"}, events=["search_found"]
        )
        await h.channel("all", "webhook", {"url": f"http://{web.base}/all"}, events=["all"])
        await h.subscribe()
        await h.bus.publish(offline(h.connector_id))
        ids = await registry_ids(h)
        await h.bus.publish(SearchFound(connector_id=h.connector_id, registry_ids=ids[2:3]))
        await wait_for(lambda: _count(h, 3), timeout=10)
        await send_all(h)
        assert [r.json()["title"] for r in web.at("/found")] == [
            "Sonarr · Quiet Crown S02E03 found"
        ]
        assert sorted(r.json()["title"] for r in web.at("/all")) == [
            "Sonarr · Quiet Crown S02E03 found",
            "Sonarr · offline",
        ]


async def test_digest_groups_one_kind_within_the_window(h: Harness) -> None:
    with http_receiver() as web:
        await h.channel("digest", "webhook", {"url": f"http://{web.base}/d"}, digest_minutes=15)
        await h.subscribe()
        ids = await registry_ids(h)
        await h.bus.publish(SearchFound(connector_id=h.connector_id, registry_ids=ids[:3]))
        await wait_for(lambda: _count(h, 3), timeout=10)
        h.clock.advance(minutes=5)
        await h.bus.publish(
            SearchFound(connector_id=h.connector_id, registry_ids=ids[3:5], source="webhook")
        )
        # Health goes at once, digest or not.
        await h.bus.publish(offline(h.connector_id))
        await wait_for(lambda: _count(h, 6), timeout=10)
        await send_all(h)
        assert [r.json()["title"] for r in web.at("/d")] == ["Sonarr · offline"]
        h.clock.advance(minutes=9)
        await send_all(h)
        assert len(web.at("/d")) == 1  # the window (15 min from the first) is not over
        h.clock.advance(minutes=1, seconds=1)
        await send_all(h)
        digest = web.at("/d")[1].json()
        assert digest["title"] == "5 searches found"
        assert digest["message"].splitlines() == [
            f"Sonarr · Quiet Crown S02E0{n} found" for n in range(1, 6)
        ]
    rows = await h.deliveries()
    assert sorted(r["batch_size"] for r in rows) == [1, 5, 5, 5, 5, 5]


async def test_quiet_hours_hold_events_for_one_summary(h: Harness) -> None:
    quiet = QuietHours.model_validate(
        {"start": "22:00", "end": "07:00", "timezone": "Europe/Berlin"}
    )
    # 23:30 in Berlin (UTC+1 in March before DST).
    h.clock.now = datetime(2026, 3, 2, 22, 30, tzinfo=UTC)
    with http_receiver() as web:
        await h.channel("night", "webhook", {"url": f"http://{web.base}/n"}, quiet=quiet)
        await h.subscribe()
        ids = await registry_ids(h)
        await h.bus.publish(offline(h.connector_id))
        await h.bus.publish(SearchFound(connector_id=h.connector_id, registry_ids=ids[:2]))
        await wait_for(lambda: _count(h, 3), timeout=10)
        await send_all(h)
        h.clock.advance(hours=7)  # 06:30 Berlin: still quiet
        await send_all(h)
        assert web.requests == []
        assert {r["status"] for r in await h.deliveries()} == {"held"}
        h.clock.advance(minutes=31)  # 07:01 Berlin
        await send_all(h)
        assert len(web.requests) == 1
        summary = web.requests[0].json()
        assert summary["title"].startswith("While quiet (22:00 to 07:00 Europe/Berlin): ")
        assert "1 connectors offline" in summary["title"]
        assert "2 searches found" in summary["title"]
        assert "Sonarr · Quiet Crown S02E02 found" in summary["message"]
    assert {r["status"] for r in await h.deliveries()} == {"sent"}


async def test_a_failing_channel_retries_with_backoff_then_fails_without_blocking(
    h: Harness,
) -> None:
    secret_path = "hook-secret-Zq8xW2"
    on_bus: list[bytes] = []

    async def tap(msg: Any) -> None:
        on_bus.append(msg.data)

    await h.bus.nc.subscribe(f"{h.bus.prefix}.>", cb=tap)
    with http_receiver() as web, structlog.testing.capture_logs() as logs:
        web.status = 500
        channel_id = await h.channel(
            "broken", "webhook", {"url": f"http://{web.base}/{secret_path}"}
        )
        await h.channel("fine", "webhook", {"url": f"http://{web.base}/fine"})
        await h.subscribe()
        await h.bus.publish(offline(h.connector_id))
        await wait_for(lambda: _count(h, 2), timeout=10)
        await send_all(h)
        assert len(web.at("/fine")) == 1  # the failing channel held nothing up
        row = next(r for r in await h.deliveries() if r["channel_id"] == channel_id)
        assert row["status"] == "pending" and row["attempts"] == 1
        h.clock.advance(seconds=9)
        await send_all(h)
        assert len(web.at(f"/{secret_path}")) == 1  # backoff: not yet
        h.clock.advance(seconds=2)
        await send_all(h)
        h.clock.advance(seconds=21)
        await send_all(h)
        assert len(web.at(f"/{secret_path}")) == 3
        h.clock.advance(hours=1)
        await send_all(h)
        assert len(web.at(f"/{secret_path}")) == 3  # given up after max_attempts
    row = next(r for r in await h.deliveries() if r["channel_id"] == channel_id)
    assert row["status"] == "failed" and row["attempts"] == 3
    assert row["error"] and secret_path not in row["error"]
    health = await h.pool.fetchrow(
        "SELECT * FROM notification_channel_health WHERE channel_id = $1", channel_id
    )
    assert health["consecutive_failures"] == 3
    assert secret_path not in json.dumps(logs, default=str)
    assert on_bus and not any(secret_path.encode() in data for data in on_bus)
    assert any(e.get("event") == "notification failed" for e in logs)


async def test_sweep_summary_text(h: Harness) -> None:
    with http_receiver() as web:
        await h.channel("hook", "webhook", {"url": f"http://{web.base}/s"})
        await h.subscribe()
        await h.bus.publish(
            SweepCompleted(
                connector_id=h.connector_id,
                sync_outcome="success",
                items_synced=1234,
                gaps_new=5,
                upgrades_new=1,
                items_queued=6,
            )
        )
        await wait_for(lambda: _count(h, 1), timeout=10)
        await send_all(h)
        body = web.at("/s")[0].json()
    assert body["title"] == "Sonarr · sweep finished"
    assert (
        body["message"]
        == "Synced 1,234 items; 5 new gaps, 1 new upgrade; 6 items queued for search."
    )


async def test_links_use_the_public_url_when_configured(h: Harness) -> None:
    await h.pool.execute(
        "INSERT INTO settings (key, value) VALUES ('notifications.public_url', $1)",
        "https://comradarr.example.com/",
    )
    with http_receiver() as web:
        await h.channel("hook", "webhook", {"url": f"http://{web.base}/l"})
        await h.subscribe()
        ids = await registry_ids(h)
        await h.bus.publish(SearchFound(connector_id=h.connector_id, registry_ids=ids[:1]))
        await wait_for(lambda: _count(h, 1), timeout=10)
        await send_all(h)
        message = web.at("/l")[0].json()["message"]
    series_id = await h.pool.fetchval("SELECT id FROM series")
    assert message.endswith(f"https://comradarr.example.com/content/series?id={series_id}")


async def test_retention_prunes_finished_deliveries_only(h: Harness) -> None:
    with http_receiver() as web:
        await h.channel("hook", "webhook", {"url": f"http://{web.base}/r"})
        await h.subscribe()
        await h.bus.publish(offline(h.connector_id))
        await wait_for(lambda: _count(h, 1), timeout=10)
        await send_all(h)
        await h.pool.execute(
            "UPDATE notification_deliveries SET created_at = created_at - interval '40 days'"
        )
        await h.bus.publish(offline(h.connector_id))  # waiting: never pruned
        await wait_for(lambda: _count(h, 2), timeout=10)
        await h.pool.execute(
            "UPDATE notification_deliveries SET created_at = created_at - interval '40 days'"
            " WHERE status = 'pending'"
        )
    async with h.pool.acquire() as conn:
        assert await prune_deliveries(conn, now=h.clock(), retention_days=60) == 0
        # The setting's value (30 days by default) when none is given.
        assert await prune_deliveries(conn, now=h.clock()) == 1
    assert [r["status"] for r in await h.deliveries()] == ["pending"]


async def test_budget_and_rate_limit_texts(h: Harness) -> None:
    with http_receiver() as web:
        await h.channel("hook", "webhook", {"url": f"http://{web.base}/b"})
        await h.subscribe()
        resets = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
        await h.bus.publish(
            DailyBudgetSpent(connector_id=h.connector_id, budget=500, resets_at=resets)
        )
        await h.bus.publish(
            RateLimited(connector_id=h.connector_id, retry_after_seconds=60, paused_until=resets)
        )
        await wait_for(lambda: _count(h, 2), timeout=10)
        await send_all(h)
        got = {r.json()["title"]: r.json()["message"] for r in web.at("/b")}
    assert got == {
        "Sonarr · daily budget spent": "All 500 requests of the budget are used; searches resume"
        " at 2026-03-03 00:00 UTC.",
        "Sonarr · rate limited (429)": "Searches pause for 60 s, until 00:00 UTC.",
    }


async def test_one_event_with_many_items_is_one_message_without_a_digest(h: Harness) -> None:
    with http_receiver() as web:
        await h.channel("hook", "webhook", {"url": f"http://{web.base}/m"})
        await h.subscribe()
        ids = await registry_ids(h)
        await h.bus.publish(SearchFound(connector_id=h.connector_id, registry_ids=ids[:3]))
        await h.bus.publish(SearchFound(connector_id=h.connector_id, registry_ids=ids[3:4]))
        await wait_for(lambda: _count(h, 4), timeout=10)
        await send_all(h)
        got = sorted((r.json()["title"], r.json()["message"]) for r in web.at("/m"))
    assert got == [
        (
            "3 searches found",
            "\n".join(f"Sonarr · Quiet Crown S02E0{n} found" for n in (1, 2, 3)),
        ),
        ("Sonarr · Quiet Crown S02E04 found", "A release was grabbed (seen in the app's history)."),
    ]


async def test_indexer_event_texts(h: Harness) -> None:
    until = datetime(2026, 3, 2, 14, 5, tzinfo=UTC)
    with http_receiver() as web:
        await h.channel("hook", "webhook", {"url": f"http://{web.base}/i"})
        await h.subscribe()
        await h.bus.publish(
            IndexerRateLimited(
                connector_id=h.connector_id,
                indexer_id=3,
                name="NZBgeek",
                until=until,
                message="API limit reached",
            )
        )
        await h.bus.publish(
            IndexerFailing(connector_id=h.connector_id, indexer_id=4, name="Tracker", message=None)
        )
        await h.bus.publish(
            IndexerRecovered(
                connector_id=h.connector_id,
                indexer_id=3,
                name="NZBgeek",
                previous="rate_limited",
                unhealthy_since=until,
            )
        )
        await wait_for(lambda: _count(h, 3), timeout=10)
        await send_all(h)
        got = {r.json()["title"]: r.json()["message"] for r in web.at("/i")}
    assert got == {
        "Sonarr · NZBgeek rate limited": "Prowlarr skips this indexer until 2026-03-02 14:05 UTC:"
        " API limit reached. Searches go on with the others.",
        "Sonarr · Tracker failing": "Prowlarr reports recent failures for this indexer.",
        "Sonarr · NZBgeek recovered": "The indexer is healthy again (it was rate limited since"
        " 2026-03-02 14:05 UTC).",
    }
