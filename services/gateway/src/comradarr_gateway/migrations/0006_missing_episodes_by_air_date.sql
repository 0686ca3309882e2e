-- Episodes by air date: only missing and upgradable ones keep an index. The full air-date
-- index was the one index of the largest table whose inserts land at random places (air
-- dates do not follow the order a sync writes in): 1.7-2.4 us of PostgreSQL CPU per episode
-- written, a fifth of a first sync's database work. The missing and upgrade filters are
-- what the air-date sort serves best ("recently aired and still missing", "recent files
-- below cutoff"), and their indexes take only their rows (together about a quarter). Other
-- air-date pages sort their matches (the whole library: 50-90 ms at 100,000-200,000).
CREATE INDEX IF NOT EXISTS gw_episodes_missing_air
    ON episodes ((coalesce(air_date_utc, '1970-01-01 00:00:00+00'::timestamptz)), id)
    WHERE NOT has_file;
CREATE INDEX IF NOT EXISTS gw_episodes_upgrade_air
    ON episodes ((coalesce(air_date_utc, '1970-01-01 00:00:00+00'::timestamptz)), id)
    WHERE has_file AND quality_cutoff_not_met;
DROP INDEX IF EXISTS gw_episodes_air_order;
