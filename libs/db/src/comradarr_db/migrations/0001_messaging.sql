-- Messages a consumer has finished: a redelivered message finds its row and is skipped.
CREATE TABLE processed_messages (
    consumer     text        NOT NULL,
    message_id   text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);
CREATE INDEX processed_messages_processed_at ON processed_messages (processed_at);

-- Messages that failed on every allowed delivery, kept for a person to look at.
CREATE TABLE dead_letters (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consumer      text        NOT NULL,
    subject       text        NOT NULL,
    message_id    text,
    deliveries    integer     NOT NULL,
    error         text        NOT NULL,
    payload       text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dead_letters_created_at ON dead_letters (created_at);
