-- Sweep schedules. The gateway writes the definition; the scheduler writes run times.
CREATE TABLE schedules (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector_id  integer     NOT NULL,
    sweep_type    text        NOT NULL DEFAULT 'both' CHECK (sweep_type IN ('gaps', 'upgrades', 'both')),
    sync_mode     text        NOT NULL DEFAULT 'incremental' CHECK (sync_mode IN ('incremental', 'full')),
    cron          text        NOT NULL,
    timezone      text        NOT NULL DEFAULT 'UTC',
    enabled       boolean     NOT NULL DEFAULT true,
    next_run_at   timestamptz,
    last_fired_at timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX schedules_due ON schedules (next_run_at) WHERE enabled;
