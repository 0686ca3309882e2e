-- Format-score upgrades (quality cutoff met, custom-format score below the profile's
-- cutoff score) are counted apart from quality upgrades.
ALTER TABLE discovery_runs
    ADD COLUMN formats_found   integer NOT NULL DEFAULT 0,
    ADD COLUMN formats_new     integer NOT NULL DEFAULT 0,
    ADD COLUMN formats_removed integer NOT NULL DEFAULT 0;
