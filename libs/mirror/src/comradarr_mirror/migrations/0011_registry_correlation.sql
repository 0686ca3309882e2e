-- The correlation id of the work that queued an entry (the sweep that discovered it, or the
-- request that queued it by hand): the dispatcher's command for it carries the same id, so
-- one id follows a sweep from the click to the *arr command.
ALTER TABLE search_registry ADD COLUMN correlation_id text;
