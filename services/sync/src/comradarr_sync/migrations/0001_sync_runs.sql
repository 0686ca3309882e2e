-- One row per sweep command the sync service handled (counts filled by the real sync).
CREATE TABLE sync_runs (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector_id   integer     NOT NULL,
    mode           text        NOT NULL CHECK (mode IN ('incremental', 'full')),
    sweep_type     text        NOT NULL CHECK (sweep_type IN ('gaps', 'upgrades', 'both')),
    message_id     text        NOT NULL UNIQUE,
    correlation_id text        NOT NULL,
    started_at     timestamptz NOT NULL DEFAULT now(),
    ended_at       timestamptz,
    outcome        text        NOT NULL DEFAULT 'running'
                   CHECK (outcome IN ('running', 'success', 'failed', 'skipped')),
    fetched        integer     NOT NULL DEFAULT 0,
    inserted       integer     NOT NULL DEFAULT 0,
    updated        integer     NOT NULL DEFAULT 0,
    deleted        integer     NOT NULL DEFAULT 0,
    error          text
);
CREATE INDEX sync_runs_connector_started ON sync_runs (connector_id, started_at DESC);
