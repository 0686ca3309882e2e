-- The last reading of each connector's download queue (queue/status totalCount), shared by
-- every dispatcher replica: one of them reads the app at most once a minute (claimed_at),
-- the others take its answer. A failed read leaves total_count NULL and says why (searches
-- go on: fail open). The gateway reads it to explain why a connector's searches wait.
CREATE TABLE download_queue_readings (
    connector_id  integer     PRIMARY KEY REFERENCES connectors (id) ON DELETE CASCADE,
    claimed_at    timestamptz NOT NULL,
    checked_at    timestamptz,
    total_count   integer,
    error         text
);
