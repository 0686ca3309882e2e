"""The kinds of event a notification channel can subscribe to.

Adding a kind is two small edits: a row here (key, label, whether it skips the digest) and
its text in the notifier (services/notifier/.../texts.py). Keys are stored in each channel's
event list, so a key never changes once released.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL = "all"


@dataclass(frozen=True, slots=True)
class EventKind:
    """One kind of notification a user can pick."""

    key: str
    label: str
    # Sent at once, never held for a channel's digest window (health and auth problems).
    immediate: bool
    description: str


EVENT_KINDS: tuple[EventKind, ...] = (
    EventKind(
        "connector_unhealthy",
        "Connector unhealthy",
        True,
        "A connector reports problems (degraded or unhealthy).",
    ),
    EventKind("connector_offline", "Connector offline", True, "A connector cannot be reached."),
    EventKind(
        "connector_auth_failed",
        "Connector authentication failed",
        True,
        "A connector refused Comradarr's API key.",
    ),
    EventKind("connector_recovered", "Connector recovered", True, "A connector is healthy again."),
    EventKind(
        "sweep_finished",
        "Sweep finished",
        False,
        "A sweep's summary: items synced, new gaps, new upgrades, queued.",
    ),
    EventKind("search_found", "Searches found", False, "A search grabbed a release for an item."),
    EventKind(
        "search_exhausted",
        "Items exhausted",
        False,
        "Items reached their maximum attempts and are no longer searched on their own.",
    ),
    EventKind(
        "budget_spent",
        "Daily budget spent",
        False,
        "A connector used its whole request budget; searches wait for the next reset.",
    ),
    EventKind(
        "rate_limited",
        "Rate limited (429)",
        False,
        "An *arr app or a proxy before it answered 429; the connector pauses.",
    ),
    EventKind(
        "indexer_rate_limited",
        "Indexer rate limited",
        False,
        "Prowlarr disabled an indexer for a while (rate limit or back-off).",
    ),
    EventKind("indexer_failing", "Indexer failing", False, "A Prowlarr indexer failed recently."),
    EventKind(
        "indexer_recovered",
        "Indexer recovered",
        False,
        "A rate limited or failing Prowlarr indexer is healthy again.",
    ),
    EventKind(
        "dead_lettered",
        "Message dead-lettered",
        False,
        "A message failed on every attempt and was set aside.",
    ),
    EventKind("backup_done", "Backup done", False, "A backup file was written."),
    EventKind("backup_failed", "Backup failed", True, "A backup could not be made."),
)

BY_KEY: dict[str, EventKind] = {k.key: k for k in EVENT_KINDS}


def event_kind(key: str) -> EventKind:
    """The kind with that key (KeyError when unknown)."""
    return BY_KEY[key]


def normalise_events(events: list[str] | None) -> list[str]:
    """A channel's event list as stored: [] means every kind; unknown keys are refused."""
    if not events or ALL in events:
        return []
    unknown = sorted(set(events) - BY_KEY.keys())
    if unknown:
        known = ", ".join([ALL, *BY_KEY])
        raise ValueError(f"unknown event kind(s): {', '.join(unknown)} (known: {known})")
    # Catalogue order, without duplicates.
    return [k.key for k in EVENT_KINDS if k.key in events]


def wants(events: list[str], key: str) -> bool:
    """Whether a channel with this stored event list takes events of kind key."""
    return not events or key in events
