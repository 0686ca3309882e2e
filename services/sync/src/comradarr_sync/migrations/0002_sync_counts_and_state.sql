-- Counts a real sync produces, and per-connector failure bookkeeping.
ALTER TABLE sync_runs
    ADD COLUMN skipped_malformed integer NOT NULL DEFAULT 0,
    ADD COLUMN requests_made     integer NOT NULL DEFAULT 0,
    ADD COLUMN episode_requests  integer NOT NULL DEFAULT 0,
    ADD COLUMN series_refetched  integer NOT NULL DEFAULT 0,
    ADD COLUMN attempts          integer NOT NULL DEFAULT 1,
    ADD COLUMN skip_reason       text;

-- Consecutive failed sync attempts per connector: at the threshold the connector is marked
-- unhealthy and scheduled sweeps pause until paused_until (manual sweeps still run).
CREATE TABLE sync_connector_state (
    connector_id          integer     PRIMARY KEY REFERENCES connectors (id) ON DELETE CASCADE,
    consecutive_failures  integer     NOT NULL DEFAULT 0,
    last_error            text,
    last_failure_at       timestamptz,
    last_success_at       timestamptz,
    paused_until          timestamptz,
    marked_unhealthy      boolean     NOT NULL DEFAULT false
);
