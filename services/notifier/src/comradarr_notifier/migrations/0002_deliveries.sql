-- The first notifier only recorded events (nothing was ever sent); its log is replaced by
-- the delivery log below.
DROP TABLE notification_log;

-- The delivery log: one row per (event, channel) routed, and what became of it. The notifier
-- is its only writer. A row waits ('pending') until due_at: at once, at the end of its
-- channel's digest window, or after a retry's backoff; 'held' rows wait for quiet hours to
-- end and go out in one summary. Rows in a digest or a summary are sent in one message
-- (batch_size says how many it held).
CREATE TABLE notification_deliveries (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id    integer     REFERENCES notification_channels (id) ON DELETE SET NULL,
    channel_name  text        NOT NULL,
    event_kind    text        NOT NULL,
    message_id    text        NOT NULL,
    connector_id  integer,
    title         text        NOT NULL,
    body          text        NOT NULL,
    immediate     boolean     NOT NULL DEFAULT false,
    status        text        NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'held', 'sent', 'failed', 'dropped')),
    due_at        timestamptz NOT NULL,
    attempts      integer     NOT NULL DEFAULT 0,
    batch_size    integer,
    error         text,
    created_at    timestamptz NOT NULL,
    sent_at       timestamptz,
    UNIQUE (message_id, channel_id)
);
CREATE INDEX notification_deliveries_due ON notification_deliveries (due_at)
    WHERE status IN ('pending', 'held');
CREATE INDEX notification_deliveries_created ON notification_deliveries (created_at DESC);
CREATE INDEX notification_deliveries_channel
    ON notification_deliveries (channel_id, created_at DESC);

-- How each channel's sends went lately (the UI shows a channel failing repeatedly).
CREATE TABLE notification_channel_health (
    channel_id            integer     PRIMARY KEY
                          REFERENCES notification_channels (id) ON DELETE CASCADE,
    consecutive_failures  integer     NOT NULL DEFAULT 0,
    last_error            text,
    last_failure_at       timestamptz,
    last_success_at       timestamptz
);
