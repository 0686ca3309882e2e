"""What each event says: the table from event types to notices, and each kind's wording.

Adding an event kind: a row in comradarr_channels.events (key, label, immediate), a row in
KIND_TEXT below, and a renderer in RENDERERS for the event type that produces it (the
notifier subscribes to every type listed there). Each notice's title names the connector
and the item ("Sonarr · Quiet Crown S02E03 found"); a digest lists those titles.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from comradarr_db import Connection
from comradarr_proto import (
    BackupCompleted,
    BackupFailed,
    ConnectorHealthChanged,
    DailyBudgetSpent,
    Event,
    IndexerFailing,
    IndexerRateLimited,
    IndexerRecovered,
    MessageDeadLettered,
    RateLimited,
    SearchExhausted,
    SearchFound,
    SweepCompleted,
)

from .names import connector_name, items

NotifyType = Literal["info", "success", "warning", "failure"]


@dataclass(frozen=True, slots=True)
class KindText:
    """How a kind reads in a digest title ("12 searches found") and how it is flagged."""

    plural: str
    notify_type: NotifyType


KIND_TEXT: dict[str, KindText] = {
    "connector_unhealthy": KindText("connector problems", "failure"),
    "connector_offline": KindText("connectors offline", "failure"),
    "connector_auth_failed": KindText("authentication failures", "failure"),
    "connector_recovered": KindText("connectors recovered", "success"),
    "sweep_finished": KindText("sweeps finished", "info"),
    "search_found": KindText("searches found", "success"),
    "search_exhausted": KindText("items exhausted", "warning"),
    "budget_spent": KindText("budgets spent", "warning"),
    "rate_limited": KindText("rate limits", "warning"),
    "indexer_rate_limited": KindText("indexers rate limited", "warning"),
    "indexer_failing": KindText("indexers failing", "warning"),
    "indexer_recovered": KindText("indexers recovered", "success"),
    "dead_lettered": KindText("messages dead-lettered", "failure"),
    "backup_done": KindText("backups done", "success"),
    "backup_failed": KindText("backups failed", "failure"),
}


@dataclass(frozen=True, slots=True)
class Notice:
    """One thing to tell: its kind, its texts, and what makes it unique within its event."""

    kind: str
    title: str
    body: str
    connector_id: int | None = None
    # Appended to the event's message id when one event makes several notices (one per item).
    part: str = ""
    path: str | None = None


Renderer = Callable[[Any, Connection], Awaitable[list[Notice]]]

_AUTH = re.compile(r"\b401\b|unauthori[sz]ed|authenticat|api key", re.IGNORECASE)


async def _health(e: ConnectorHealthChanged, conn: Connection) -> list[Notice]:
    name = await connector_name(conn, e.connector_id)
    detail = "; ".join(e.messages) or "no details given"
    if e.current in ("degraded", "unhealthy"):
        # Until the connectors report authentication failures as their own status, a 401 in
        # the health messages is how one shows.
        if any(_AUTH.search(m) for m in e.messages):
            kind, what = "connector_auth_failed", "authentication failed"
            detail = f"{detail}. Check the API key in the connector's settings."
        else:
            kind, what = "connector_unhealthy", e.current
    elif e.current == "offline":
        kind, what = "connector_offline", "offline"
    elif e.current == "healthy" and e.previous in ("degraded", "unhealthy", "offline"):
        return [
            Notice(
                "connector_recovered",
                f"{name} · recovered",
                f"{name} is healthy again (it was {e.previous}).",
                e.connector_id,
                path=f"/connector?id={e.connector_id}",
            )
        ]
    else:
        return []
    return [
        Notice(
            kind, f"{name} · {what}", detail, e.connector_id, path=f"/connector?id={e.connector_id}"
        )
    ]


def _n(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


async def _sweep(e: SweepCompleted, conn: Connection) -> list[Notice]:
    name = await connector_name(conn, e.connector_id)
    if e.sync_outcome == "skipped":
        return []
    if e.sync_outcome == "failed":
        title = f"{name} · sweep failed"
        body = f"The sync failed: {e.error or 'no reason given'}."
    else:
        title = f"{name} · sweep finished"
        body = (
            f"Synced {_n(e.items_synced, 'item', 'items')}; "
            f"{_n(e.gaps_new, 'new gap', 'new gaps')}, "
            f"{_n(e.upgrades_new, 'new upgrade', 'new upgrades')}; "
            f"{_n(e.items_queued, 'item', 'items')} queued for search."
        )
    return [Notice("sweep_finished", title, body, e.connector_id)]


async def _per_item(
    conn: Connection, connector_id: int, registry_ids: list[int], kind: str, verb: str, body: str
) -> list[Notice]:
    name = await connector_name(conn, connector_id)
    known = await items(conn, registry_ids)
    notices = []
    for rid in registry_ids:
        item = known.get(rid)
        label = item.label if item else f"item {rid} (no longer in the library)"
        notices.append(
            Notice(
                kind,
                f"{name} · {label} {verb}",
                body,
                connector_id,
                part=f"#{rid}",
                path=item.path if item else None,
            )
        )
    return notices


async def _found(e: SearchFound, conn: Connection) -> list[Notice]:
    how = "reported by the app's webhook" if e.source == "webhook" else "seen in the app's history"
    return await _per_item(
        conn,
        e.connector_id,
        e.registry_ids,
        "search_found",
        "found",
        f"A release was grabbed ({how}).",
    )


async def _exhausted(e: SearchExhausted, conn: Connection) -> list[Notice]:
    return await _per_item(
        conn,
        e.connector_id,
        e.registry_ids,
        "search_exhausted",
        "exhausted",
        "Every allowed search found nothing; it is no longer searched until you reset it.",
    )


async def _rate_limited(e: RateLimited, conn: Connection) -> list[Notice]:
    name = await connector_name(conn, e.connector_id)
    until = e.paused_until.strftime("%H:%M UTC")
    return [
        Notice(
            "rate_limited",
            f"{name} · rate limited (429)",
            f"Searches pause for {e.retry_after_seconds:g} s, until {until}.",
            e.connector_id,
        )
    ]


async def _budget(e: DailyBudgetSpent, conn: Connection) -> list[Notice]:
    name = await connector_name(conn, e.connector_id)
    return [
        Notice(
            "budget_spent",
            f"{name} · daily budget spent",
            f"All {e.budget:,} requests of the budget are used; searches resume at "
            f"{e.resets_at:%Y-%m-%d %H:%M} UTC.",
            e.connector_id,
        )
    ]


async def _indexer_limited(e: IndexerRateLimited, conn: Connection) -> list[Notice]:
    name = await connector_name(conn, e.connector_id)
    until = f" until {e.until:%Y-%m-%d %H:%M} UTC" if e.until else ""
    detail = f": {e.message}" if e.message else ""
    return [
        Notice(
            "indexer_rate_limited",
            f"{name} · {e.name} rate limited",
            f"Prowlarr skips this indexer{until}{detail}. Searches go on with the others.",
            e.connector_id,
            path="/indexers",
        )
    ]


async def _indexer_failing(e: IndexerFailing, conn: Connection) -> list[Notice]:
    name = await connector_name(conn, e.connector_id)
    return [
        Notice(
            "indexer_failing",
            f"{name} · {e.name} failing",
            e.message or "Prowlarr reports recent failures for this indexer.",
            e.connector_id,
            path="/indexers",
        )
    ]


async def _indexer_recovered(e: IndexerRecovered, conn: Connection) -> list[Notice]:
    name = await connector_name(conn, e.connector_id)
    was = e.previous.replace("_", " ")
    since = f" since {e.unhealthy_since:%Y-%m-%d %H:%M} UTC" if e.unhealthy_since else ""
    return [
        Notice(
            "indexer_recovered",
            f"{name} · {e.name} recovered",
            f"The indexer is healthy again (it was {was}{since}).",
            e.connector_id,
            path="/indexers",
        )
    ]


async def _dead_letter(e: MessageDeadLettered, _conn: Connection) -> list[Notice]:
    subject = e.failed_subject.split(".evt.", 1)[-1].split(".cmd.", 1)[-1]
    return [
        Notice(
            "dead_lettered",
            f"Message dead-lettered · {subject}",
            f"{e.consumer} gave up after {e.deliveries} deliveries: {e.error[:300]}",
        )
    ]


def _size(n: int) -> str:
    return f"{n / (1 << 20):,.1f} MiB" if n >= 1 << 20 else f"{n / 1024:,.0f} KiB"


async def _backup_done(e: BackupCompleted, _conn: Connection) -> list[Notice]:
    what = "scheduled backup" if e.trigger == "scheduled" else "backup"
    mirror = "" if e.includes_mirror else " (without the library mirror)"
    pruned = f" {len(e.pruned)} older backup(s) removed." if e.pruned else ""
    return [
        Notice(
            "backup_done",
            f"Backup done · {e.backup_id}",
            f"The {what} holds {e.rows:,} rows{mirror}: {_size(e.size_bytes)} in "
            f"{e.seconds:.1f} s.{pruned}",
            path="/backups",
        )
    ]


async def _backup_failed(e: BackupFailed, _conn: Connection) -> list[Notice]:
    what = "The scheduled backup" if e.trigger == "scheduled" else "A backup"
    return [
        Notice(
            "backup_failed",
            "Backup failed",
            f"{what} could not be made: {e.error[:500]}",
            path="/backups",
        )
    ]


# Event type → the notices it makes. The notifier has one durable consumer per type here.
RENDERERS: dict[type[Event], Renderer] = {
    ConnectorHealthChanged: _health,
    SweepCompleted: _sweep,
    SearchFound: _found,
    SearchExhausted: _exhausted,
    RateLimited: _rate_limited,
    DailyBudgetSpent: _budget,
    IndexerRateLimited: _indexer_limited,
    IndexerFailing: _indexer_failing,
    IndexerRecovered: _indexer_recovered,
    MessageDeadLettered: _dead_letter,
    BackupCompleted: _backup_done,
    BackupFailed: _backup_failed,
}


async def render(event: Event, conn: Connection) -> list[Notice]:
    """The notices an event makes (none for a type or a change nobody is told about)."""
    renderer = RENDERERS.get(type(event))
    return [] if renderer is None else await renderer(event, conn)


MAX_DIGEST_LINES = 25


def digest_text(kind: str, titles: list[str]) -> tuple[str, str]:
    """One message for several notices of one kind: "12 searches found" and their titles."""
    text = KIND_TEXT[kind]
    lines = titles[:MAX_DIGEST_LINES]
    if len(titles) > MAX_DIGEST_LINES:
        lines.append(f"… and {len(titles) - MAX_DIGEST_LINES:,} more")
    return f"{len(titles):,} {text.plural}", "\n".join(lines)


def summary_text(by_kind: dict[str, list[str]], quiet_label: str) -> tuple[str, str]:
    """The one message that reports everything held during quiet hours."""
    counts = ", ".join(f"{len(t):,} {KIND_TEXT[k].plural}" for k, t in by_kind.items())
    sections = []
    for kind, titles in by_kind.items():
        title, body = digest_text(kind, titles)
        sections.append(f"{title}:\n{body}")
    return f"While quiet ({quiet_label}): {counts}", "\n\n".join(sections)
