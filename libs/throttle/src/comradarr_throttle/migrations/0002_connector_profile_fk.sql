-- A connector's profile is a real reference: deleting a custom profile returns its
-- connectors to the default profile (NULL), and no id can point at nothing.
UPDATE connectors SET throttle_profile_id = NULL
WHERE throttle_profile_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM throttle_profiles p WHERE p.id = connectors.throttle_profile_id);

ALTER TABLE connectors ADD CONSTRAINT connectors_throttle_profile_fk
    FOREIGN KEY (throttle_profile_id) REFERENCES throttle_profiles (id) ON DELETE SET NULL;
