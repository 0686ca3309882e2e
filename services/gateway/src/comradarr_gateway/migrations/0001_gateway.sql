-- The one local administrator. `singleton` makes a second row impossible, so concurrent
-- first-boot setup requests cannot create two owners (exactly one INSERT wins).
CREATE TABLE users (
    id                  integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    singleton           boolean     NOT NULL DEFAULT true UNIQUE CHECK (singleton),
    username            text        NOT NULL,
    password_hash       text        NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    created_at          timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now()
);

-- Browser sessions. Only the SHA-256 of the session token is stored; a database dump
-- yields no usable cookie.
CREATE TABLE sessions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash    bytea       NOT NULL UNIQUE,
    user_id       integer     NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token    text        NOT NULL,
    created_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    client_ip     text        NOT NULL DEFAULT '',
    user_agent    text        NOT NULL DEFAULT ''
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Failed logins, counted per username (existing or not) and per real client address.
CREATE TABLE login_failures (
    kind          text        NOT NULL CHECK (kind IN ('user', 'ip')),
    subject       text        NOT NULL,
    failures      integer     NOT NULL DEFAULT 0,
    first_failed_at timestamptz NOT NULL,
    locked_until  timestamptz,
    PRIMARY KEY (kind, subject)
);

-- API keys: only the SHA-256 of the 32-byte random token is kept.
CREATE TABLE api_keys (
    id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    description   text        NOT NULL,
    scope         text        NOT NULL CHECK (scope IN ('read', 'full')),
    token_hash    bytea       NOT NULL UNIQUE,
    prefix        text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz
);

CREATE TABLE api_key_usage (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    api_key_id    integer     NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    method        text        NOT NULL,
    endpoint      text        NOT NULL,
    used_at       timestamptz NOT NULL
);
CREATE INDEX api_key_usage_by_key ON api_key_usage (api_key_id, used_at DESC);

-- Application settings the gateway owns (defaults live in code; only changes are stored).
CREATE TABLE settings (
    key           text        PRIMARY KEY,
    value         jsonb       NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
