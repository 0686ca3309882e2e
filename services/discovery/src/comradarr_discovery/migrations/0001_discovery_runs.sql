-- One row per completed sync that discovery looked at.
CREATE TABLE discovery_runs (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector_id   integer     NOT NULL,
    sync_run_id    bigint      NOT NULL,
    message_id     text        NOT NULL UNIQUE,
    correlation_id text        NOT NULL,
    gaps_found     integer     NOT NULL DEFAULT 0,
    upgrades_found integer     NOT NULL DEFAULT 0,
    entries_created integer    NOT NULL DEFAULT 0,
    entries_removed integer    NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX discovery_runs_connector ON discovery_runs (connector_id, created_at DESC);
