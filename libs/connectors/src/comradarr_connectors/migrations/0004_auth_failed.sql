-- A connector whose app refused its API key (401/403) has its own status: the UI asks to
-- re-enter the key, the notifier says so, nothing is dispatched and scheduled sweeps wait.
ALTER TABLE connectors DROP CONSTRAINT connectors_health_status_check;
ALTER TABLE connectors ADD CONSTRAINT connectors_health_status_check
    CHECK (health_status IN ('unknown', 'healthy', 'degraded', 'unhealthy', 'offline',
                             'auth_failed'));
