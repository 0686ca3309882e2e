"""SQL of the dashboard: figures, completion per connector, next and running sweeps, and the
activity feed, a read model over records other services keep (dispatch commands, sync and
discovery runs, connector health history): nothing is copied to be shown here.

Figures, as the dashboard defines them:

- gaps / upgrades: search registry entries of type gap, and of type upgrade or format
  (quality below the cutoff, or custom-format score below it), any state (what discovery
  found wanting);
- queued: entries waiting to be searched (every state but exhausted);
- searched today / last 7 days: searches that ended (search history rows with an end)
  since local midnight in the configured time zone / in the last 7 days; found: those with
  outcome 'found'; success rate = found / searched;
- completion: monitored episodes (movies) that have aired (been released) or have a file:
  those with a file / all of them (``comradarr_mirror.library``, as analytics samples it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from comradarr_db import Connection
from comradarr_mirror import names
from comradarr_mirror.library import completion_counts
from comradarr_schedules import next_fire

KINDS = ("search", "sync", "discovery", "health")
FEED_LIMIT = 50


def local_midnight(now: datetime, tz: str) -> datetime:
    """The start of today in tz (as an aware datetime)."""
    local = now.astimezone(ZoneInfo(tz))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


async def figures(conn: Connection, *, now: datetime, tz: str) -> dict[str, Any]:
    """The headline figures (see the module's docstring for what each counts)."""
    reg = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE search_type = 'gap') AS gaps,"
        " count(*) FILTER (WHERE search_type IN ('upgrade', 'format')) AS upgrades,"
        " count(*) FILTER (WHERE state <> 'exhausted') AS queued FROM search_registry"
    )
    since_today, since_week = local_midnight(now, tz), now - timedelta(days=7)
    hist = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE ended_at >= $1) AS searched_today,"
        " count(*) FILTER (WHERE ended_at >= $1 AND outcome = 'found') AS found_today,"
        " count(*) AS searched_7d, count(*) FILTER (WHERE outcome = 'found') AS found_7d"
        " FROM search_history WHERE started_at >= $3::timestamptz - interval '1 day'"
        " AND ended_at IS NOT NULL AND ended_at >= $2",
        since_today,
        since_week,
        min(since_today, since_week),
    )
    assert reg is not None and hist is not None

    def rate(found: int, searched: int) -> float | None:
        return round(found / searched, 4) if searched else None

    return {
        "gaps": int(reg["gaps"]),
        "upgrades": int(reg["upgrades"]),
        "queued": int(reg["queued"]),
        "searched_today": int(hist["searched_today"]),
        "found_today": int(hist["found_today"]),
        "success_rate_today": rate(hist["found_today"], hist["searched_today"]),
        "searched_7d": int(hist["searched_7d"]),
        "found_7d": int(hist["found_7d"]),
        "success_rate_7d": rate(hist["found_7d"], hist["searched_7d"]),
    }


async def completion(conn: Connection, *, now: datetime) -> list[dict[str, Any]]:
    """Per connector: monitored items that are out and those with a file, by the rule the
    analytics service samples for the sparkline (``comradarr_mirror.library``)."""
    counts = await completion_counts(conn, now=now)
    rows = await conn.fetch(
        "SELECT id, name, type, health_status, enabled FROM connectors ORDER BY lower(name)"
    )
    out = []
    for r in rows:
        monitored, with_file = counts.get(r["id"], (0, 0))
        out.append(
            {
                "connector_id": r["id"],
                "name": r["name"],
                "type": r["type"],
                "health_status": r["health_status"],
                "enabled": r["enabled"],
                "monitored": monitored,
                "with_file": with_file,
                "completion": round(with_file / monitored, 4) if monitored else None,
            }
        )
    return out


async def next_sweeps(conn: Connection, *, now: datetime, limit: int = 5) -> list[dict[str, Any]]:
    """The next enabled schedules to fire: their stored next run, or (not computed by the
    scheduler yet, as right after a connector was saved) the next from their cron."""
    rows = await conn.fetch(
        "SELECT s.id, s.name, s.sync_mode, s.sweep_type, s.cron, s.timezone, s.next_run_at,"
        " c.id AS connector_id, c.name AS connector_name FROM schedules s"
        " JOIN connectors c ON c.id = s.connector_id WHERE s.enabled AND c.enabled"
    )
    upcoming = []
    for r in rows:
        at = r["next_run_at"]
        if at is None:
            try:
                at = next_fire(r["cron"], tz=r["timezone"], after=now)
            except Exception:  # noqa: S112 - one the scheduler cannot read either
                continue
        upcoming.append((at, r))
    upcoming.sort(key=lambda x: (x[0], x[1]["id"]))
    return [
        {
            "schedule_id": r["id"],
            "schedule_name": r["name"],
            "connector_id": r["connector_id"],
            "connector_name": r["connector_name"],
            "sync_mode": r["sync_mode"],
            "sweep_type": r["sweep_type"],
            "at": at,
        }
        for at, r in upcoming[:limit]
    ]


async def running_sweeps(conn: Connection, *, now: datetime) -> list[dict[str, Any]]:
    """Sweeps under way: syncing (with records fetched so far), or discovering."""
    rows = await conn.fetch(
        """
        SELECT c.id AS connector_id, c.name AS connector_name, r.mode, r.started_at,
               r.progress_fetched, r.progress_total, 'syncing' AS stage
        FROM sync_runs r JOIN connectors c ON c.id = r.connector_id
        WHERE r.outcome = 'running' AND r.started_at > $1::timestamptz - interval '6 hours'
        UNION ALL
        SELECT c.id, c.name, NULL, w.fired_at, w.items_synced, NULL, 'discovering'
        FROM sweep_runs w JOIN connectors c ON c.id = w.connector_id
        WHERE w.status = 'fired' AND w.sync_seen AND NOT w.discovery_seen
          AND w.fired_at > $1::timestamptz - interval '6 hours'
        ORDER BY 4
        """,
        now,
    )
    return [
        {
            "connector_id": r["connector_id"],
            "connector_name": r["connector_name"],
            "stage": r["stage"],
            "sync_mode": r["mode"],
            "started_at": r["started_at"],
            "fetched": r["progress_fetched"],
            "total": r["progress_total"],
        }
        for r in rows
    ]


# --- activity ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Activity:
    """One line of the feed."""

    at: datetime
    kind: str
    connector_id: int
    connector_name: str
    outcome: str
    text: str


async def activity(
    conn: Connection, *, kinds: tuple[str, ...] = KINDS, limit: int = FEED_LIMIT
) -> list[Activity]:
    """The newest `limit` events of the given kinds, newest first, as sentences."""
    got: list[Activity] = []
    if "search" in kinds:
        got += await _searches(conn, limit)
    if "sync" in kinds:
        got += await _syncs(conn, limit)
    if "discovery" in kinds:
        got += await _discoveries(conn, limit)
    if "health" in kinds:
        got += await _health(conn, limit)
    got.sort(key=lambda a: a.at, reverse=True)
    return got[:limit]


async def _searches(conn: Connection, limit: int) -> list[Activity]:
    rows = await conn.fetch(
        "SELECT d.connector_id, c.name AS connector_name, d.command_name, d.series_arr_id,"
        " d.season_number, d.arr_ids, d.status, d.found, d.message, d.ended_at"
        " FROM dispatch_commands d JOIN connectors c ON c.id = d.connector_id"
        " WHERE d.ended_at IS NOT NULL ORDER BY d.ended_at DESC, d.id DESC LIMIT $1",
        limit,
    )
    episodes = {
        names.ArrKey(r["connector_id"], a)
        for r in rows
        if r["command_name"] == "EpisodeSearch"
        for a in r["arr_ids"]
    }
    movies = {
        names.ArrKey(r["connector_id"], a)
        for r in rows
        if r["command_name"] == "MoviesSearch"
        for a in r["arr_ids"]
    }
    shows = {
        names.ArrKey(r["connector_id"], r["series_arr_id"])
        for r in rows
        if r["command_name"] == "SeasonSearch" and r["series_arr_id"] is not None
    }
    labels = {
        **await names.episode_names(conn, episodes),
        **await names.movie_names(conn, movies),
    }
    titles = await names.series_names(conn, shows)
    out = []
    for r in rows:
        cid = r["connector_id"]
        if r["command_name"] == "SeasonSearch":
            show = titles.get(names.ArrKey(cid, r["series_arr_id"] or 0))
            what = names.season_label(show, r["season_number"])
        else:
            found_names = [
                labels[k] for k in (names.ArrKey(cid, a) for a in r["arr_ids"]) if k in labels
            ]
            what = names.items_phrase(found_names)
        n, found = len(r["arr_ids"]), int(r["found"] or 0)
        if r["status"] == "done":
            if n == 1 or r["command_name"] == "SeasonSearch":
                result, outcome = ("found", "found") if found else ("not found", "not_found")
            else:
                result = f"{found} of {n} found"
                outcome = "found" if found else "not_found"
            text = f"{what} searched: {result}"
        elif r["status"] == "rate_limited":
            text, outcome = f"{what} not searched: the app asked to slow down", "rate_limited"
        else:
            why = f": {r['message']}" if r["message"] else ""
            text, outcome = f"{what} search failed{why}", "failed"
        out.append(
            Activity(
                at=r["ended_at"],
                kind="search",
                connector_id=cid,
                connector_name=r["connector_name"],
                outcome=outcome,
                text=names.on_connector(r["connector_name"], text),
            )
        )
    return out


async def _syncs(conn: Connection, limit: int) -> list[Activity]:
    rows = await conn.fetch(
        "SELECT r.connector_id, c.name AS connector_name, r.mode, r.outcome, r.fetched,"
        " r.inserted, r.updated, r.deleted, r.error, r.skip_reason, r.ended_at"
        " FROM sync_runs r JOIN connectors c ON c.id = r.connector_id"
        " WHERE r.ended_at IS NOT NULL ORDER BY r.ended_at DESC, r.id DESC LIMIT $1",
        limit,
    )
    out = []
    for r in rows:
        mode = "full sync" if r["mode"] == "full" else "sync"
        if r["outcome"] == "success":
            changes = [
                f"{r[k]:,} {label}"
                for k, label in (("inserted", "new"), ("updated", "changed"), ("deleted", "gone"))
                if r[k]
            ]
            detail = f" ({', '.join(changes)})" if changes else ", nothing changed"
            text = f"{mode} done: {names.count(r['fetched'], 'record')} read{detail}"
        elif r["outcome"] == "skipped":
            text = f"{mode} skipped: {r['skip_reason'] or r['error'] or 'no reason given'}"
        else:
            text = f"{mode} failed: {r['error'] or 'no reason given'}"
        out.append(
            Activity(
                at=r["ended_at"],
                kind="sync",
                connector_id=r["connector_id"],
                connector_name=r["connector_name"],
                outcome=r["outcome"],
                text=names.on_connector(r["connector_name"], text),
            )
        )
    return out


async def _discoveries(conn: Connection, limit: int) -> list[Activity]:
    rows = await conn.fetch(
        "SELECT d.connector_id, c.name AS connector_name, d.gaps_found,"
        " d.upgrades_found + d.formats_found AS upgrades_found,"
        " d.gaps_new + d.upgrades_new + d.formats_new AS new, d.entries_removed, d.created_at"
        " FROM discovery_runs d JOIN connectors c ON c.id = d.connector_id"
        " ORDER BY d.created_at DESC, d.id DESC LIMIT $1",
        limit,
    )
    out = []
    for r in rows:
        new = int(r["new"])
        text = (
            f"{names.count(r['gaps_found'], 'missing item')} and"
            f" {names.count(r['upgrades_found'], 'upgrade candidate')};"
            f" {names.count(new, 'new entry', 'new entries')} in the queue"
        )
        if r["entries_removed"]:
            text += f", {names.count(r['entries_removed'], 'entry', 'entries')} no longer wanted"
        out.append(
            Activity(
                at=r["created_at"],
                kind="discovery",
                connector_id=r["connector_id"],
                connector_name=r["connector_name"],
                outcome="done",
                text=names.on_connector(r["connector_name"], text),
            )
        )
    return out


async def _health(conn: Connection, limit: int) -> list[Activity]:
    # Checks repeat every few minutes: only the readings that changed the status count.
    rows = await conn.fetch(
        """
        SELECT * FROM (
            SELECT h.connector_id, c.name AS connector_name, h.status, h.messages,
                   h.checked_at, lag(h.status) OVER (PARTITION BY h.connector_id
                                                     ORDER BY h.checked_at, h.id) AS before
            FROM connector_health_history h JOIN connectors c ON c.id = h.connector_id
            WHERE h.checked_at > now() - interval '30 days'
        ) t WHERE before IS DISTINCT FROM status
        ORDER BY checked_at DESC LIMIT $1
        """,
        limit,
    )
    out = []
    for r in rows:
        messages = [str(m) for m in (r["messages"] or []) if m]
        why = f": {messages[0]}" if messages and r["status"] != "healthy" else ""
        verb = "connected" if r["before"] is None and r["status"] == "healthy" else "is"
        out.append(
            Activity(
                at=r["checked_at"],
                kind="health",
                connector_id=r["connector_id"],
                connector_name=r["connector_name"],
                outcome=r["status"],
                text=names.on_connector(r["connector_name"], f"{verb} {r['status']}{why}"),
            )
        )
    return out
