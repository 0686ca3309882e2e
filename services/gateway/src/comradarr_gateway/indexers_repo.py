"""SQL of the Indexers view: Prowlarr indexer health as the scheduler last stored it
(prowlarr_indexers, prowlarr_polls), read only here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from comradarr_db import Connection

# A Prowlarr whose last poll failed, or that has not answered for this many of its poll
# intervals (plus a minute of slack for the scheduler's tick), is stale.
STALE_INTERVALS = 2
_SLACK = timedelta(seconds=60)

_SOURCES = """
SELECT c.id AS connector_id, c.name, c.enabled, p.last_attempt_at, p.last_success_at,
       p.last_error, p.stats_served, coalesce(p.interval_seconds, 300) AS interval_seconds
FROM connectors c LEFT JOIN prowlarr_polls p ON p.connector_id = c.id
WHERE c.type = 'prowlarr'
ORDER BY lower(c.name), c.id
"""
_INDEXERS = """
SELECT i.connector_id, c.name AS connector_name, i.indexer_id, i.name, i.protocol, i.privacy,
       i.implementation, i.enabled, i.state, i.state_since, i.disabled_till,
       i.most_recent_failure, i.message, i.queries, i.grabs, i.failed_queries, i.failed_grabs,
       i.avg_response_ms, i.checked_at
FROM prowlarr_indexers i JOIN connectors c ON c.id = i.connector_id
ORDER BY CASE i.state WHEN 'rate_limited' THEN 0 WHEN 'failing' THEN 1
                      WHEN 'healthy' THEN 2 ELSE 3 END, lower(i.name), i.connector_id
"""


def is_stale(source: dict[str, Any], *, now: datetime) -> bool:
    """Whether a Prowlarr's indexer rows can no longer be taken as current."""
    last = source["last_success_at"]
    if last is None or source["last_error"] is not None or not source["enabled"]:
        return True
    limit = timedelta(seconds=float(source["interval_seconds"]) * STALE_INTERVALS) + _SLACK
    return bool(now - last > limit)


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexerHealth:
    """Every Prowlarr's poll state and every indexer, unhealthy first."""

    sources: list[dict[str, Any]]
    indexers: list[dict[str, Any]]

    def all_rate_limited(self, *, now: datetime) -> datetime | None:
        """When every enabled indexer is rate limited right now: the first time one of them
        comes back; else None (also without any enabled indexer)."""
        enabled = [i for i in self.indexers if i["enabled"]]
        ends = [
            i["disabled_till"]
            for i in enabled
            if i["state"] == "rate_limited"
            and i["disabled_till"] is not None
            and i["disabled_till"] > now
        ]
        return min(ends) if enabled and len(ends) == len(enabled) else None


async def indexer_health(conn: Connection, *, now: datetime) -> IndexerHealth:
    """The stored indexer health, each row marked stale (with its age) from its source."""
    sources = [dict(r) for r in await conn.fetch(_SOURCES)]
    stale: dict[int, bool] = {}
    for s in sources:
        s["stale"] = stale[s["connector_id"]] = is_stale(s, now=now)
        last = s["last_success_at"]
        s["age_seconds"] = None if last is None else max(0, int((now - last).total_seconds()))
    indexers = [dict(r) for r in await conn.fetch(_INDEXERS)]
    for i in indexers:
        i["stale"] = stale.get(i["connector_id"], True)
    return IndexerHealth(sources=sources, indexers=indexers)


async def all_rate_limited_until(conn: Connection, *, now: datetime) -> datetime | None:
    """When every enabled indexer (of every Prowlarr) is rate limited right now: when the
    first comes back; else None. (The queue mentions it; nothing waits on it.)"""
    value = await conn.fetchval(
        "SELECT CASE WHEN count(*) > 0 AND bool_and(state = 'rate_limited'"
        " AND disabled_till > $1) THEN min(disabled_till) END"
        " FROM prowlarr_indexers WHERE enabled",
        now,
    )
    return value if isinstance(value, datetime) else None
