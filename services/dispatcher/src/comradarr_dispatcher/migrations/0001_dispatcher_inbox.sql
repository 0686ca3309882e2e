-- Wake-ups the dispatcher received: items queued for a connector.
CREATE TABLE dispatcher_wakeups (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector_id   integer     NOT NULL,
    item_count     integer     NOT NULL,
    message_id     text        NOT NULL UNIQUE,
    correlation_id text        NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now()
);

-- Queue pause state: connector_id 0 is the whole queue.
CREATE TABLE queue_state (
    connector_id integer     PRIMARY KEY,
    paused       boolean     NOT NULL DEFAULT false,
    changed_by   text        NOT NULL,
    changed_at   timestamptz NOT NULL DEFAULT now()
);
