-- Notification channels. The gateway writes them (the API is the only door); the notifier
-- reads them to route and send. The Apprise URL and the form it was built from are one
-- AES-256-GCM ciphertext bound to its row (associated data = table, column, id); only the
-- URL's scheme and last four characters and the form with its secrets masked are in clear.
CREATE TABLE notification_channels (
    id              integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    kind            text        NOT NULL,
    secret_enc      bytea,
    url_scheme      text        NOT NULL DEFAULT '',
    url_last4       text        NOT NULL DEFAULT '',
    fields_masked   jsonb       NOT NULL DEFAULT '{}'::jsonb,
    -- Event kinds this channel takes; empty means every kind.
    events          text[]      NOT NULL DEFAULT '{}',
    enabled         boolean     NOT NULL DEFAULT true,
    -- Events of one kind within this many minutes go out as one message (0 = each at once).
    digest_minutes  integer     NOT NULL DEFAULT 0 CHECK (digest_minutes BETWEEN 0 AND 1440),
    -- Nothing is sent between quiet_start and quiet_end (local times in quiet_timezone).
    quiet_start     time,
    quiet_end       time,
    quiet_timezone  text,
    -- The last "Send test" (the gateway's; sends by the notifier are in its own tables).
    last_test_at    timestamptz,
    last_test_ok    boolean,
    last_test_detail text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((quiet_start IS NULL) = (quiet_end IS NULL)
           AND (quiet_start IS NULL) = (quiet_timezone IS NULL))
);
CREATE UNIQUE INDEX notification_channels_name ON notification_channels (lower(name));
