-- Throttle profiles (the gateway writes custom ones; the presets are seeded here and read
-- only) and the per-connector counters every dispatcher replica shares. A connector's
-- connectors.throttle_profile_id points here; NULL means the default profile (Moderate).
CREATE TABLE throttle_profiles (
    id                           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                         text        NOT NULL,
    requests_per_minute          double precision NOT NULL CHECK (requests_per_minute > 0 AND requests_per_minute <= 600),
    batch_size                   integer     NOT NULL CHECK (batch_size BETWEEN 1 AND 10),
    cooldown_base_seconds        double precision NOT NULL CHECK (cooldown_base_seconds > 0),
    cooldown_factor              double precision NOT NULL CHECK (cooldown_factor >= 1),
    cooldown_max_seconds         double precision NOT NULL CHECK (cooldown_max_seconds >= cooldown_base_seconds),
    max_attempts                 integer     NOT NULL CHECK (max_attempts >= 1),
    daily_budget                 integer     NOT NULL CHECK (daily_budget >= 1),
    budget_reset_time            time        NOT NULL DEFAULT '00:00',
    budget_period_hours          integer     NOT NULL DEFAULT 24
                                 CHECK (budget_period_hours IN (1, 2, 3, 4, 6, 8, 12, 24)),
    timezone                     text        NOT NULL DEFAULT 'UTC',
    max_concurrent_per_connector integer     NOT NULL CHECK (max_concurrent_per_connector >= 1),
    max_concurrent_per_series    integer     NOT NULL CHECK (max_concurrent_per_series >= 1),
    rate_limit_cooldown_seconds  double precision NOT NULL CHECK (rate_limit_cooldown_seconds > 0),
    is_preset                    boolean     NOT NULL DEFAULT false,
    is_default                   boolean     NOT NULL DEFAULT false,
    created_at                   timestamptz NOT NULL DEFAULT now(),
    updated_at                   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX throttle_profiles_name ON throttle_profiles (lower(name));
-- At most one default: a connector without a profile uses it.
CREATE UNIQUE INDEX throttle_profiles_default ON throttle_profiles (is_default) WHERE is_default;

-- The presets; the numbers match comradarr_throttle._presets (a unit test compares them).
INSERT INTO throttle_profiles (name, requests_per_minute, batch_size, cooldown_base_seconds,
    cooldown_factor, cooldown_max_seconds, max_attempts, daily_budget, max_concurrent_per_connector,
    max_concurrent_per_series, rate_limit_cooldown_seconds, is_preset, is_default)
VALUES
    ('Conservative', 2, 5, 21600, 2, 604800, 5, 100, 1, 1, 7200, true, false),
    ('Moderate', 5, 10, 7200, 2, 259200, 8, 500, 2, 1, 3600, true, true),
    ('Aggressive', 15, 10, 1800, 2, 86400, 12, 2000, 4, 2, 900, true, false);

-- Shared counters, one row per connector, locked with SELECT ... FOR UPDATE by whichever
-- dispatcher replica sends next, so replicas together stay within the profile.
CREATE TABLE throttle_state (
    connector_id   integer     PRIMARY KEY REFERENCES connectors (id) ON DELETE CASCADE,
    -- The earliest time the next command may go out (request spacing).
    next_slot_at   timestamptz,
    -- The budget window the used count belongs to; a new window starts from zero.
    window_start   timestamptz,
    window_used    integer     NOT NULL DEFAULT 0,
    -- Set on 429 (Retry-After) or a spent budget; nothing is sent before it.
    paused_until   timestamptz,
    pause_reason   text,
    requests_total bigint      NOT NULL DEFAULT 0,
    rate_limited_total integer NOT NULL DEFAULT 0,
    last_sent_at   timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
