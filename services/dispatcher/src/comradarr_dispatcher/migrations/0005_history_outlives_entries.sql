-- Search history is the record of what was searched: it outlives the registry entry that
-- produced it (an item found loses its entry at the next discovery pass; its searches stay)
-- and goes only by retention (prune_history). Each row names its content itself, so it
-- still says what was searched when the entry is gone. No foreign key on the content ids:
-- a sync deleting thousands of episodes must not scan the history for each (a title join
-- finds nothing for content the app no longer has).
ALTER TABLE search_history
    ADD COLUMN content_type text CHECK (content_type IN ('episode', 'movie')),
    ADD COLUMN episode_id   bigint,
    ADD COLUMN movie_id     bigint;

UPDATE search_history h
SET content_type = r.content_type, episode_id = r.episode_id, movie_id = r.movie_id
FROM search_registry r WHERE r.id = h.registry_id;

ALTER TABLE search_history ALTER COLUMN registry_id DROP NOT NULL;
ALTER TABLE search_history DROP CONSTRAINT search_history_registry_id_fkey;
ALTER TABLE search_history ADD CONSTRAINT search_history_registry_id_fkey
    FOREIGN KEY (registry_id) REFERENCES search_registry (id) ON DELETE SET NULL;
