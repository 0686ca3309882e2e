-- Events folded into hourly buckets per connector and metric.
CREATE TABLE analytics_hourly (
    bucket       timestamptz NOT NULL,
    connector_id integer     NOT NULL,
    metric       text        NOT NULL,
    value        bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket, connector_id, metric)
);
