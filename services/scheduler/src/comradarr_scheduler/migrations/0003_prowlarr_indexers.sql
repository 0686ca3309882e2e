-- Prowlarr indexer health, polled by the scheduler (its only writer) like connector
-- health. Informational only: nothing waits on it.
--
-- state: healthy; rate_limited (Prowlarr disabled it until disabled_till, in the future);
-- failing (a recent failure, or an error message, without such a disable); disabled (the
-- indexer is switched off in Prowlarr). state_since is when it entered that state.
-- The statistics are Prowlarr's own (indexerstats), NULL where Prowlarr does not serve them.
CREATE TABLE prowlarr_indexers (
    connector_id         integer     NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    indexer_id           integer     NOT NULL,
    name                 text        NOT NULL,
    protocol             text,
    privacy              text,
    implementation       text,
    enabled              boolean     NOT NULL,
    state                text        NOT NULL
                         CHECK (state IN ('healthy', 'rate_limited', 'failing', 'disabled')),
    state_since          timestamptz NOT NULL,
    disabled_till        timestamptz,
    most_recent_failure  timestamptz,
    initial_failure      timestamptz,
    message              text,
    queries              integer,
    grabs                integer,
    failed_queries       integer,
    failed_grabs         integer,
    avg_response_ms      integer,
    checked_at           timestamptz NOT NULL,
    PRIMARY KEY (connector_id, indexer_id)
);

-- One row per Prowlarr connector: when it was last asked and last answered, at what
-- interval. A failed poll keeps the indexer rows as they were; the API reports them stale
-- (with their age) once a poll failed or none succeeded for two intervals.
CREATE TABLE prowlarr_polls (
    connector_id      integer     PRIMARY KEY REFERENCES connectors (id) ON DELETE CASCADE,
    last_attempt_at   timestamptz,
    last_success_at   timestamptz,
    last_error        text,
    stats_served      boolean,
    interval_seconds  real        NOT NULL DEFAULT 300
);
