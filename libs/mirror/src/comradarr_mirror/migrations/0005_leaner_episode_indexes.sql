-- A full sync writes every episode, and each write maintains every index on episodes
-- (a 200,000-episode library spends more of its sync on indexes than on the rows). Keep
-- only what a query reads:
--
-- * episodes_title_prefix served no query: the content browser matches an episode by its
--   series' title (series_title_prefix / series_title_trgm), never by its own.
-- * The gap and upgrade lookups read only the rows without a file, or with a file below
--   its cutoff: partial indexes on the connector hold just those rows (a fifth and a
--   tenth of a typical library) instead of every episode, and serve the same scans
--   (discovery's candidates, the content browser's missing and upgrade filters).
DROP INDEX IF EXISTS episodes_title_prefix;

DROP INDEX IF EXISTS episodes_gap;
CREATE INDEX episodes_gap ON episodes (connector_id) WHERE NOT has_file;

DROP INDEX IF EXISTS episodes_upgrade;
CREATE INDEX episodes_upgrade ON episodes (connector_id)
    WHERE has_file AND quality_cutoff_not_met;
