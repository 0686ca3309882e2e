"""The first hour: a saved connector is tested, gets its default schedules and its first
sweep at once, and searches reach the app with no other step; sync now; delete cascades;
schedules refuse Prowlarr and missing connectors; refused sweeps say why."""

from __future__ import annotations

import re
import time
from pathlib import Path

import asyncpg
import httpx
import pytest
from comradarr_arrsim import Flavor, LibrarySpec, Simulator, serve_in_thread
from comradarr_runtime import Runner, load_service
from comradarr_settings import CoreSettings, load_settings

from tests.support import wait_for

from .conftest import Harness

pytestmark = pytest.mark.integration
KEY = "first-hour-api-key-0000000000000000000"


def _body(url: str, name: str = "TV", kind: str = "sonarr", **kw: object) -> dict[str, object]:
    return {"type": kind, "name": name, "url": url, "api_key": KEY, **kw}


async def test_a_saved_connector_searches_with_no_other_step(
    harness: Harness,
    admin: httpx.AsyncClient,
    database_url: str,
    nats_url: str,
    bus_prefix: str,
    pool: asyncpg.Pool,
    private_tmp: Path,
) -> None:
    sim = Simulator(
        flavor=Flavor.SONARR_V3,
        api_key=KEY,
        spec=LibrarySpec(series=4, seasons=2, episodes_per_season=5, movies=0),
    )
    server = serve_in_thread(sim)
    settings = load_settings(
        CoreSettings,
        COMRADARR_BUS_PREFIX=bus_prefix,
        COMRADARR_DATA_DIR=str(private_tmp / "runner"),
        COMRADARR_DB_POOL_MIN=1,
        COMRADARR_DB_POOL_MAX=5,
        COMRADARR_SHUTDOWN_TIMEOUT=5,
        SECRET_KEY=harness.ctx.secret_key,
    )
    runner = Runner(
        [load_service(n) for n in ("sync", "discovery", "dispatcher", "scheduler")],
        settings=settings,
        database_url=database_url,
        nats_url=nats_url,
        http_port=None,
        client_name="first-hour",
    )
    await runner.start()
    try:
        saved = time.monotonic()
        r = await admin.post("/api/v1/connectors", json=_body(server.url))
        assert r.status_code == 201, r.text
        c = r.json()
        # Tested as it was saved: what answered is stored.
        assert c["health_status"] == "healthy" and c["test"]["ok"] is True
        assert c["app_name"] and c["app_version"] and c["api_version"] == "v3"
        # Its default schedules, in the configured time zone, are real schedules.
        schedules = {s["sync_mode"]: s for s in c["schedules"]}
        assert set(schedules) == {"incremental", "full"}
        hourly, weekly = schedules["incremental"], schedules["full"]
        assert hourly["cron"].endswith(" * * * *") and not hourly["cron"].startswith("0 ")
        assert weekly["cron"].split()[1:] == ["4", "*", "*", "0"]
        assert {s["timezone"] for s in c["schedules"]} == {"UTC"}
        listed = (await admin.get("/api/v1/schedules", params={"connector_id": c["id"]})).json()
        assert sorted(s["id"] for s in listed) == sorted(s["id"] for s in c["schedules"])
        # The first sweep started at once, a full one, and nothing else is needed.
        assert c["first_sweep"]["sync_mode"] == "full" and c["first_sweep_note"] is None

        def searched() -> bool:
            return any(r.method == "POST" and r.path.endswith("/command") for r in sim.requests)

        await wait_for(searched, timeout=60)
        seconds = time.monotonic() - saved
        print(f"first search at the simulator {seconds:.2f} s after saving the connector")
        await wait_for(lambda: pool.fetchval("SELECT count(*) > 0 FROM search_history"), timeout=10)
        # The sweep's summary is in the run log (a manual sweep: no schedule).
        await wait_for(
            lambda: pool.fetchval(
                "SELECT count(*) = 1 FROM sweep_runs WHERE connector_id = $1"
                " AND status = 'completed' AND gaps_found > 0",
                c["id"],
            ),
            timeout=30,
        )
        # Sync now: an incremental sweep, refused with the reason while one still runs.
        r = await admin.post(f"/api/v1/connectors/{c['id']}/sync", json={"mode": "incremental"})
        assert r.status_code == 202, r.text
        assert r.json()["sync_mode"] == "incremental"
        # A schedule's run-now shows in that schedule's run history.
        await wait_for(
            lambda: pool.fetchval(
                "SELECT count(*) = 2 FROM sweep_runs WHERE connector_id = $1"
                " AND status = 'completed'",
                c["id"],
            ),
            timeout=60,
        )
        r = await admin.post(f"/api/v1/schedules/{hourly['id']}/run-now")
        assert r.status_code == 202, r.text

        async def in_history() -> bool:
            runs = (await admin.get(f"/api/v1/schedules/{hourly['id']}/runs")).json()
            return bool(runs) and runs[0]["status"] == "completed"

        await wait_for(in_history, timeout=60)
        # A search judged (the app's command finished and its history was read), so today's
        # figures have something to count.
        await wait_for(
            lambda: pool.fetchval(
                "SELECT count(*) > 0 FROM search_history WHERE ended_at IS NOT NULL"
            ),
            timeout=60,
        )
    finally:
        await runner.stop()
        server.stop()
    await _dashboard_equals_the_database(admin, pool, c["id"])


async def _dashboard_equals_the_database(
    admin: httpx.AsyncClient, pool: asyncpg.Pool, cid: int
) -> None:
    """After the scripted run (services stopped): the dashboard's figures are the database's,
    counted here independently, and the feed tells what happened in sentences."""
    r = await admin.get("/api/v1/dashboard")
    assert r.status_code == 200, r.text
    body = r.json()
    figures = body["figures"]
    # Completion counts what a user can have: monitored episodes (and their series and
    # season) that have aired or already have a file.
    db = await pool.fetchrow(
        "WITH out AS (SELECT e.has_file FROM episodes e"
        "  JOIN series s ON s.connector_id = e.connector_id AND s.arr_id = e.series_arr_id"
        "  LEFT JOIN seasons se ON se.connector_id = e.connector_id"
        "   AND se.series_arr_id = e.series_arr_id AND se.season_number = e.season_number"
        "  WHERE e.monitored AND s.monitored AND coalesce(se.monitored, true)"
        "   AND (e.has_file OR e.air_date_utc <= now()))"
        " SELECT (SELECT count(*) FROM search_registry WHERE search_type = 'gap') AS gaps,"
        " (SELECT count(*) FROM search_registry WHERE search_type IN ('upgrade', 'format'))"
        "  AS upgrades,"
        " (SELECT count(*) FROM search_registry WHERE state <> 'exhausted') AS queued,"
        " (SELECT count(*) FROM search_history WHERE ended_at >= date_trunc('day', now()"
        "   AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS searched_today,"
        " (SELECT count(*) FROM search_history WHERE outcome = 'found' AND ended_at >="
        "   date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS found_today,"
        " (SELECT count(*) FROM out) AS monitored,"
        " (SELECT count(*) FROM out WHERE has_file) AS with_file"
    )
    assert db["searched_today"] > 0 and db["gaps"] > 0
    for key in ("gaps", "upgrades", "queued", "searched_today", "found_today"):
        assert figures[key] == db[key], (key, figures, dict(db))
    assert figures["success_rate_today"] == round(db["found_today"] / db["searched_today"], 4)
    (tv,) = body["connectors"]
    assert (tv["monitored"], tv["with_file"]) == (db["monitored"], db["with_file"])
    assert tv["completion"] == round(db["with_file"] / db["monitored"], 4)
    # No invented history: the days the analytics service sampled, as its own API says.
    series = await admin.get(
        "/api/v1/analytics/timeseries",
        params={"metric": "completion", "range": "30d", "group": "connector", "connector_id": cid},
    )
    (line,) = series.json()["series"]
    assert [p["completion"] for p in tv["daily"]] == [
        round(v, 4) for v in line["points"] if v is not None
    ]
    assert {s["connector_id"] for s in body["next_sweeps"]} == {cid}
    assert body["running"] == []
    feed = (await admin.get("/api/v1/activity")).json()
    assert 0 < len(feed) <= 50
    times = [f["at"] for f in feed]
    assert times == sorted(times, reverse=True)
    kinds = {f["kind"] for f in feed}
    assert {"search", "sync", "discovery", "health"} <= kinds, kinds
    searched = [f["text"] for f in feed if f["kind"] == "search"]
    assert all(
        re.fullmatch(r"TV · .+ S\d\dE\d\d.* searched: (found|not found|\d+ of \d+ found)", t)
        or re.fullmatch(r"TV · .+ season \d+ searched: (found|not found)", t)
        for t in searched
    ), searched
    assert any(
        re.fullmatch(r"TV · full sync done: [\d,]+ records read .*", f["text"]) for f in feed
    )
    assert "TV · connected healthy" in [f["text"] for f in feed]
    assert not any(re.search(r"\b(news|changeds|gones)\b", f["text"]) for f in feed)
    assert not any("{" in f["text"] or "_id" in f["text"] for f in feed)  # no raw fields
    only = (await admin.get("/api/v1/activity", params={"kind": "sync"})).json()
    assert only and {f["kind"] for f in only} == {"sync"}
    r = await admin.get("/api/v1/activity", params={"kind": "nonsense"})
    assert r.status_code == 422


async def test_schedules_refused_sweeps_and_delete_cascade(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    # Prowlarr: saved (tested), but no schedules and no sweep.
    r = await admin.post(
        "/api/v1/connectors", json=_body("http://127.0.0.1:9", "Indexers", "prowlarr")
    )
    assert r.status_code == 201, r.text
    prowlarr = r.json()
    assert prowlarr["schedules"] == [] and prowlarr["first_sweep"] is None
    assert "Prowlarr" in prowlarr["first_sweep_note"]
    preview = await admin.get("/api/v1/connectors/default-schedules", params={"type": "prowlarr"})
    assert preview.status_code == 200 and preview.json() == []
    # A schedule cannot name a Prowlarr connector, nor one that does not exist.
    for target, words in ((prowlarr["id"], "Prowlarr"), (9999, "no connector")):
        r = await admin.post(
            "/api/v1/schedules", json={"connector_id": target, "cron": "0 3 * * *"}
        )
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["body", "connector_id"]
        assert words in r.json()["detail"][0]["msg"]
    r = await admin.post(f"/api/v1/connectors/{prowlarr['id']}/sync")
    assert r.status_code == 409 and "Prowlarr" in r.json()["detail"]

    # A library connector whose app is down: saved offline, schedules made, sweep waits.
    r = await admin.post("/api/v1/connectors", json=_body("http://127.0.0.1:9/", "TV"))
    assert r.status_code == 201, r.text
    tv = r.json()
    assert tv["health_status"] == "offline" and tv["first_sweep"] is None
    assert "connection test failed" in tv["first_sweep_note"]
    assert len(tv["schedules"]) == 2
    preview = await admin.get("/api/v1/connectors/default-schedules", params={"type": "sonarr"})
    assert [p["sync_mode"] for p in preview.json()] == ["incremental", "full"]
    # The next connector sweeps at another minute.
    assert preview.json()[0]["cron"] != tv["schedules"][0]["cron"]
    # A second connector of the same type at the same URL is refused unless confirmed.
    r = await admin.post("/api/v1/connectors", json=_body("HTTP://127.0.0.1:9", "TV again"))
    assert r.status_code == 409 and "'TV' already uses this URL" in r.json()["detail"]
    r = await admin.post(
        "/api/v1/connectors",
        json=_body("http://127.0.0.1:9", "TV again", confirm_duplicate=True),
    )
    assert r.status_code == 201, r.text
    twin = r.json()["id"]
    # A sweep the sync would skip is refused with the reason, where it was asked for.
    await harness.pool.execute(
        "INSERT INTO sync_runs (connector_id, mode, sweep_type, message_id, correlation_id)"
        " VALUES ($1, 'full', 'both', 'm-running', 'c-running')",
        tv["id"],
    )
    r = await admin.post(f"/api/v1/connectors/{tv['id']}/sync", json={"mode": "full"})
    assert r.status_code == 409 and "still running" in r.json()["detail"], r.text
    r = await admin.post(f"/api/v1/schedules/{tv['schedules'][0]['id']}/run-now")
    assert r.status_code == 409 and "still running" in r.json()["detail"], r.text
    r = await admin.post(f"/api/v1/connectors/{twin}/disable")
    assert r.status_code == 200
    r = await admin.post(f"/api/v1/connectors/{twin}/sync")
    assert r.status_code == 409 and "disabled" in r.json()["detail"]
    r = await admin.post(f"/api/v1/connectors/{twin}/sync", json={"mode": "sometimes"})
    assert r.status_code == 422
    assert (await admin.post("/api/v1/connectors/9999/sync")).status_code == 404
    # Delete: the connector's schedules go with it.
    assert (await admin.delete(f"/api/v1/connectors/{tv['id']}")).status_code == 204
    r = await admin.get("/api/v1/schedules", params={"connector_id": tv["id"]})
    assert r.status_code == 200 and r.json() == []
    for s in tv["schedules"]:
        assert (await admin.get(f"/api/v1/schedules/{s['id']}")).status_code == 404
    left = (await admin.get("/api/v1/schedules")).json()
    assert {s["connector_id"] for s in left} == {twin}
