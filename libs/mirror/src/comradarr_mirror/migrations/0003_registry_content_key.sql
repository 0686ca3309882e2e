-- Discovery matches entries to candidates on one key for both kinds (episode id, or minus
-- the movie id); indexing that expression lets its anti-joins use the index.
CREATE INDEX search_registry_content_key
    ON search_registry (connector_id, (coalesce(episode_id, -movie_id)));
