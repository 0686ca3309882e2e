-- Upgrades by custom-format score. Sonarr v4+, Radarr and Whisparr score each file by its
-- custom formats (customFormatScore) and keep, per quality profile, the score a file must
-- reach (cutoffFormatScore). A file whose quality meets the cutoff but whose score is below
-- the profile's cutoff score is upgraded by the app, yet neither qualityCutoffNotMet nor
-- wanted/cutoff says so: the mirror keeps both numbers, and such a file becomes a search
-- registry entry of its own kind, 'format'.

ALTER TABLE episodes ADD COLUMN custom_format_score integer;
ALTER TABLE movies ADD COLUMN custom_format_score integer;

-- Each connector's quality profiles as the sync last read them (written by sync only).
CREATE TABLE quality_profiles (
    connector_id              integer     NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    arr_id                    integer     NOT NULL,
    name                      text        NOT NULL,
    upgrade_allowed           boolean     NOT NULL DEFAULT false,
    -- The quality id files must reach.
    cutoff                    integer,
    min_format_score          integer     NOT NULL DEFAULT 0,
    cutoff_format_score       integer     NOT NULL DEFAULT 0,
    -- How much a release must beat a file's score by (Sonarr v4+, Radarr; NULL elsewhere).
    min_upgrade_format_score  integer,
    synced_at                 timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connector_id, arr_id)
);

ALTER TABLE search_registry DROP CONSTRAINT search_registry_search_type_check;
ALTER TABLE search_registry ADD CONSTRAINT search_registry_search_type_check
    CHECK (search_type IN ('gap', 'upgrade', 'format'));
ALTER TABLE search_history DROP CONSTRAINT search_history_search_type_check;
ALTER TABLE search_history ADD CONSTRAINT search_history_search_type_check
    CHECK (search_type IN ('gap', 'upgrade', 'format'));
