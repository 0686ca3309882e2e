-- How far a running sync has got (records fetched, of how many when known), written at the
-- progress interval, so the dashboard can show a running sweep's progress.
ALTER TABLE sync_runs
    ADD COLUMN progress_fetched integer,
    ADD COLUMN progress_total   integer;
CREATE INDEX sync_runs_running ON sync_runs (connector_id) WHERE outcome = 'running';
