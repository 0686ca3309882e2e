-- Episodes by air date: only missing ones keep an index. The full air-date index was the
-- one index of the largest table whose inserts land at random places (air dates do not
-- follow the order a sync writes in): 1.7-2.4 us of PostgreSQL CPU per episode written,
-- a fifth of a first sync's database work. The missing filter is what the air-date sort
-- serves best ("recently aired and still missing"), and its index takes only the rows
-- without a file. Other air-date pages sort their matches: the upgrade filter's few rows
-- cheaply, the whole library in 50-90 ms (top-N over 100,000-200,000 rows).
CREATE INDEX IF NOT EXISTS gw_episodes_missing_air
    ON episodes ((coalesce(air_date_utc, '1970-01-01 00:00:00+00'::timestamptz)), id)
    WHERE NOT has_file;
DROP INDEX IF EXISTS gw_episodes_air_order;
