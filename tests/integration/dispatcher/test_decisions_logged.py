"""Logs as requirement 31 says: the correlation id of the work that queued an entry follows
it to the *arr command; `debug` shows the dispatcher's decisions (claimed, refused by which
limit); `trace` shows the *arr request and response bodies, redacted."""

from __future__ import annotations

import io
import json

import asyncpg
import pytest
from comradarr_bus import Bus
from comradarr_logging import configure_logging
from dispatch_support import (
    API_KEY,
    add_connector,
    fast_profile,
    make_engine,
    mirror_series,
    queue_episodes,
    running,
    sim_for,
)

from tests.support import wait_for

pytestmark = pytest.mark.integration


async def test_one_id_from_the_queue_to_the_command_and_decisions_at_debug(
    pool: asyncpg.Pool, bus: Bus
) -> None:
    stream = io.StringIO()
    configure_logging(service="dispatcher", level="trace", stream=stream)
    sim = sim_for(series=2, seasons=1, episodes_per_season=4, missing_share=1.0)
    # 30 a minute: the second claim waits for its slot (refused for spacing).
    cid = await add_connector(pool, profile=fast_profile(requests_per_minute=30, batch_size=4))
    await mirror_series(pool, cid, sim)
    entries = await queue_episodes(pool, cid, sorted(sim.library.episodes)[:8])
    await pool.execute(
        "UPDATE search_registry SET correlation_id = 'click-42' WHERE id = ANY ($1::bigint[])",
        list(entries.values()),
    )
    engine = make_engine(pool, bus, sim)
    async with running(engine):
        await wait_for(
            lambda: pool.fetchval(
                "SELECT count(*) >= 1 FROM dispatch_commands WHERE status = 'done'"
            ),
            timeout=15,
        )
    commands = await pool.fetch("SELECT correlation_id FROM dispatch_commands")
    assert commands and {c["correlation_id"] for c in commands} == {"click-42"}
    text = stream.getvalue()
    assert API_KEY not in text, "no line carries the key"
    lines = [json.loads(line) for line in text.splitlines()]
    claimed = [x for x in lines if x["event"] == "dispatch claimed"]
    assert claimed and claimed[0]["correlation_id"] == "click-42"
    assert claimed[0]["command"] == "EpisodeSearch" and claimed[0]["items"] == 4
    refused = [x for x in lines if x["event"] == "dispatch refused"]
    assert any(x["reason"] == "request spacing" and x["retry_at"] for x in refused), refused
    # The command's own exchange at trace, under the same id, its bodies readable.
    posts = [
        x
        for x in lines
        if x["event"] == "arr.exchange" and x["method"] == "POST" and x["status"] == 201
    ]
    assert posts and posts[0]["correlation_id"] == "click-42"
    assert posts[0]["request_body"]["name"] == "EpisodeSearch"
    assert len(posts[0]["request_body"]["episodeIds"]) == 4
    assert posts[0]["response_body"]["name"] == "EpisodeSearch"
