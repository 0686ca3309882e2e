-- The content mirror: each *arr library as the sync service last saw it. Written only by
-- the sync service. Every row has a surrogate id (what the search registry points at) and
-- is unique by (connector_id, arr_id), the *arr app's own id; deleting a connector removes
-- its mirror, and deleting a series removes its seasons and episodes.

CREATE TABLE series (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector_id         integer     NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    arr_id               integer     NOT NULL,
    tvdb_id              integer,
    imdb_id              text,
    title                text        NOT NULL DEFAULT '',
    sort_title           text,
    status               text,
    series_type          text,
    year                 integer,
    monitored            boolean     NOT NULL DEFAULT false,
    quality_profile_id   integer,
    added                timestamptz,
    first_aired          timestamptz,
    previous_airing      timestamptz,
    next_airing          timestamptz,
    season_count         integer     NOT NULL DEFAULT 0,
    episode_count        integer     NOT NULL DEFAULT 0,
    episode_file_count   integer     NOT NULL DEFAULT 0,
    total_episode_count  integer     NOT NULL DEFAULT 0,
    size_on_disk         bigint      NOT NULL DEFAULT 0,
    -- Digest of the statistics the episodes were last fetched under: an incremental sync
    -- re-fetches a series' episodes only when the app's statistics digest differs. Set
    -- after the episodes are written, so a sync killed in between fetches them again.
    episodes_fingerprint text,
    first_seen_at        timestamptz NOT NULL DEFAULT now(),
    synced_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (connector_id, arr_id)
);
CREATE INDEX series_title_prefix ON series (lower(title) text_pattern_ops);
CREATE INDEX series_connector_status ON series (connector_id, status);
CREATE INDEX series_connector_monitored ON series (connector_id, monitored);

CREATE TABLE seasons (
    connector_id         integer     NOT NULL,
    series_arr_id        integer     NOT NULL,
    season_number        integer     NOT NULL,
    monitored            boolean     NOT NULL DEFAULT false,
    episode_count        integer     NOT NULL DEFAULT 0,
    episode_file_count   integer     NOT NULL DEFAULT 0,
    total_episode_count  integer     NOT NULL DEFAULT 0,
    size_on_disk         bigint      NOT NULL DEFAULT 0,
    previous_airing      timestamptz,
    next_airing          timestamptz,
    -- Every episode has aired (nothing announced later): a season pack can be searched.
    fully_aired          boolean     NOT NULL DEFAULT false,
    -- Some episodes aired, more are still to come.
    airing               boolean     NOT NULL DEFAULT false,
    synced_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connector_id, series_arr_id, season_number),
    FOREIGN KEY (connector_id, series_arr_id)
        REFERENCES series (connector_id, arr_id) ON DELETE CASCADE
);

CREATE TABLE episodes (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector_id            integer     NOT NULL,
    arr_id                  integer     NOT NULL,
    series_arr_id           integer     NOT NULL,
    season_number           integer     NOT NULL,
    episode_number          integer,
    absolute_episode_number integer,
    title                   text,
    air_date_utc            timestamptz,
    monitored               boolean     NOT NULL DEFAULT false,
    has_file                boolean     NOT NULL DEFAULT false,
    episode_file_id         integer,
    -- The file's full QualityModel ({quality: {...}, revision: {...}}), as the app sent it.
    quality                 jsonb,
    quality_cutoff_not_met  boolean     NOT NULL DEFAULT false,
    file_size               bigint,
    last_search_time        timestamptz,
    first_seen_at           timestamptz NOT NULL DEFAULT now(),
    synced_at               timestamptz NOT NULL DEFAULT now(),
    UNIQUE (connector_id, arr_id),
    FOREIGN KEY (connector_id, series_arr_id)
        REFERENCES series (connector_id, arr_id) ON DELETE CASCADE
);
CREATE INDEX episodes_series ON episodes (connector_id, series_arr_id, season_number);
CREATE INDEX episodes_gap ON episodes (connector_id, has_file);
CREATE INDEX episodes_upgrade ON episodes (connector_id, quality_cutoff_not_met);
CREATE INDEX episodes_title_prefix ON episodes (lower(title) text_pattern_ops);

CREATE TABLE movies (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector_id            integer     NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    arr_id                  integer     NOT NULL,
    tmdb_id                 integer,
    imdb_id                 text,
    foreign_id              text,
    title                   text        NOT NULL DEFAULT '',
    sort_title              text,
    year                    integer,
    status                  text,
    monitored               boolean     NOT NULL DEFAULT false,
    is_available            boolean     NOT NULL DEFAULT false,
    quality_profile_id      integer,
    has_file                boolean     NOT NULL DEFAULT false,
    movie_file_id           integer,
    quality                 jsonb,
    quality_cutoff_not_met  boolean     NOT NULL DEFAULT false,
    file_size               bigint,
    last_search_time        timestamptz,
    added                   timestamptz,
    in_cinemas              timestamptz,
    physical_release        timestamptz,
    digital_release         timestamptz,
    -- Whisparr Eros scenes: one release date.
    release_date            timestamptz,
    first_seen_at           timestamptz NOT NULL DEFAULT now(),
    synced_at               timestamptz NOT NULL DEFAULT now(),
    UNIQUE (connector_id, arr_id)
);
CREATE INDEX movies_gap ON movies (connector_id, has_file);
CREATE INDEX movies_upgrade ON movies (connector_id, quality_cutoff_not_met);
CREATE INDEX movies_title_prefix ON movies (lower(title) text_pattern_ops);
CREATE INDEX movies_connector_status ON movies (connector_id, status);
CREATE INDEX movies_connector_monitored ON movies (connector_id, monitored);

-- Substring title search for the content browser when pg_trgm can be had; without it the
-- lower(title) text_pattern_ops indexes above still serve prefix search.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS pg_trgm;
            CREATE INDEX series_title_trgm ON series USING gin (lower(title) gin_trgm_ops);
            CREATE INDEX movies_title_trgm ON movies USING gin (lower(title) gin_trgm_ops);
        EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN
            RAISE NOTICE 'pg_trgm unavailable; title search uses prefix indexes only';
        END;
    END IF;
END
$$;
