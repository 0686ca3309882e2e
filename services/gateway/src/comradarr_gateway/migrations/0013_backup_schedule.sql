-- The backup schedule (one row): written by the gateway (settings) and by the scheduler
-- (next_run_at, last_fired_at, as for sweep schedules). folder NULL means the backups
-- folder under COMRADARR_DATA_DIR.
CREATE TABLE backup_schedule (
    singleton       boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    enabled         boolean     NOT NULL DEFAULT false,
    cron            text        NOT NULL DEFAULT '30 3 * * *',
    timezone        text        NOT NULL DEFAULT 'UTC',
    keep            integer     NOT NULL DEFAULT 7 CHECK (keep BETWEEN 1 AND 1000),
    folder          text,
    include_mirror  boolean     NOT NULL DEFAULT true,
    next_run_at     timestamptz,
    last_fired_at   timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
INSERT INTO backup_schedule DEFAULT VALUES;
