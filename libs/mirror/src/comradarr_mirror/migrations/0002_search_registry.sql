-- The search registry: one entry per content item that discovery found wanting (a gap:
-- monitored, aired, no file; or an upgrade: file below the profile's cutoff). Discovery
-- creates entries (state 'pending') and deletes them when the item got its file or met
-- its cutoff; the dispatcher moves them through the states below. Deleting the content row
-- (or the connector) deletes the entry and its history.
--
-- States (dispatcher-owned after creation):
--   pending    eligible for dispatch once next_eligible_at has passed
--   queued     picked for a batch, command not yet sent
--   searching  command sent to the *arr app, polled to its end
--   cooldown   searched without result; next_eligible_at = backoff after last_searched_at
--   exhausted  attempts reached the maximum; not searched again unless reset by a user

CREATE TABLE search_registry (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector_id      integer     NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    content_type      text        NOT NULL CHECK (content_type IN ('episode', 'movie')),
    episode_id        bigint      REFERENCES episodes (id) ON DELETE CASCADE,
    movie_id          bigint      REFERENCES movies (id) ON DELETE CASCADE,
    search_type       text        NOT NULL CHECK (search_type IN ('gap', 'upgrade')),
    state             text        NOT NULL DEFAULT 'pending'
                      CHECK (state IN ('pending', 'queued', 'searching', 'cooldown', 'exhausted')),
    attempts          integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    last_searched_at  timestamptz,
    next_eligible_at  timestamptz NOT NULL DEFAULT now(),
    -- Higher searches first. priority_parts holds the weighted terms that add up to it
    -- ({"age": .., "missing": .., "user": .., "failures": .., "type": ..}) for the UI.
    priority          double precision NOT NULL DEFAULT 0,
    priority_parts    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    -- A user's nudge, -100..100, weighted into priority (NULL = none).
    user_priority     integer     CHECK (user_priority BETWEEN -100 AND 100),
    last_error        text,
    CHECK ((content_type = 'episode') = (episode_id IS NOT NULL)),
    CHECK ((content_type = 'movie') = (movie_id IS NOT NULL))
);
-- One entry per item: moving between gap and upgrade changes search_type in place.
CREATE UNIQUE INDEX search_registry_episode ON search_registry (episode_id)
    WHERE episode_id IS NOT NULL;
CREATE UNIQUE INDEX search_registry_movie ON search_registry (movie_id)
    WHERE movie_id IS NOT NULL;
-- The dispatcher's pick: eligible entries of a connector, best first.
CREATE INDEX search_registry_eligible
    ON search_registry (connector_id, priority DESC, id)
    WHERE state IN ('pending', 'cooldown');
CREATE INDEX search_registry_state ON search_registry (connector_id, state, next_eligible_at);
CREATE INDEX search_registry_type ON search_registry (connector_id, search_type);

CREATE TABLE search_history (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    registry_id   bigint      NOT NULL REFERENCES search_registry (id) ON DELETE CASCADE,
    connector_id  integer     NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    -- The *arr command id and name (EpisodeSearch, SeasonSearch, MoviesSearch).
    command_id    integer,
    command_name  text,
    search_type   text        NOT NULL CHECK (search_type IN ('gap', 'upgrade')),
    -- dispatched, found, not_found, failed, timeout, cancelled (written by the dispatcher).
    outcome       text        NOT NULL,
    error         text,
    started_at    timestamptz NOT NULL DEFAULT now(),
    ended_at      timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX search_history_registry ON search_history (registry_id, started_at DESC);
CREATE INDEX search_history_connector ON search_history (connector_id, started_at DESC);
CREATE INDEX search_history_command ON search_history (connector_id, command_id);
