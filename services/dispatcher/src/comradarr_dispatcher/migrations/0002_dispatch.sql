-- The dispatcher's commands: one row per *arr search command, from the moment a batch is
-- claimed ('sending') through the app's command id ('searching', persisted before polling,
-- so a restarted dispatcher polls instead of sending again) to its end ('done', 'failed',
-- 'rate_limited', 'abandoned').
CREATE TABLE dispatch_commands (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector_id    integer     NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    command_name    text        NOT NULL
                    CHECK (command_name IN ('EpisodeSearch', 'SeasonSearch', 'MoviesSearch')),
    series_arr_id   integer,
    season_number   integer,
    -- The *arr ids searched (episode or movie ids) and the registry entries they stand for.
    arr_ids         integer[]   NOT NULL,
    registry_ids    bigint[]    NOT NULL,
    status          text        NOT NULL DEFAULT 'sending'
                    CHECK (status IN ('sending', 'searching', 'done', 'failed', 'rate_limited',
                                      'abandoned')),
    command_id      integer,
    -- The replica polling it; another replica takes over once the lease lapses.
    owner           text,
    lease_until     timestamptz,
    correlation_id  text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    -- When the app queued the command, by the app's own clock (history is read from there).
    app_queued_at   timestamptz,
    ended_at        timestamptz,
    found           integer,
    message         text,
    response_ms     integer
);
CREATE INDEX dispatch_commands_active ON dispatch_commands (connector_id, series_arr_id)
    WHERE status IN ('sending', 'searching');
CREATE INDEX dispatch_commands_lease ON dispatch_commands (lease_until)
    WHERE status IN ('sending', 'searching');
CREATE INDEX dispatch_commands_ended ON dispatch_commands (ended_at);

-- A season pack that failed or found nothing: that season goes by episode searches next.
CREATE TABLE season_pack_fallbacks (
    connector_id   integer     NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    series_arr_id  integer     NOT NULL,
    season_number  integer     NOT NULL,
    failed_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connector_id, series_arr_id, season_number)
);

-- What each search history row adds beyond the mirror's columns.
ALTER TABLE search_history
    ADD COLUMN dispatch_id  bigint,
    ADD COLUMN message      text,
    ADD COLUMN response_ms  integer,
    ADD COLUMN batch_size   integer;
CREATE INDEX search_history_started ON search_history (started_at);

-- Pruned history, kept as daily counts.
CREATE TABLE search_history_daily (
    day           date    NOT NULL,
    connector_id  integer NOT NULL,
    command_name  text    NOT NULL DEFAULT '',
    search_type   text    NOT NULL,
    outcome       text    NOT NULL,
    count         bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (day, connector_id, command_name, search_type, outcome)
);

-- Why an item was queued by hand, and by whom (the gateway's bulk "search now").
ALTER TABLE queue_state ADD COLUMN reason text;
