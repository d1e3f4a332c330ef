-- Metrics: series, samples, metric metadata, rollups and scrape targets.
--
-- Samples are one row per (series, timestamp, value), written with binary COPY. On plain
-- PostgreSQL they are range-partitioned by UTC day (partitions are created ahead by a
-- background job, and retention drops whole partitions). When the timescaledb extension is
-- preloaded, the same tables become hypertables with compression and retention policies,
-- and the rollups become continuous aggregates; the columns, and so every query, are the same.

-- One row per distinct label set.
CREATE TABLE metric_series (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- First 128 bits of SHA-256 over the canonical label set (metric name included): the
    -- series' identity, looked up on every write through an in-memory cache.
    fingerprint UUID        NOT NULL UNIQUE,
    metric      TEXT        NOT NULL,
    -- Every label except __name__, as a JSON object of strings.
    labels      JSONB       NOT NULL,
    first_seen  TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Refreshed at most once an hour per series, so writes stay cheap.
    last_seen   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX metric_series_metric_idx ON metric_series (metric);
CREATE INDEX metric_series_last_seen_idx ON metric_series (last_seen);

-- TYPE, UNIT and HELP of a metric family, as remote_write, OTLP and scrapes report them.
CREATE TABLE metric_metadata (
    metric     TEXT PRIMARY KEY,
    type       TEXT        NOT NULL DEFAULT 'unknown',
    unit       TEXT        NOT NULL DEFAULT '',
    help       TEXT        NOT NULL DEFAULT '',
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- How far the rollup worker has folded samples into each resolution (plain PostgreSQL only).
CREATE TABLE metric_rollup_progress (
    resolution   TEXT PRIMARY KEY CHECK (resolution IN ('1m', '1h')),
    rolled_up_to TIMESTAMPTZ NOT NULL
);

DO $$
DECLARE
    timescale BOOLEAN := EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
        AND current_setting('shared_preload_libraries', true) LIKE '%timescaledb%';
BEGIN
    IF timescale THEN
        CREATE EXTENSION IF NOT EXISTS timescaledb;

        CREATE TABLE metric_samples (
            series_id BIGINT           NOT NULL,
            ts        TIMESTAMPTZ      NOT NULL,
            value     DOUBLE PRECISION NOT NULL
        );
        PERFORM create_hypertable('metric_samples', 'ts', chunk_time_interval => interval '1 day');
        CREATE INDEX metric_samples_series_ts_idx ON metric_samples (series_id, ts);
        ALTER TABLE metric_samples SET (
            timescaledb.compress,
            timescaledb.compress_segmentby = 'series_id',
            timescaledb.compress_orderby = 'ts'
        );
        PERFORM add_compression_policy('metric_samples', interval '2 days');
        PERFORM add_retention_policy('metric_samples', interval '30 days');

        -- Rollups as continuous aggregates. Same columns as the plain tables below.
        EXECUTE $v$
            CREATE MATERIALIZED VIEW metric_rollup_1m WITH (timescaledb.continuous) AS
            SELECT series_id, time_bucket(interval '1 minute', ts) AS bucket,
                   count(*) AS count, sum(value) AS sum, min(value) AS min, max(value) AS max,
                   min(ts) AS first_ts, first(value, ts) AS first,
                   max(ts) AS last_ts, last(value, ts) AS last,
                   count(*) FILTER (WHERE value = 'NaN') AS nan_count
            FROM metric_samples GROUP BY series_id, time_bucket(interval '1 minute', ts)
            WITH NO DATA $v$;
        PERFORM add_continuous_aggregate_policy('metric_rollup_1m',
            start_offset => interval '3 hours', end_offset => interval '1 hour 5 minutes',
            schedule_interval => interval '1 minute');
        EXECUTE $v$
            CREATE MATERIALIZED VIEW metric_rollup_1h WITH (timescaledb.continuous) AS
            SELECT series_id, time_bucket(interval '1 hour', ts) AS bucket,
                   count(*) AS count, sum(value) AS sum, min(value) AS min, max(value) AS max,
                   min(ts) AS first_ts, first(value, ts) AS first,
                   max(ts) AS last_ts, last(value, ts) AS last,
                   count(*) FILTER (WHERE value = 'NaN') AS nan_count
            FROM metric_samples GROUP BY series_id, time_bucket(interval '1 hour', ts)
            WITH NO DATA $v$;
        PERFORM add_continuous_aggregate_policy('metric_rollup_1h',
            start_offset => interval '1 day', end_offset => interval '2 hours',
            schedule_interval => interval '10 minutes');
    ELSE
        CREATE TABLE metric_samples (
            series_id BIGINT           NOT NULL,
            ts        TIMESTAMPTZ      NOT NULL,
            value     DOUBLE PRECISION NOT NULL
        ) PARTITION BY RANGE (ts);
        -- Inherited by every partition.
        CREATE INDEX metric_samples_series_ts_idx ON metric_samples (series_id, ts);

        -- A rollup row summarises one series over one bucket. Besides min/max/sum/count/last
        -- it keeps the first sample and both timestamps, so that the query engine can prove a
        -- rollup gives the same answer as the raw samples, and nan_count, because NaN makes
        -- min/max/sum disagree between SQL and PromQL (the engine then reads raw samples).
        CREATE TABLE metric_rollup_1m (
            series_id BIGINT           NOT NULL,
            bucket    TIMESTAMPTZ      NOT NULL,
            count     BIGINT           NOT NULL,
            sum       DOUBLE PRECISION NOT NULL,
            min       DOUBLE PRECISION NOT NULL,
            max       DOUBLE PRECISION NOT NULL,
            first_ts  TIMESTAMPTZ      NOT NULL,
            first     DOUBLE PRECISION NOT NULL,
            last_ts   TIMESTAMPTZ      NOT NULL,
            last      DOUBLE PRECISION NOT NULL,
            nan_count BIGINT           NOT NULL,
            PRIMARY KEY (series_id, bucket)
        ) PARTITION BY RANGE (bucket);

        CREATE TABLE metric_rollup_1h (LIKE metric_rollup_1m INCLUDING ALL) PARTITION BY RANGE (bucket);
    END IF;
END
$$;

-- Prometheus-style scrape targets: a worker fetches each URL's text exposition every interval.
CREATE TABLE scrape_targets (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job              TEXT        NOT NULL CHECK (length(job) BETWEEN 1 AND 100),
    url              TEXT        NOT NULL,
    interval_seconds INTEGER     NOT NULL CHECK (interval_seconds BETWEEN 1 AND 86400),
    timeout_seconds  INTEGER     NOT NULL CHECK (timeout_seconds >= 1),
    -- Extra labels added to every scraped sample.
    labels           JSONB       NOT NULL DEFAULT '{}',
    enabled          BOOLEAN     NOT NULL DEFAULT true,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Scheduling: a replica claims due targets with FOR UPDATE SKIP LOCKED and moves this on.
    next_scrape_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_scrape_at   TIMESTAMPTZ,
    last_duration_ms INTEGER,
    last_error       TEXT,
    -- 'unknown' until the first scrape, then 'up' or 'down'.
    health           TEXT        NOT NULL DEFAULT 'unknown' CHECK (health IN ('unknown', 'up', 'down')),
    last_sample_count INTEGER,
    CHECK (timeout_seconds <= interval_seconds)
);

CREATE UNIQUE INDEX scrape_targets_url_key ON scrape_targets (url);
CREATE INDEX scrape_targets_due_idx ON scrape_targets (next_scrape_at) WHERE enabled;
