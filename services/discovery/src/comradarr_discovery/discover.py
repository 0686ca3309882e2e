"""Gap and upgrade discovery over the mirror, set-based: a few statements per pass."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from comradarr_db import Connection
from comradarr_mirror import SearchSettings, load_search_settings, user_part_sql
from comradarr_mirror.library import EPISODE_JOINS, EPISODE_MONITORED, MOVIE_RELEASED

from .config import DiscoveryConfig

# Advisory-lock class serialising discovery passes of one connector (key: class, id).
DISCOVERY_LOCK_CLASS = 0x44495343 & 0x7FFFFFFF  # "DISC"

# Wanted items of one connector: $1 connector, $2 latest air/release date that counts as
# aired, $3 whether the connector searches format-score upgrades. Monitored as
# comradarr_mirror.library says (the item, its season and its series). A file whose
# quality meets the cutoff but whose custom-format score is below its profile's cutoff
# score (in a profile that allows upgrades) is a 'format' candidate: read from the
# profiles that can have any, so the scan stays on the files of those profiles' series.
_CANDIDATES = f"""
CREATE TEMP TABLE discovery_candidates ON COMMIT DROP AS
SELECT 'episode'::text AS content_type, e.id AS content_id, e.id AS content_key,
       CASE WHEN e.has_file THEN 'upgrade' ELSE 'gap' END AS search_type,
       e.air_date_utc AS released
FROM episodes e {EPISODE_JOINS}
WHERE e.connector_id = $1 AND {EPISODE_MONITORED}
  AND ((NOT e.has_file AND e.air_date_utc <= $2)
       OR (e.has_file AND e.quality_cutoff_not_met))
UNION ALL
SELECT 'movie', m.id, -m.id,
       CASE WHEN m.has_file THEN 'upgrade' ELSE 'gap' END,
       {MOVIE_RELEASED}
FROM movies m
WHERE m.connector_id = $1 AND m.monitored
  AND ((NOT m.has_file AND m.is_available AND coalesce({MOVIE_RELEASED}, '-infinity') <= $2)
       OR (m.has_file AND m.quality_cutoff_not_met))
UNION ALL
SELECT 'episode', e.id, e.id, 'format', e.air_date_utc
FROM quality_profiles qp
JOIN series s ON s.connector_id = qp.connector_id AND s.quality_profile_id = qp.arr_id
JOIN episodes e ON e.connector_id = s.connector_id AND e.series_arr_id = s.arr_id
LEFT JOIN seasons se ON se.connector_id = e.connector_id
    AND se.series_arr_id = e.series_arr_id AND se.season_number = e.season_number
WHERE $3 AND qp.connector_id = $1 AND qp.upgrade_allowed AND {EPISODE_MONITORED}
  AND e.has_file AND NOT e.quality_cutoff_not_met
  AND e.custom_format_score < qp.cutoff_format_score
UNION ALL
SELECT 'movie', m.id, -m.id, 'format', {MOVIE_RELEASED}
FROM quality_profiles qp
JOIN movies m ON m.connector_id = qp.connector_id AND m.quality_profile_id = qp.arr_id
WHERE $3 AND qp.connector_id = $1 AND qp.upgrade_allowed AND m.monitored
  AND m.has_file AND NOT m.quality_cutoff_not_met
  AND m.custom_format_score < qp.cutoff_format_score
"""  # noqa: S608 (constant fragments)

# Per-type counts of a set of rows with a search_type column.
_BY_TYPE = (
    "count(*) FILTER (WHERE search_type = 'gap') AS gaps,"
    " count(*) FILTER (WHERE search_type = 'upgrade') AS upgrades,"
    " count(*) FILTER (WHERE search_type = 'format') AS formats"
)

# Registry rows match candidates on one key for both kinds (episode id, or minus the
# movie id), so the joins below can hash instead of testing two columns with OR.

# Entries whose item is no longer wanted at all: got its file, met its cutoff, unmonitored.
_REMOVE = f"""
WITH gone AS (
    DELETE FROM search_registry r WHERE r.connector_id = $1
    AND NOT EXISTS (SELECT 1 FROM discovery_candidates c
        WHERE coalesce(r.episode_id, -r.movie_id) = c.content_key)
    RETURNING r.search_type
)
SELECT {_BY_TYPE} FROM gone
"""  # noqa: S608 (a constant fragment)

# Items that moved between gap, upgrade and format keep their entry with the new type; a new
# reason to search starts a fresh cycle unless the dispatcher is busy with it right now.
_RETYPE = """
UPDATE search_registry r SET search_type = c.search_type, attempts = 0, correlation_id = $3,
    state = CASE WHEN r.state IN ('queued', 'searching') THEN r.state ELSE 'pending' END,
    next_eligible_at = CASE WHEN r.state IN ('queued', 'searching') THEN r.next_eligible_at
                            ELSE $2 END,
    updated_at = $2
FROM discovery_candidates c
WHERE r.connector_id = $1 AND coalesce(r.episode_id, -r.movie_id) = c.content_key
  AND r.search_type <> c.search_type
"""


def _parts(*, released: str, created_at: str, user_priority: str, attempts: str, kind: str) -> str:
    """The weighted priority parts over the given input expressions, rounded to 3 places.

    Parameters: $2 now, $3..$7 weights (age, missing, user, failures, type), $8 age half
    life (days), $9 missing full (days), $10 failure full (attempts), $11 the type weight of
    a format-score upgrade. Rounding means an unchanged score does not rewrite the row.
    """
    return f"""
        round(($3::float8 / (1 + greatest(extract(epoch FROM
               ($2::timestamptz - coalesce({released}, $2::timestamptz))), 0)
               / 86400.0 / $8::float8))::numeric, 3)::float8 AS age,
        round(($4::float8 * least(greatest(extract(epoch FROM
               ($2::timestamptz - {created_at})), 0)
               / 86400.0 / $9::float8, 1))::numeric, 3)::float8 AS missing,
        {user_part_sql(weight="$5", user_priority=user_priority)} AS usr,
        round((-$6::float8 * least({attempts} / $10::float8, 1))::numeric, 3)::float8
            AS failures,
        round((CASE {kind} WHEN 'gap' THEN $7::float8 WHEN 'format' THEN $11::float8
               ELSE 0 END)::numeric, 3)::float8 AS typ"""


_PARTS_JSON = (
    "jsonb_build_object('age', p.age, 'missing', p.missing, 'user', p.usr,"
    " 'failures', p.failures, 'type', p.typ)"
)

# New entries get their priority as they are inserted (the same expressions as the
# recompute below over a new entry's inputs: created now, no attempts, no user nudge), so
# each is written once instead of inserted and then rewritten by the recompute.
_INSERT_PARTS = _parts(
    released="c.released",
    created_at="$2::timestamptz",
    user_priority="NULL::integer",
    attempts="0",
    kind="c.search_type",
)
_INSERT = f"""
WITH new AS (
    INSERT INTO search_registry (connector_id, content_type, episode_id, movie_id, search_type,
                                 created_at, updated_at, next_eligible_at, priority,
                                 priority_parts, correlation_id)
    SELECT $1, p.content_type,
           CASE WHEN p.content_type = 'episode' THEN p.content_id END,
           CASE WHEN p.content_type = 'movie' THEN p.content_id END,
           p.search_type, $2, $2, $2, p.age + p.missing + p.usr + p.failures + p.typ,
           {_PARTS_JSON}, $13
    FROM (
        SELECT c.content_type, c.content_id, c.search_type, {_INSERT_PARTS}
        FROM discovery_candidates c
        WHERE c.search_type = ANY($12::text[])
          AND NOT EXISTS (
              SELECT 1 FROM search_registry r WHERE r.connector_id = $1 AND
                  coalesce(r.episode_id, -r.movie_id) = c.content_key)
    ) p
    RETURNING search_type
)
SELECT {_BY_TYPE} FROM new
"""  # noqa: S608 (built from the constant fragments above; values are parameters)

# Entries that existed before this pass, rescored (time passed, attempts, a user's nudge,
# a new type); an unchanged score does not rewrite the row.
_PRIORITY_PARTS = _parts(
    released="c.released",
    created_at="r.created_at",
    user_priority="r.user_priority",
    attempts="r.attempts",
    kind="r.search_type",
)
_PRIORITY = f"""
WITH parts AS (
    SELECT r.id, {_PRIORITY_PARTS}
    FROM search_registry r
    JOIN discovery_candidates c ON coalesce(r.episode_id, -r.movie_id) = c.content_key
    WHERE r.connector_id = $1
)
UPDATE search_registry r
SET priority = p.age + p.missing + p.usr + p.failures + p.typ, priority_parts = {_PARTS_JSON}
FROM parts p
WHERE r.id = p.id
  AND r.priority IS DISTINCT FROM (p.age + p.missing + p.usr + p.failures + p.typ)
"""  # noqa: S608 (built from the constant fragments above; values are parameters)


@dataclass(frozen=True, slots=True, kw_only=True)
class DiscoveryCounts:
    """What one discovery pass found and changed."""

    gaps_found: int
    upgrades_found: int
    gaps_new: int
    upgrades_new: int
    gaps_removed: int
    upgrades_removed: int
    type_changed: int
    # Format-score upgrades (quality cutoff met, custom-format score below the cutoff score).
    formats_found: int = 0
    formats_new: int = 0
    formats_removed: int = 0

    @property
    def entries_created(self) -> int:
        """New entries of any type."""
        return self.gaps_new + self.upgrades_new + self.formats_new

    @property
    def entries_removed(self) -> int:
        """Entries deleted because their item is no longer wanted."""
        return self.gaps_removed + self.upgrades_removed + self.formats_removed


async def run_discovery(
    conn: Connection,
    *,
    connector_id: int,
    now: datetime,
    config: DiscoveryConfig,
    search_types: tuple[str, ...] = ("gap", "upgrade", "format"),
    search: SearchSettings | None = None,
    correlation_id: str | None = None,
) -> DiscoveryCounts:
    """Reconcile a connector's registry entries with its mirror, inside the caller's transaction.

    Entries of items no longer wanted are deleted whatever the sweep type; new entries
    are created only for the sweep's search types that Settings → Search lets run (read
    here when not given). Format-score upgrades are candidates only while the connector's
    format_upgrades switch is on.
    """
    await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", DISCOVERY_LOCK_CLASS, connector_id)
    if search is None:
        search = await load_search_settings(conn)
    allowed = search.search_types()
    search_types = tuple(t for t in search_types if t in allowed)
    weight = search.priority_weights
    aired_before = now - timedelta(hours=search.air_delay_hours)
    formats = bool(
        await conn.fetchval("SELECT format_upgrades FROM connectors WHERE id = $1", connector_id)
    )
    await conn.execute(_CANDIDATES, connector_id, aired_before, formats)
    # A fresh temp table has no statistics; without them the joins below plan badly.
    await conn.execute("ANALYZE discovery_candidates")
    found = await conn.fetchrow(f"SELECT {_BY_TYPE} FROM discovery_candidates")  # noqa: S608
    removed = await conn.fetchrow(_REMOVE, connector_id)
    status = await conn.execute(_RETYPE, connector_id, now, correlation_id)
    retyped = int(status.split()[-1])
    weights = (
        weight.age,
        weight.missing,
        weight.user,
        weight.failures,
        weight.type,
        config.age_half_life_days,
        config.missing_full_days,
        config.failure_full_attempts,
        weight.format,
    )
    # Entries that already existed first (the new ones are inserted with their score).
    await conn.execute(_PRIORITY, connector_id, now, *weights)
    created = await conn.fetchrow(
        _INSERT, connector_id, now, *weights, list(search_types), correlation_id
    )
    assert found is not None and removed is not None and created is not None
    return DiscoveryCounts(
        gaps_found=int(found["gaps"]),
        upgrades_found=int(found["upgrades"]),
        gaps_new=int(created["gaps"]),
        upgrades_new=int(created["upgrades"]),
        gaps_removed=int(removed["gaps"]),
        upgrades_removed=int(removed["upgrades"]),
        type_changed=retyped,
        formats_found=int(found["formats"]),
        formats_new=int(created["formats"]),
        formats_removed=int(removed["formats"]),
    )
