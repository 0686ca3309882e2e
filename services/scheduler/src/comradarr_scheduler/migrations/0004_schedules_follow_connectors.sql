-- A connector's schedules go with it: a schedule naming a missing connector could only ever
-- be skipped. Schedules left behind by connectors deleted before this migration go now.
DELETE FROM schedules s WHERE NOT EXISTS (SELECT 1 FROM connectors c WHERE c.id = s.connector_id);
ALTER TABLE schedules
    ADD CONSTRAINT schedules_connector_fk FOREIGN KEY (connector_id)
    REFERENCES connectors (id) ON DELETE CASCADE;
CREATE INDEX schedules_connector ON schedules (connector_id);
