"""A synthetic content mirror and search registry, inserted set-based (generate_series).

Deterministic: for episode arr id n (1-based within the connector)
- has_file unless n % 3 == 0; below cutoff when it has a file and n % 7 == 0;
- every third season of every fifth series is unaired (air date in the future);
- a registry entry for every wanting episode (missing and aired, or below cutoff), its state
  by entry id % 10: 0-4 pending, 5 cooldown, 6 queued, 7 searching, 8-9 exhausted.
Series titles rotate through TITLES so title search finds a known share.
"""

from __future__ import annotations

import asyncpg

TITLES = ["Alpha Files", "Bravo Station", "Charlie's Angles", "Delta Force", "Echo Park"]
STATE_SQL = (
    "CASE WHEN r_id % 10 < 5 THEN 'pending' WHEN r_id % 10 = 5 THEN 'cooldown'"
    " WHEN r_id % 10 = 6 THEN 'queued' WHEN r_id % 10 = 7 THEN 'searching' ELSE 'exhausted' END"
)


async def seed_mirror(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    connector_id: int,
    series: int,
    seasons: int,
    per_season: int,
    movies: int = 0,
) -> None:
    """Insert series, seasons, episodes, movies and registry entries for one connector."""
    await conn.execute(
        """
        INSERT INTO series (connector_id, arr_id, title, sort_title, status, year, monitored,
                            added, season_count, episode_count, episode_file_count)
        SELECT $1, g, ($2::text[])[1 + g % array_length($2::text[], 1)] || ' ' || g,
               NULL, 'continuing', 1990 + g % 30, true, now() - g * interval '1 hour', $3::int,
               $3::int * $4::int, ($3::int * $4::int) - ($3::int * $4::int) / 3
        FROM generate_series(1, $5) g
        """,
        connector_id,
        TITLES,
        seasons,
        per_season,
        series,
    )
    await conn.execute(
        """
        INSERT INTO seasons (connector_id, series_arr_id, season_number, monitored,
                             episode_count, episode_file_count, total_episode_count)
        SELECT $1, s, se, true, $3::int, $3::int - $3::int / 3, $3::int
        FROM generate_series(1, $2) s, generate_series(1, $4) se
        """,
        connector_id,
        series,
        per_season,
        seasons,
    )
    await conn.execute(
        "INSERT INTO qualities (model) SELECT jsonb_build_object('quality',"
        " jsonb_build_object('name', n)) FROM unnest($1::text[]) n ON CONFLICT (model) DO NOTHING",
        ["HDTV-720p", "Bluray-1080p", "WEBDL-1080p"],
    )
    await conn.execute(
        """
        INSERT INTO episodes (connector_id, arr_id, series_arr_id, season_number,
                              episode_number, title, air_date_utc, monitored, has_file,
                              quality_id, quality_cutoff_not_met)
        SELECT $1, n, s, se, ep, 'Episode ' || ep,
               CASE WHEN s % 5 = 0 AND se % 3 = 0 THEN now() + interval '30 days'
                    ELSE now() - (n % 5000) * interval '1 hour' END,
               true, n % 3 <> 0,
               CASE WHEN n % 3 <> 0 THEN (SELECT q.id FROM qualities q
                    WHERE q.model = jsonb_build_object('quality', jsonb_build_object('name',
                        CASE WHEN n % 7 = 0 THEN 'HDTV-720p' ELSE 'Bluray-1080p' END))) END,
               n % 3 <> 0 AND n % 7 = 0
        FROM (SELECT s, se, ep, ((s - 1) * $3::int + (se - 1)) * $4::int + ep AS n
              FROM generate_series(1, $2) s, generate_series(1, $3) se,
                   generate_series(1, $4) ep) t
        """,
        connector_id,
        series,
        seasons,
        per_season,
    )
    if movies:
        await conn.execute(
            """
            INSERT INTO movies (connector_id, arr_id, title, year, status, monitored,
                                is_available, has_file, quality_id, quality_cutoff_not_met, added)
            SELECT $1, g, ($2::text[])[1 + g % array_length($2::text[], 1)] || ' Movie ' || g,
                   1980 + g % 40, 'released', true, true, g % 4 <> 0,
                   CASE WHEN g % 4 <> 0 THEN (SELECT q.id FROM qualities q
                        WHERE q.model = '{"quality": {"name": "WEBDL-1080p"}}') END,
                   g % 4 <> 0 AND g % 9 = 0, now() - g * interval '1 day'
            FROM generate_series(1, $3) g
            """,
            connector_id,
            TITLES,
            movies,
        )
    await conn.execute(
        f"""
        WITH wanting AS (
            SELECT e.id, e.has_file FROM episodes e
            WHERE e.connector_id = $1
              AND ((NOT e.has_file AND e.air_date_utc <= now()) OR e.quality_cutoff_not_met)
        )
        INSERT INTO search_registry (connector_id, content_type, episode_id, search_type,
                                     state, attempts, priority, next_eligible_at)
        SELECT $1, 'episode', id, CASE WHEN has_file THEN 'upgrade' ELSE 'gap' END,
               {STATE_SQL}, r_id % 4, (r_id % 97)::float8,
               CASE WHEN r_id % 10 = 5 THEN now() + interval '2 hours' ELSE now() END
        FROM (SELECT id, has_file, id AS r_id FROM wanting) w
        """,  # noqa: S608 - constant fragment
        connector_id,
    )
    await conn.execute(
        f"""
        INSERT INTO search_registry (connector_id, content_type, movie_id, search_type,
                                     state, priority)
        SELECT $1, 'movie', m.id, CASE WHEN m.has_file THEN 'upgrade' ELSE 'gap' END,
               {STATE_SQL.replace("r_id", "m.id")}, (m.id % 89)::float8
        FROM movies m WHERE m.connector_id = $1
          AND (NOT m.has_file OR m.quality_cutoff_not_met)
        """,  # noqa: S608 - constant fragment
        connector_id,
    )
    await conn.execute("ANALYZE series; ANALYZE episodes; ANALYZE movies; ANALYZE search_registry")
