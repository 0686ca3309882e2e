-- Grabs and imports the *arr apps reported by webhook, and the searches they marked found
-- (kept so a redelivered report announces the same entries again, and nothing new).
CREATE TABLE webhook_found (
    message_id    text        PRIMARY KEY,
    connector_id  integer     NOT NULL,
    registry_ids  bigint[]    NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_found_received ON webhook_found (received_at);
