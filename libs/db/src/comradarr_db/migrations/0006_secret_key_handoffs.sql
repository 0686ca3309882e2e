-- A SECRET_KEY rotation's new key, encrypted under the key it replaces. Running services
-- (and any restarted with the old key before the deployment is updated) decrypt it with
-- the key they hold and switch without a restart. 'prepared': held for decrypting while
-- the secrets are re-encrypted; 'active': every secret is under it, new ones too.
-- Deleted when it expires (maintenance) or by `comradarr secrets forget-old`.
CREATE TABLE secret_key_handoffs (
    key_id          bytea       PRIMARY KEY,
    previous_key_id bytea       NOT NULL,
    new_key_enc     bytea       NOT NULL,
    state           text        NOT NULL DEFAULT 'prepared'
                    CHECK (state IN ('prepared', 'active')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL
);
