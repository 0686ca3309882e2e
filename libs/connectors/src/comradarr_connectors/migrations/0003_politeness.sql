-- Politeness per connector (the dispatcher obeys them, the queue explains them):
-- * queue_limit: while the app's download queue (queue/status totalCount) holds at least
--   this many items, its searches wait (NULL: no limit);
-- * search_windows: the time ranges searches may go out in, as
--   [{"days": ["mon", ...], "start": "01:00", "end": "07:00"}] in search_timezone
--   (empty: any time).
ALTER TABLE connectors
    ADD COLUMN queue_limit integer CHECK (queue_limit IS NULL OR queue_limit BETWEEN 1 AND 100000),
    ADD COLUMN search_windows jsonb NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN search_timezone text NOT NULL DEFAULT 'UTC';
