-- Series whose episodes the app answered 404 for during the run (deleted between the list
-- and the request): skipped and counted, the sync went on.
ALTER TABLE sync_runs ADD COLUMN series_skipped integer NOT NULL DEFAULT 0;
