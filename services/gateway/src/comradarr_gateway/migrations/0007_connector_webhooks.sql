-- Each connector's inbound webhook: the token the *arr app sends (Basic auth password or
-- X-Comradarr-Token), AES-256-GCM bound to its row like every secret, and optionally the
-- header that must carry an HMAC-SHA256 of the raw body keyed by that token. The gateway
-- writes and reads this table.
CREATE TABLE connector_webhooks (
    connector_id      integer     PRIMARY KEY REFERENCES connectors (id) ON DELETE CASCADE,
    token_enc         bytea       NOT NULL,
    token_last4       text        NOT NULL,
    signature_header  text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    last_received_at  timestamptz,
    last_event        text,
    received_count    bigint      NOT NULL DEFAULT 0
);
