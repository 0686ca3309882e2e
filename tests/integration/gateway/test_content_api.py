"""Content browser: filters, sorts, paging (offset and keyset), detail views, bulk actions."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

import httpx
import pytest

from .conftest import Harness
from .mirror_seed import seed_mirror

pytestmark = pytest.mark.integration

SERIES, SEASONS, PER_SEASON, MOVIES = 10, 3, 10, 60  # 300 episodes for most tests
BIG = (30, 4, 25)  # 3,000 episodes for the paging walk


@pytest.fixture
async def seeded(harness: Harness, admin: httpx.AsyncClient) -> int:
    cid = await harness.add_connector(admin)
    await seed_mirror(
        harness.pool,
        connector_id=cid,
        series=SERIES,
        seasons=SEASONS,
        per_season=PER_SEASON,
        movies=MOVIES,
    )
    return cid


@pytest.fixture
async def big(harness: Harness, admin: httpx.AsyncClient) -> int:
    cid = await harness.add_connector(admin)
    series, seasons, per_season = BIG
    await seed_mirror(
        harness.pool, connector_id=cid, series=series, seasons=seasons, per_season=per_season
    )
    return cid


async def _all_pages(client: httpx.AsyncClient, params: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        p = dict(params)
        if cursor:
            p["cursor"] = cursor
        r = await client.get("/api/v1/content", params=p)
        assert r.status_code == 200, r.text
        body = r.json()
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("too many pages")


async def test_keyset_paging_walks_every_episode_once_in_order(
    harness: Harness, admin: httpx.AsyncClient, big: int
) -> None:
    total = BIG[0] * BIG[1] * BIG[2]
    for sort in ("title", "-title", "air_date", "-air_date"):
        items = await _all_pages(
            admin, {"type": "episode", "sort": sort, "page_size": 200, "include_total": False}
        )
        ids = [i["id"] for i in items]
        assert len(ids) == total and len(set(ids)) == total, sort
    # Title order: by series title, then season and episode.
    items = await _all_pages(admin, {"type": "episode", "page_size": 137})
    keys = [
        (i["series_title"].lower(), i["series_id"], i["season_number"], i["episode_number"])
        for i in items
    ]
    assert keys == sorted(keys)


async def test_offset_paging_total_and_filters(
    harness: Harness, admin: httpx.AsyncClient, seeded: int
) -> None:
    expected_missing = await harness.pool.fetchval(
        "SELECT count(*) FROM episodes WHERE monitored AND NOT has_file AND air_date_utc <= now()"
    )
    r = await admin.get(
        "/api/v1/content", params={"type": "episode", "status": "missing", "page_size": 200}
    )
    body = r.json()
    assert r.status_code == 200 and body["total"] == expected_missing
    assert all(i["wanted"] == "missing" and i["has_file"] is False for i in body["items"])
    seen: set[int] = set()
    pages = -(-expected_missing // 200)
    for page in range(1, pages + 1):
        r = await admin.get(
            "/api/v1/content",
            params={"type": "episode", "status": "missing", "page_size": 200, "page": page},
        )
        seen |= {i["id"] for i in r.json()["items"]}
    assert len(seen) == expected_missing
    # Registry-state filters match the registry.
    for status, states in (
        ("queued", ("pending", "queued", "cooldown")),
        ("searching", ("searching",)),
        ("exhausted", ("exhausted",)),
    ):
        want = await harness.pool.fetchval(
            "SELECT count(*) FROM search_registry WHERE content_type = 'episode'"
            " AND state = ANY($1::text[])",
            list(states),
        )
        body = await admin.get("/api/v1/content", params={"type": "episode", "status": status})
        got = body.json()
        assert got["total"] == want, status
        assert all(i["registry"]["state"] in states for i in got["items"])
    upgrade = await admin.get("/api/v1/content", params={"type": "movie", "status": "upgrade"})
    assert all(i["wanted"] == "upgrade" for i in upgrade.json()["items"])
    assert upgrade.json()["total"] == sum(1 for g in range(1, MOVIES + 1) if g % 4 and g % 9 == 0)
    series = await admin.get("/api/v1/content", params={"type": "series", "status": "missing"})
    assert series.json()["total"] == SERIES
    other = await admin.get("/api/v1/content", params={"type": "series", "connector_id": 999})
    assert other.json()["total"] == 0 and other.json()["items"] == []


async def test_title_search_prefix_and_contains(
    harness: Harness, admin: httpx.AsyncClient, seeded: int
) -> None:
    r = await admin.get("/api/v1/content", params={"type": "series", "q": "al"})
    assert {i["title"].split()[0] for i in r.json()["items"]} == {"Alpha"}
    r = await admin.get("/api/v1/content", params={"type": "series", "q": "station"})
    titles = [i["title"] for i in r.json()["items"]]
    assert titles and all("Station" in t for t in titles)
    r = await admin.get("/api/v1/content", params={"type": "episode", "q": "Echo P"})
    assert r.json()["total"] == (SERIES // 5) * SEASONS * PER_SEASON
    # match=episode searches the episodes' own titles: "Episode 1" and "Episode 10" in every
    # season; by default the series' titles, which hold no "episode".
    own = {"type": "episode", "q": "episode 1", "match": "episode"}
    r = await admin.get("/api/v1/content", params=own)
    assert r.json()["total"] == SERIES * SEASONS * 2
    assert {i["title"] for i in r.json()["items"]} <= {"Episode 1", "Episode 10"}
    r = await admin.get("/api/v1/content", params={"type": "episode", "q": "episode 1"})
    assert r.json()["total"] == 0
    r = await admin.get("/api/v1/content", params={**own, "type": "series"})
    assert r.status_code == 422 and "type=episode only" in r.text
    r = await admin.get("/api/v1/content", params={"type": "series", "q": "50%_\\"})
    assert r.status_code == 200 and r.json()["total"] == 0
    r = await admin.get("/api/v1/content", params={"type": "series", "q": "Charlie's"})
    assert r.json()["total"] == SERIES // 5


INJECTIONS = [
    "' OR '1'='1",
    "'; DROP TABLE episodes; --",
    "1; DELETE FROM search_registry",
    "title; DROP TABLE series",
    "-title, (SELECT pg_sleep(5))",
    "lower(title)",
    "id",
    "\\' OR 1=1 --",
    "%' UNION SELECT password_hash FROM users --",
]


async def test_sql_injection_strings_do_nothing_harmful(
    harness: Harness, admin: httpx.AsyncClient, seeded: int
) -> None:
    before = await harness.pool.fetchval(
        "SELECT (SELECT count(*) FROM episodes) + (SELECT count(*) FROM search_registry)"
    )
    for s in INJECTIONS:
        r = await admin.get("/api/v1/content", params={"type": "episode", "q": s})
        assert r.status_code == 200 and r.json()["total"] == 0, (s, r.text)
        r = await admin.get("/api/v1/content", params={"type": "episode", "sort": s})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "sort"], s
        for name in ("status", "type", "connector_id", "page", "page_size"):
            r = await admin.get("/api/v1/content", params={name: s})
            assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", name]
        r = await admin.get("/api/v1/content", params={"cursor": s})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "cursor"]
        r = await admin.get("/api/v1/queue", params={"state": s})
        assert r.status_code == 422
        assert "argon2" not in r.text
    after = await harness.pool.fetchval(
        "SELECT (SELECT count(*) FROM episodes) + (SELECT count(*) FROM search_registry)"
    )
    assert after == before


async def test_validation_errors_name_the_field(
    harness: Harness, admin: httpx.AsyncClient, seeded: int
) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"page_size": 201}, "page_size"),
        ({"page_size": 0}, "page_size"),
        ({"type": "book"}, "type"),
        ({"status": "lost"}, "status"),
        ({"type": "series", "sort": "air_date"}, "sort"),
        ({"q": "x" * 101}, "q"),
        ({"q": "a\x00b"}, "q"),
        ({"cursor": "e30", "page": 2}, "page"),
    ]
    for params, field in cases:
        r = await admin.get("/api/v1/content", params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["detail"][0]["loc"][-1] == field, (params, r.text)
    # A cursor from another sort is refused, not misread.
    first = (await admin.get("/api/v1/content", params={"type": "movie", "page_size": 5})).json()
    r = await admin.get(
        "/api/v1/content",
        params={"type": "movie", "sort": "-year", "cursor": first["next_cursor"]},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "cursor"]


async def test_series_and_movie_detail(
    harness: Harness, admin: httpx.AsyncClient, seeded: int
) -> None:
    sid = await harness.pool.fetchval("SELECT id FROM series WHERE arr_id = 1")
    entry = await harness.pool.fetchrow(
        "SELECT r.id FROM search_registry r JOIN episodes e ON e.id = r.episode_id"
        " WHERE e.series_arr_id = 1 ORDER BY r.id LIMIT 1"
    )
    await harness.pool.execute(
        "INSERT INTO search_history (registry_id, connector_id, command_name, search_type,"
        " outcome, ended_at) VALUES ($1, $2, 'EpisodeSearch', 'gap', 'not_found', now())",
        entry["id"],
        seeded,
    )
    r = await admin.get(f"/api/v1/content/series/{sid}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert [s["season_number"] for s in body["seasons"]] == list(range(1, SEASONS + 1))
    episodes = [e for s in body["seasons"] for e in s["episodes"]]
    assert len(episodes) == SEASONS * PER_SEASON
    with_entry = [e for e in episodes if e["registry"] and e["registry"]["id"] == entry["id"]]
    assert with_entry[0]["history"][0]["outcome"] == "not_found"
    assert any(e["quality"] == "HDTV-720p" and e["wanted"] == "upgrade" for e in episodes)
    mid = await harness.pool.fetchval("SELECT id FROM movies WHERE arr_id = 4")
    r = await admin.get(f"/api/v1/content/movies/{mid}")
    assert r.status_code == 200 and r.json()["wanted"] == "missing", r.text
    assert r.json()["registry"] is not None
    assert (await admin.get("/api/v1/content/series/999999")).status_code == 404
    assert (await admin.get("/api/v1/content/movies/999999")).status_code == 404
    assert (await admin.get("/api/v1/content/movies/abc")).status_code == 422


async def test_bulk_actions(harness: Harness, admin: httpx.AsyncClient, seeded: int) -> None:
    rows = await harness.pool.fetch(
        "SELECT id, state FROM search_registry WHERE content_type = 'episode' ORDER BY id LIMIT 40"
    )
    ids = [r["id"] for r in rows]
    in_flight = sum(1 for r in rows if r["state"] in ("queued", "searching"))
    r = await admin.post(
        "/api/v1/content/bulk", json={"action": "exhaust", "target": "registry", "ids": ids}
    )
    assert r.status_code == 200, r.text
    assert r.json()["changed"] == len(ids) - in_flight
    assert r.json()["skipped_in_flight"] == in_flight
    r = await admin.post(
        "/api/v1/content/bulk",
        json={"action": "reset", "target": "registry", "ids": [*ids, 99999999]},
    )
    assert r.json()["not_found"] == [99999999]
    states = await harness.pool.fetch(
        "SELECT state, attempts FROM search_registry WHERE id = ANY($1::bigint[])"
        " AND state NOT IN ('queued', 'searching')",
        ids,
    )
    assert {(s["state"], s["attempts"]) for s in states} == {("pending", 0)}
    r = await admin.post(
        "/api/v1/content/bulk",
        json={"action": "priority", "target": "registry", "ids": ids[:3], "priority": 80},
    )
    assert r.json()["changed"] == 3
    # Content ids: a series means all of its episodes; queueing creates missing entries.
    sid = await harness.pool.fetchval("SELECT id FROM series WHERE arr_id = 2")
    await harness.pool.execute(
        "DELETE FROM search_registry WHERE episode_id IN"
        " (SELECT id FROM episodes WHERE series_arr_id = 2 AND season_number = 1)"
    )
    r = await admin.post(
        "/api/v1/content/bulk", json={"action": "queue", "target": "series", "ids": [sid]}
    )
    assert r.status_code == 200, r.text
    assert r.json()["created"] > 0 and r.json()["changed"] > 0
    # Movie content ids.
    mid = await harness.pool.fetchval("SELECT id FROM movies WHERE arr_id = 8")
    r = await admin.post(
        "/api/v1/content/bulk",
        json={"action": "priority", "target": "movie", "ids": [mid], "priority": None},
    )
    assert r.status_code == 200 and r.json()["matched"] == 1


async def test_bulk_validation_and_size_limit(
    harness: Harness, admin: httpx.AsyncClient, seeded: int
) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"action": "queue", "target": "registry", "ids": list(range(1, 502))}, "ids"),
        ({"action": "queue", "target": "registry", "ids": []}, "ids"),
        ({"action": "nuke", "target": "registry", "ids": [1]}, "action"),
        ({"action": "queue", "ids": [1]}, "target"),
        ({"action": "queue", "target": "registry", "ids": [0]}, "ids"),
        ({"action": "priority", "target": "registry", "ids": [1], "priority": 101}, "priority"),
        ({"action": "queue", "target": "registry", "ids": [1], "extra": 1}, "extra"),
    ]
    for body, field in cases:
        r = await admin.post("/api/v1/content/bulk", json=body)
        assert r.status_code == 422, (body, r.text)
        assert field in str(r.json()["detail"][0]["loc"]), (body, r.text)
    r = await admin.post(
        "/api/v1/content/bulk", json={"action": "priority", "target": "registry", "ids": [1]}
    )
    assert r.status_code == 422 and "priority" in r.text


async def test_read_only_key_may_browse_but_not_write(
    harness: Harness, admin: httpx.AsyncClient, seeded: int
) -> None:
    _, ro = await harness.api_key(admin, "read")
    _, full = await harness.api_key(admin, "full")
    async with harness.client() as c:
        r = await c.get("/api/v1/content", params={"type": "episode"}, headers={"X-API-Key": ro})
        assert r.status_code == 200
        body = {"action": "exhaust", "target": "registry", "ids": [1]}
        r = await c.post("/api/v1/content/bulk", json=body, headers={"X-API-Key": ro})
        assert r.status_code == 403
        r = await c.post("/api/v1/content/bulk", json=body, headers={"X-API-Key": full})
        assert r.status_code == 200


async def test_browse_bodies_are_exactly_what_the_response_model_describes(
    admin: httpx.AsyncClient, seeded: int
) -> None:
    """Browse items are written as JSON by PostgreSQL, not through ContentPageOut: for every
    kind and status each item must have exactly the model's fields and survive the model
    unchanged (dates compared as instants: RFC 3339 in UTC either way)."""
    from comradarr_gateway.routes_content import ContentItem, ContentPageOut

    def same(a: Any, b: Any) -> bool:
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        if isinstance(a, list) and isinstance(b, list):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
        if isinstance(a, str) and isinstance(b, str) and a[-1:] == "Z" and b[-1:] == "Z":
            with contextlib.suppress(ValueError):
                return datetime.fromisoformat(a) == datetime.fromisoformat(b)
        if isinstance(a, float) or isinstance(b, float):  # JSON has one number type
            return not isinstance(a, bool) and not isinstance(b, bool) and a == b
        return bool(a == b) and type(a) is type(b)

    checked, dated = 0, 0
    for kind in ("series", "movie", "episode"):
        for status in ("all", "missing", "upgrade", "queued", "searching", "exhausted"):
            r = await admin.get(
                "/api/v1/content", params={"type": kind, "status": status, "page_size": 200}
            )
            assert r.status_code == 200, r.text
            assert r.headers["content-type"] == "application/json"
            body = r.json()
            for item in body["items"]:
                assert set(item) == set(ContentItem.model_fields), (kind, status)
                dated += item["registry"] is not None and item["air_date"] is not None
            dumped = ContentPageOut.model_validate(body).model_dump(mode="json")
            assert same(dumped, body), (kind, status)
            checked += len(body["items"])
    assert checked > 500 and dated > 50  # registry entries, dates and nulls all appeared
