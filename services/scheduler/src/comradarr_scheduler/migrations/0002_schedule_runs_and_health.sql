-- Schedules get a display name and an optional throttle profile for the sweeps they start.
ALTER TABLE schedules
    ADD COLUMN name text NOT NULL DEFAULT '',
    ADD COLUMN throttle_profile_id integer;

-- One row per sweep: fired by a schedule (or seen as a manual sweep's events), or skipped
-- ("protect": the connector's previous sweep still runs, or the connector is unhealthy).
-- The summary columns fill in as SyncCompleted and DiscoveryCompleted arrive.
CREATE TABLE sweep_runs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    schedule_id     bigint      REFERENCES schedules (id) ON DELETE CASCADE,
    connector_id    integer     NOT NULL,
    fire_time       timestamptz,
    status          text        NOT NULL CHECK (status IN ('fired', 'skipped', 'completed')),
    reason          text,
    message_id      text        UNIQUE,
    correlation_id  text        UNIQUE,
    fired_at        timestamptz NOT NULL DEFAULT now(),
    sync_outcome    text,
    sync_seen       boolean     NOT NULL DEFAULT false,
    discovery_seen  boolean     NOT NULL DEFAULT false,
    items_synced    integer     NOT NULL DEFAULT 0,
    gaps_found      integer     NOT NULL DEFAULT 0,
    upgrades_found  integer     NOT NULL DEFAULT 0,
    gaps_new        integer     NOT NULL DEFAULT 0,
    upgrades_new    integer     NOT NULL DEFAULT 0,
    items_queued    integer     NOT NULL DEFAULT 0,
    completed_at    timestamptz
);
CREATE INDEX sweep_runs_connector ON sweep_runs (connector_id, fired_at DESC);
-- "Is a sweep for this connector still running?"
CREATE INDEX sweep_runs_open ON sweep_runs (connector_id) WHERE status = 'fired';
CREATE INDEX sweep_runs_schedule ON sweep_runs (schedule_id, fired_at DESC);
