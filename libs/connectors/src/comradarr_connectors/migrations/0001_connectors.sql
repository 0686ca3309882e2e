-- The *arr applications Comradarr talks to. The gateway writes definitions; the services
-- that check health write the health columns. The API key is AES-256-GCM ciphertext bound
-- to its row (associated data = table, column, id), never stored or returned in clear.
CREATE TABLE connectors (
    id                 integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type               text        NOT NULL CHECK (type IN ('sonarr', 'radarr', 'whisparr', 'prowlarr')),
    name               text        NOT NULL,
    url                text        NOT NULL,
    api_key_enc        bytea,
    api_key_last4      text        NOT NULL DEFAULT '',
    enabled            boolean     NOT NULL DEFAULT true,
    verify_ssl         boolean     NOT NULL DEFAULT true,
    timeout_seconds    real        NOT NULL DEFAULT 30 CHECK (timeout_seconds > 0 AND timeout_seconds <= 300),
    app_name           text,
    app_version        text,
    api_version        text,
    health_status      text        NOT NULL DEFAULT 'unknown'
                       CHECK (health_status IN ('unknown', 'healthy', 'degraded', 'unhealthy', 'offline')),
    health_messages    jsonb       NOT NULL DEFAULT '[]'::jsonb,
    health_checked_at  timestamptz,
    throttle_profile_id integer,
    paused_until       timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX connectors_name_unique ON connectors (lower(name));

CREATE TABLE connector_health_history (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector_id  integer     NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    status        text        NOT NULL,
    messages      jsonb       NOT NULL DEFAULT '[]'::jsonb,
    checked_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX connector_health_history_by_connector
    ON connector_health_history (connector_id, checked_at DESC);
