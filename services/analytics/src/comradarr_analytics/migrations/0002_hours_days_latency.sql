-- Hourly and daily buckets with a dimension (command type, queue state, error category,
-- endpoint kind ...) and gauge readings (value is their sum, samples their number, so the
-- mean survives any roll-up), plus response-time histograms (comradarr_proto.latency bins).
-- Every count goes to its UTC hour and to its calendar day in the user's time zone in one
-- statement; hours older than the retention age are then deleted (the days hold them).

ALTER TABLE analytics_hourly
    ADD COLUMN dim     text   NOT NULL DEFAULT '',
    ADD COLUMN samples bigint NOT NULL DEFAULT 0;
ALTER TABLE analytics_hourly DROP CONSTRAINT analytics_hourly_pkey;

-- The first version's counters under their new names; gaps_found/upgrades_found were the
-- wanted totals of each discovery pass, not something that adds up over time.
DELETE FROM analytics_hourly WHERE metric IN ('gaps_found', 'upgrades_found');
UPDATE analytics_hourly SET metric = 'searches' WHERE metric = 'searches_dispatched';
UPDATE analytics_hourly SET metric = 'syncs', dim = substr(metric, 6)
    WHERE metric IN ('sync_success', 'sync_failed', 'sync_skipped');

ALTER TABLE analytics_hourly ADD PRIMARY KEY (metric, bucket, connector_id, dim);
-- The roll-up deletes by age across every metric.
CREATE INDEX analytics_hourly_bucket ON analytics_hourly (bucket);

CREATE TABLE analytics_daily (
    metric       text    NOT NULL,
    day          date    NOT NULL,
    connector_id integer NOT NULL,
    dim          text    NOT NULL DEFAULT '',
    value        bigint  NOT NULL DEFAULT 0,
    samples      bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (metric, day, connector_id, dim)
);
CREATE INDEX analytics_daily_day ON analytics_daily (day);

-- The first version's hours, dated in UTC (the time zone setting was not read then).
INSERT INTO analytics_daily (metric, day, connector_id, dim, value, samples)
SELECT metric, (bucket AT TIME ZONE 'UTC')::date, connector_id, dim, sum(value), sum(samples)
FROM analytics_hourly GROUP BY 1, 2, 3, 4;

-- Response-time histograms: one row per (kind, bucket, connector), its non-empty bins in
-- order and their counts as two arrays (a 90-day chart per connector reads 900 rows, not the
-- 15,000 a row per bin made). kind '' holds every kind's requests merged (what most reads
-- want).
CREATE TABLE analytics_latency_hourly (
    kind         text        NOT NULL,
    bucket       timestamptz NOT NULL,
    connector_id integer     NOT NULL,
    bins         smallint[]  NOT NULL,
    counts       bigint[]    NOT NULL,
    PRIMARY KEY (kind, bucket, connector_id)
);
CREATE INDEX analytics_latency_hourly_bucket ON analytics_latency_hourly (bucket);

CREATE TABLE analytics_latency_daily (
    kind         text       NOT NULL,
    day          date       NOT NULL,
    connector_id integer    NOT NULL,
    bins         smallint[] NOT NULL,
    counts       bigint[]   NOT NULL,
    PRIMARY KEY (kind, day, connector_id)
);
CREATE INDEX analytics_latency_daily_day ON analytics_latency_daily (day);
