-- Per-type counts of a discovery pass.
ALTER TABLE discovery_runs
    ADD COLUMN gaps_new         integer NOT NULL DEFAULT 0,
    ADD COLUMN gaps_removed     integer NOT NULL DEFAULT 0,
    ADD COLUMN upgrades_new     integer NOT NULL DEFAULT 0,
    ADD COLUMN upgrades_removed integer NOT NULL DEFAULT 0,
    ADD COLUMN type_changed     integer NOT NULL DEFAULT 0,
    ADD COLUMN duration_ms      integer NOT NULL DEFAULT 0;
