-- A schedule's throttle profile was stored and never read (the dispatcher spaces a
-- connector's searches by the connector's profile, whatever sweep queued them). It moves to
-- the connector where the connector had none (the lowest schedule id wins), then goes.
-- (A dangling id is cleared by throttle 0002, which adds the foreign key.)
UPDATE connectors c SET throttle_profile_id = s.throttle_profile_id
FROM (
    SELECT DISTINCT ON (connector_id) connector_id, throttle_profile_id
    FROM schedules WHERE throttle_profile_id IS NOT NULL
    ORDER BY connector_id, id
) s
WHERE s.connector_id = c.id AND c.throttle_profile_id IS NULL;

ALTER TABLE schedules DROP COLUMN throttle_profile_id;
