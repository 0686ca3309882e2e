"""The dispatcher's SQL: the look at a connector, the claim, the send and the outcome."""

from __future__ import annotations

import dataclasses

from comradarr_connectors import BLOCKING_HEALTH_SQL
from comradarr_throttle import ThrottleProfile, cooldown_seconds

PROFILE_FIELDS = tuple(f.name for f in dataclasses.fields(ThrottleProfile))
# A look returns its candidates column by column, one typed array each (c_0, c_1, ...):
# asyncpg decodes those for about two thirds of the CPU an array of anonymous records took
# (each of whose fields carries its own type). The Candidate's fields in their order, then
# the commands in flight for the candidate's series.
CANDIDATE_COLUMNS = (
    "w.id",
    "w.content_type",
    "w.search_type",
    "w.arr_id",
    "w.series_arr_id",
    "w.season_number",
    "w.fully_aired",
    "w.missing_share",
    "w.pack_failed",
    "coalesce(b.n, 0)",
)
CANDIDATE_KEYS = tuple(f"c_{i}" for i in range(len(CANDIDATE_COLUMNS)))


def look_sql(buffer_size: int) -> str:
    """One round trip, no lock and no transaction, before deciding: the connector's counters
    (has_state false: no row yet), its profile (NULL columns: the default), whether its
    queue is paused, the commands in flight, and its best eligible entries of the search
    types Settings → Search lets run ($3) with what
    batching needs, as one array per column (CANDIDATE_COLUMNS) in priority order.

    Nothing is locked: the claim statement re-checks the counters it was decided on
    (compare-and-set on the throttle row) and takes the entries only if they are still
    eligible, so two replicas never both spend a slot or search an entry twice.

    The inner query walks the partial index search_registry_eligible and stops after
    buffer_size rows (a constant, and `now` compared through a sub-select, so the plan
    does not depend on the parameter values and PostgreSQL keeps one generic plan per
    connection instead of planning every call).
    """
    return f"""
WITH st AS (
    SELECT c.enabled AND c.type <> 'prowlarr' AND c.health_status NOT IN {BLOCKING_HEALTH_SQL}
           AND (c.paused_until IS NULL OR c.paused_until <= $2) AS dispatchable,
           t.connector_id IS NOT NULL AS has_state, t.next_slot_at, t.window_start,
           coalesce(t.window_used, 0) AS window_used, t.paused_until, t.pause_reason,
           (SELECT coalesce(bool_or(q.paused), false) FROM queue_state q
            WHERE q.connector_id IN (0, $1)) AS queue_paused,
           p.id IS NOT NULL AS has_profile,
           {", ".join(f"p.{name} AS p_{name}" for name in PROFILE_FIELDS)}
    FROM connectors c
    LEFT JOIN throttle_state t ON t.connector_id = c.id
    LEFT JOIN throttle_profiles p ON p.id = c.throttle_profile_id
    WHERE c.id = $1
), busy AS MATERIALIZED (
    SELECT series_arr_id, count(*)::int AS n FROM dispatch_commands
    WHERE connector_id = $1 AND status IN ('sending', 'searching')
    GROUP BY series_arr_id
), w AS MATERIALIZED (
    SELECT r.id, r.content_type, r.search_type, r.priority,
           coalesce(e.arr_id, m.arr_id) AS arr_id, e.series_arr_id, e.season_number,
           coalesce(s.fully_aired, false) AS fully_aired,
           CASE WHEN coalesce(s.episode_count, 0) > 0
                THEN (s.episode_count - s.episode_file_count)::float8 / s.episode_count
                ELSE 0 END AS missing_share,
           f.connector_id IS NOT NULL AS pack_failed
    FROM (
        SELECT id, content_type, search_type, priority, episode_id, movie_id
        FROM search_registry
        WHERE connector_id = $1 AND state IN ('pending', 'cooldown')
          AND next_eligible_at <= (SELECT $2::timestamptz)
          AND search_type = ANY ($3::text[])
        ORDER BY priority DESC, id
        LIMIT {int(buffer_size)}
    ) r
    LEFT JOIN episodes e ON e.id = r.episode_id
    LEFT JOIN movies m ON m.id = r.movie_id
    LEFT JOIN seasons s ON s.connector_id = e.connector_id
                       AND s.series_arr_id = e.series_arr_id
                       AND s.season_number = e.season_number
    LEFT JOIN season_pack_fallbacks f ON f.connector_id = e.connector_id
                       AND f.series_arr_id = e.series_arr_id
                       AND f.season_number = e.season_number
)
SELECT st.*, (SELECT coalesce(sum(n), 0)::int FROM busy) AS in_flight, c.*
FROM st, LATERAL (
    SELECT {
        ", ".join(
            f"array_agg({expr} ORDER BY w.priority DESC, w.id) AS c_{i}"
            for i, expr in enumerate(CANDIDATE_COLUMNS)
        )
    }
    FROM w LEFT JOIN busy b ON b.series_arr_id = w.series_arr_id
) c
"""  # noqa: S608 - constant column names and an int


# Claiming in one statement (atomic on its own, no transaction round trips): lock the
# throttle row only if it still holds the counters the decision was made on (another
# replica's claim or a 429 pause changed them: nothing happens, the caller looks again),
# mark the entries queued, spend the slot and record the dispatch row, all only when at
# least one entry was still eligible. $1 connector, $2 now, $3 next_slot_at,
# $4 window_start, $5 window_used, $6 command, $7 series, $8 season, $9 owner, $10 lease,
# $11 millis, $12/$13 what to claim, $14..$17 the counters read: next_slot_at,
# window_start, window_used, paused_until.
_CAS = """
WITH lk AS (
    SELECT 1 FROM throttle_state
    WHERE connector_id = $1 AND next_slot_at IS NOT DISTINCT FROM $14
      AND window_start IS NOT DISTINCT FROM $15 AND window_used = $16
      AND paused_until IS NOT DISTINCT FROM $17
    FOR UPDATE
)"""
_CLAIM_TAIL = """
, taken AS (
    SELECT array_agg(id ORDER BY pos) AS registry_ids,
           array_agg(arr_id ORDER BY pos) AS arr_ids,
           -- The id of the work that queued the first entry that has one (a sweep, a click).
           (array_remove(array_agg(cid ORDER BY pos), NULL))[1] AS cid
    FROM claimed HAVING count(*) > 0
), spent AS (
    UPDATE throttle_state SET next_slot_at = $3, window_start = $4, window_used = $5,
        paused_until = NULL, pause_reason = NULL, requests_total = requests_total + 1,
        last_sent_at = $2, updated_at = now()
    WHERE connector_id = $1 AND EXISTS (SELECT 1 FROM taken)
)
INSERT INTO dispatch_commands (connector_id, command_name, series_arr_id, season_number,
    arr_ids, registry_ids, owner, lease_until, correlation_id, created_at)
SELECT $1, $6, $7, $8, arr_ids, registry_ids, $9, $10,
       coalesce(cid, 'dispatch-' || $1 || '-' || registry_ids[1] || '-' || $11::bigint), $2
FROM taken
RETURNING id, arr_ids, registry_ids, correlation_id
"""
# A season pack covers every eligible gap of the season, also those beyond the window.
# $12 series, $13 season (typed apart from $7/$8, which may be NULL for other commands).
_SEASON_HEAD = """
, claimed AS (
    UPDATE search_registry r SET state = 'queued', updated_at = $2
    FROM episodes e
    WHERE EXISTS (SELECT 1 FROM lk)
      AND e.id = r.episode_id AND r.connector_id = $1 AND e.connector_id = $1
      AND e.series_arr_id = $12 AND e.season_number = $13 AND r.search_type = 'gap'
      AND r.state IN ('pending', 'cooldown') AND r.next_eligible_at <= $2
    RETURNING r.id, e.arr_id, e.arr_id AS pos, r.correlation_id AS cid
)"""
CLAIM_SEASON = _CAS + _SEASON_HEAD + _CLAIM_TAIL
# The chosen entries that are still eligible, in the batch's order. $12 ids, $13 arr ids.
_IDS_HEAD = """
, chosen AS (
    SELECT id, arr_id, pos FROM unnest($12::bigint[], $13::int[]) WITH ORDINALITY
        AS c(id, arr_id, pos)
), claimed AS (
    UPDATE search_registry r SET state = 'queued', updated_at = $2
    FROM chosen c
    WHERE EXISTS (SELECT 1 FROM lk)
      AND r.connector_id = $1 AND r.id = c.id AND r.state IN ('pending', 'cooldown')
    RETURNING r.id, c.arr_id, c.pos, r.correlation_id AS cid
)"""
CLAIM_IDS = _CAS + _IDS_HEAD + _CLAIM_TAIL


# A command the app accepted: $1 dispatch, $2 command id, $3 now, $4 app queued at,
# $5 response ms, $6 registry ids, $7 command name, $8 batch size.
SENT = """
WITH d AS (
    UPDATE dispatch_commands SET status = 'searching', command_id = $2, sent_at = $3,
        app_queued_at = $4, response_ms = $5
    WHERE id = $1
), r AS (
    UPDATE search_registry SET state = 'searching', last_searched_at = $3, updated_at = $3
    WHERE id = ANY ($6::bigint[])
    RETURNING id, connector_id, search_type, content_type, episode_id, movie_id
)
INSERT INTO search_history (registry_id, connector_id, command_id, command_name,
    search_type, outcome, started_at, dispatch_id, response_ms, batch_size, content_type,
    episode_id, movie_id)
SELECT r.id, r.connector_id, $2, $7, r.search_type, 'dispatched', $3, $1, $5, $8,
       r.content_type, r.episode_id, r.movie_id FROM r
"""


# Recording a command's outcome in one statement (atomic on its own): per entry found
# (grabbed: one base cooldown, no attempt counted) or not (attempts + 1, backoff from $6,
# exhausted at $5 attempts as is_exhausted says), the history rows, the dispatch row, and
# a season whose pack did not do it goes by episode searches from now on.
# $1 dispatch, $2 registry ids, $3 arr ids found, $4 now, $5 max attempts, $6 cooldown
# seconds after the n-th attempt (n = 1.., the last one repeats), $7 base cooldown,
# $8 error, $9 outcome when not found, $10 message, $11 dispatch status, $12 season pack,
# $13 connector, $14 series, $15 season.
FINISH = """
WITH cur0 AS (
    SELECT r.id, r.attempts,
           coalesce(coalesce(e.arr_id, m.arr_id) = ANY ($3::int[]), false) AS judged,
           -- The app's webhook may have reported the grab already (webhooks.py).
           EXISTS (SELECT 1 FROM search_history h WHERE h.registry_id = r.id
                   AND h.dispatch_id = $1 AND h.outcome = 'found') AS already
    FROM search_registry r LEFT JOIN episodes e ON e.id = r.episode_id
    LEFT JOIN movies m ON m.id = r.movie_id
    WHERE r.id = ANY ($2::bigint[]) FOR UPDATE OF r
), cur AS (
    SELECT id, attempts, judged OR already AS found, already FROM cur0
), upd AS (
    UPDATE search_registry r SET
        state = CASE WHEN c.found THEN 'cooldown'
                     WHEN c.attempts + 1 >= $5 THEN 'exhausted' ELSE 'cooldown' END,
        attempts = CASE WHEN c.found THEN c.attempts ELSE c.attempts + 1 END,
        next_eligible_at = CASE
            WHEN c.found THEN $4::timestamptz + $7::interval
            WHEN c.attempts + 1 >= $5 THEN $4
            ELSE $4 + make_interval(
                secs => ($6::float8[])[least(c.attempts + 1, cardinality($6::float8[]))])
            END,
        last_error = CASE WHEN c.found THEN NULL ELSE $8 END,
        updated_at = $4
    FROM cur c WHERE r.id = c.id
    RETURNING r.id, r.state, c.found, c.already
), hist AS (
    UPDATE search_history SET
        outcome = CASE WHEN registry_id IN (SELECT id FROM upd WHERE found) THEN 'found'
                       ELSE $9 END,
        ended_at = $4, message = $10, error = CASE WHEN $11 = 'failed' THEN $10 END
    WHERE dispatch_id = $1
), disp AS (
    UPDATE dispatch_commands SET status = $11, ended_at = $4, message = $10,
        found = (SELECT count(*) FROM upd WHERE found)
    WHERE id = $1
), fallback AS (
    INSERT INTO season_pack_fallbacks (connector_id, series_arr_id, season_number, failed_at)
    SELECT $13, $14, $15, $4
    WHERE $12 AND ($11 = 'failed' OR EXISTS (SELECT 1 FROM upd WHERE NOT found))
    ON CONFLICT DO NOTHING
)
SELECT id, state, found, already FROM upd
"""


def cooldowns(profile: ThrottleProfile) -> list[float]:
    """cooldown_seconds after the 1st, 2nd, ... unsuccessful attempt, up to the cap (every
    later attempt waits as long as the last one listed)."""
    out = [cooldown_seconds(profile, attempts=1)]
    while out[-1] < profile.cooldown_max_seconds and len(out) < 65:
        out.append(cooldown_seconds(profile, attempts=len(out) + 1))
    return out
