-- Every event the notifier considered, and what it did with it.
CREATE TABLE notification_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_type  text        NOT NULL,
    message_id  text        NOT NULL UNIQUE,
    payload     jsonb       NOT NULL,
    status      text        NOT NULL DEFAULT 'recorded',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_log_created ON notification_log (created_at DESC);
