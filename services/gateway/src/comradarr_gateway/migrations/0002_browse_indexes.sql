-- Indexes for the gateway's content browser and queue view (read paths only; the tables
-- belong to the mirror, which sync, discovery and the dispatcher write). Each one backs an
-- ORDER BY ... LIMIT of a documented sort, so a page never sorts the whole library.

-- Browse by title: lower(title), id in the default collation (the mirror's text_pattern_ops
-- indexes serve prefix LIKE but not ORDER BY).
CREATE INDEX IF NOT EXISTS gw_series_title_order ON series (lower(title), id);
CREATE INDEX IF NOT EXISTS gw_movies_title_order ON movies (lower(title), id);

-- Episodes by air date (NULL dates sort as the epoch, matching the query's coalesce).
CREATE INDEX IF NOT EXISTS gw_episodes_air_order
    ON episodes ((coalesce(air_date_utc, '1970-01-01 00:00:00+00'::timestamptz)), id);

-- The queue across every connector, best first (the dispatcher's own index is per connector).
CREATE INDEX IF NOT EXISTS gw_registry_queue_order
    ON search_registry (priority DESC, id) WHERE state <> 'exhausted';
-- Content filtered by registry state (queued / searching / exhausted).
CREATE INDEX IF NOT EXISTS gw_registry_state ON search_registry (state, content_type);
