"""Every value the sync stages reaches the mirror unchanged (rows travel as CSV for COPY)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import asyncpg
import orjson
from comradarr_arr import Episode, Series
from comradarr_connectors import create_connector
from comradarr_crypto import SecretBox
from comradarr_sync.engine import (
    _episode_row,
    _MirrorMovie,
    _movie_row,
    _season_rows,
    _series_row,
    movie_digest,
    row_hash,
)
from comradarr_sync.writer import MirrorWriter, QualityTable
from sync_support import API_KEY, SECRET

# Every character JSON escapes, the CSV delimiters, a backslash before what could pass for an
# escape, and a row boundary as encode_csv sees one.
TITLE = (
    "Quote \" back\\slash \t tab \n line \r\x08\x0c\x01 ü 😀 'apostrophe' \u2028 a,b"
    ' \\n \\" \\\\ \\u0041 ],[ null end'
)
QUALITY = {
    "quality": {"id": 7, "name": "Bluray-1080p", "source": "bluray", "resolution": 1080},
    "revision": {"version": 2, "real": 1, "isRepack": True},
}


async def _connector(pool: asyncpg.Pool, kind: str) -> int:
    async with pool.acquire() as conn:
        c = await create_connector(
            conn, box=SecretBox(SECRET), type=kind, name=kind, url="http://sim", api_key=API_KEY
        )  # type: ignore[arg-type]
    return c.id


async def test_series_seasons_and_episodes_round_trip(pool: asyncpg.Pool) -> None:
    cid = await _connector(pool, "sonarr")
    series = Series.model_validate(
        {
            "id": 5, "title": TITLE, "sortTitle": "quote", "status": "continuing",
            "monitored": True, "qualityProfileId": 3, "tvdbId": 2**31 - 1, "year": 1999,
            "seriesType": "anime", "added": "2020-01-02T03:04:05Z",
            "previousAiring": "2024-03-10T01:30:00+02:00",
            "seasons": [
                {"seasonNumber": 0, "monitored": False},
                {"seasonNumber": 1, "monitored": True, "statistics": {
                    "episodeFileCount": 1, "episodeCount": 2, "totalEpisodeCount": 2,
                    "sizeOnDisk": 2**40, "previousAiring": "2024-03-10T01:30:00+02:00"}},
            ],
            "statistics": {"seasonCount": 1, "episodeCount": 2, "episodeFileCount": 1,
                           "totalEpisodeCount": 2, "sizeOnDisk": 2**40},
        }
    )  # fmt: skip
    with_file = Episode.model_validate(
        {
            "id": 11, "seriesId": 5, "seasonNumber": 1, "episodeNumber": 1,
            "absoluteEpisodeNumber": 1, "title": TITLE,
            "airDateUtc": "2024-03-10T01:30:00+02:00", "monitored": True, "hasFile": True,
            "episodeFileId": 99, "lastSearchTime": "2024-05-06T07:08:09.123456Z",
            "episodeFile": {"id": 99, "size": 2**40 + 1, "quality": QUALITY,
                            "qualityCutoffNotMet": True},
        }
    )  # fmt: skip
    bare = Episode.model_validate({"id": 12, "seriesId": 5, "seasonNumber": 1})
    row = _series_row(series, "tt0000001")
    seasons = _season_rows(series)
    async with pool.acquire() as conn:
        writer = MirrorWriter(conn, connector_id=cid)
        await writer.prepare()
        await writer.write_series([(*row, row_hash(row, seasons))], seasons, rehash=False)
        table = QualityTable()
        # Another model stored first: the episode's quality is not the first id.
        table.add("another", orjson.dumps({"quality": {"id": 1}}))
        await writer.resolve(table)
        episodes = [_episode_row(with_file, table), _episode_row(bare, table)]
        # As rows of a series new to the mirror (copied straight in) whose quality has no id
        # yet: the writer stores it, then encodes them. Then staged and merged.
        await writer.write_episodes([(5, episodes[:1])], [], fresh={5}, qualities=table)
        await writer.write_episodes([(5, writer.encode(episodes[1:]))], [], qualities=table)
        # Said to be new though stored meanwhile: merged after all, not a duplicate.
        await writer.write_episodes(
            [(5, writer.encode(episodes[:1]))], [], fresh={5}, qualities=table
        )
        assert (writer.counts.inserted, writer.counts.updated) == (3, 0)  # with the series

    stored = await pool.fetchrow(
        "SELECT title, tvdb_id, imdb_id, series_type, added, previous_airing, next_airing,"
        " size_on_disk, content_hash FROM series WHERE connector_id = $1",
        cid,
    )
    assert dict(stored) == {
        "title": TITLE, "tvdb_id": 2**31 - 1, "imdb_id": "tt0000001", "series_type": "anime",
        "added": datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC),
        "previous_airing": datetime(2024, 3, 9, 23, 30, tzinfo=UTC), "next_airing": None,
        "size_on_disk": 2**40, "content_hash": row_hash(row, seasons),
    }  # fmt: skip
    season_rows = await pool.fetch(
        "SELECT season_number, monitored, size_on_disk, previous_airing, fully_aired, airing"
        " FROM seasons WHERE connector_id = $1 ORDER BY season_number",
        cid,
    )
    assert [tuple(r.values()) for r in season_rows] == [
        (0, False, 0, None, False, False),
        (1, True, 2**40, datetime(2024, 3, 9, 23, 30, tzinfo=UTC), True, False),
    ]
    got = await pool.fetch(
        "SELECT arr_id, episode_number, absolute_episode_number, title, air_date_utc,"
        " monitored, has_file, episode_file_id, q.model, quality_cutoff_not_met, file_size,"
        " last_search_time FROM episodes LEFT JOIN qualities q ON q.id = quality_id"
        " WHERE connector_id = $1 ORDER BY arr_id",
        cid,
    )
    when = datetime(2024, 3, 10, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    assert [tuple(r.values()) for r in got] == [
        (11, 1, 1, TITLE, when, True, True, 99, QUALITY, True, 2**40 + 1,
         datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)),
        (12, None, None, None, None, False, False, None, None, False, None, None),
    ]  # fmt: skip


async def test_movies_round_trip(pool: asyncpg.Pool) -> None:
    cid = await _connector(pool, "radarr")
    movie = _MirrorMovie.model_validate(
        {
            "id": 3, "title": TITLE, "sortTitle": None, "year": 2001, "status": "released",
            "monitored": True, "isAvailable": True, "hasFile": True, "movieFileId": 8,
            "tmdbId": 603, "imdbId": "tt0133093", "added": "2020-01-02T03:04:05Z",
            "inCinemas": "1999-03-31T00:00:00Z", "digitalRelease": "1999-09-21",
            "movieFile": {"id": 8, "size": 2**42, "quality": QUALITY},
        }
    )  # fmt: skip
    table = QualityTable()
    row = _movie_row(movie, table)
    digest = movie_digest(row)
    async with pool.acquire() as conn:
        writer = MirrorWriter(conn, connector_id=cid)
        await writer.prepare()
        new = [(*row, digest)]
        await writer.write_movies([], new=new, rehash=False, qualities=table)
        # The same movie said to be new once more: merged after all, not a duplicate.
        await writer.write_movies([], new=new, rehash=False, qualities=table)
        assert (writer.counts.inserted, writer.counts.updated) == (1, 0)
        # Staged and merged with a changed value (the title): one update, then back.
        await writer.write_movies([(*row[:4], "changed", *row[5:], digest)], rehash=False)
        assert (writer.counts.inserted, writer.counts.updated) == (1, 1)
        await writer.write_movies(new, rehash=False)
        assert (writer.counts.inserted, writer.counts.updated) == (1, 2)
    got = await pool.fetchrow(
        "SELECT title, sort_title, tmdb_id, imdb_id, has_file, movie_file_id, q.model,"
        " quality_cutoff_not_met, file_size, in_cinemas, digital_release, physical_release,"
        " content_hash FROM movies LEFT JOIN qualities q ON q.id = quality_id"
        " WHERE connector_id = $1",
        cid,
    )
    assert tuple(got.values()) == (
        TITLE, None, 603, "tt0133093", True, 8, QUALITY, False, 2**42,
        datetime(1999, 3, 31, tzinfo=UTC), datetime(1999, 9, 21, tzinfo=UTC), None, digest,
    )  # fmt: skip
    # The digest hashes the quality itself, not its id: the same from a model not stored
    # yet, and the same as before qualities travelled as ids (no rewrite of stored movies).
    at = 13  # the quality's place in a movie row
    assert row[at].id is not None
    assert movie_digest(_movie_row(movie, QualityTable())) == digest
    assert digest == row_hash(*row[:at], orjson.Fragment(orjson.dumps(QUALITY)), *row[at + 1 :])


async def test_writers_storing_the_same_new_qualities_at_once_agree_on_their_ids(
    pool: asyncpg.Pool,
) -> None:
    models = [orjson.dumps({"quality": {"id": i, "name": f"Q{i}"}}) for i in range(6)]
    async with pool.acquire() as one, pool.acquire() as two:
        first, second = MirrorWriter(one, connector_id=1), MirrorWriter(two, connector_id=2)
        # In opposite orders, several times over: no deadlock, one row per model.
        for _ in range(5):
            a, b = await asyncio.gather(first.quality_ids(models), second.quality_ids(models[::-1]))
            assert a == b[::-1] and len(set(a)) == len(models)
            first, second = MirrorWriter(one, connector_id=1), MirrorWriter(two, connector_id=2)
            await pool.execute("DELETE FROM qualities")  # new models again next round
    # A writer asks the database once per model: known ones come from its own cache.
    async with pool.acquire() as conn:
        writer = MirrorWriter(conn, connector_id=1)
        ids = await writer.quality_ids(models[:2])
        await conn.execute("DELETE FROM qualities")
        assert await writer.quality_ids([models[1], models[0], models[1]]) == [
            ids[1],
            ids[0],
            ids[1],
        ]
