-- Maintenance runs: fired by the maintenance cron or by "run now"; every service prunes its
-- own tables and reports (steps: {service: {removed: {table: n}, seconds, error}}); then the
-- scheduler runs VACUUM (ANALYZE) on the busy tables and closes the run.
CREATE TABLE maintenance_runs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trigger         text        NOT NULL CHECK (trigger IN ('schedule', 'manual')),
    requested_by    text        NOT NULL DEFAULT 'scheduler',
    -- The schedule's fire time or the request's message id: a replay starts no second run.
    request_id      text        NOT NULL UNIQUE,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    status          text        NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running', 'vacuuming', 'completed', 'partial')),
    steps           jsonb       NOT NULL DEFAULT '{}'::jsonb,
    removed         bigint      NOT NULL DEFAULT 0,
    vacuumed        text[]      NOT NULL DEFAULT '{}',
    vacuum_seconds  double precision,
    error           text
);
CREATE INDEX maintenance_runs_started ON maintenance_runs (started_at DESC);

-- When the maintenance cron fires next, for the cron and time zone it was computed from.
CREATE TABLE maintenance_schedule (
    singleton       boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    cron            text        NOT NULL,
    timezone        text        NOT NULL,
    next_run_at     timestamptz NOT NULL
);
