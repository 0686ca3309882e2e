-- As 0005 did for episodes: a full sync writes every movie, and each write maintains every
-- index on movies (20,000 movies spent 33-41 µs of PostgreSQL CPU each, most of it on ten
-- indexes). Keep only what a query reads:
--
-- * movies_connector_status and movies_connector_monitored served no query: nothing filters
--   movies by the app's status, and monitored is read only together with has_file (the gap
--   and missing filters), which the partial indexes below serve.
-- * The gap and upgrade lookups read only the movies without a file, or with a file below
--   its cutoff: partial indexes on the connector hold just those rows and serve the same
--   scans (discovery's candidates, the content browser's missing and upgrade filters).
--
-- Measured on 10,000 movies: 24-28 µs of PostgreSQL CPU per movie written, from 33-41.
DROP INDEX IF EXISTS movies_connector_status;
DROP INDEX IF EXISTS movies_connector_monitored;

DROP INDEX IF EXISTS movies_gap;
CREATE INDEX movies_gap ON movies (connector_id) WHERE NOT has_file;

DROP INDEX IF EXISTS movies_upgrade;
CREATE INDEX movies_upgrade ON movies (connector_id)
    WHERE has_file AND quality_cutoff_not_met;
