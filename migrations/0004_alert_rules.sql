-- Alert rules: a PromQL query compared with a warning and a critical threshold (either may be
-- absent, not both), evaluated on a schedule by one replica at a time.

CREATE TABLE alert_rules (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- The folder/group shown in the UI, as Prometheus rule groups.
    rule_group          TEXT        NOT NULL CHECK (length(rule_group) BETWEEN 1 AND 200),
    description         TEXT        NOT NULL DEFAULT '',
    query               TEXT        NOT NULL,
    comparison          TEXT        NOT NULL CHECK (comparison IN ('>', '>=', '<', '<=', '==', '!=')),
    warning_threshold   DOUBLE PRECISION,
    critical_threshold  DOUBLE PRECISION,
    for_ms              BIGINT      NOT NULL CHECK (for_ms >= 0),
    interval_ms         BIGINT      NOT NULL CHECK (interval_ms >= 1000),
    keep_firing_for_ms  BIGINT      NOT NULL CHECK (keep_firing_for_ms >= 0),
    no_data_state       TEXT        NOT NULL CHECK (no_data_state IN ('ok', 'alerting', 'keep')),
    error_state         TEXT        NOT NULL CHECK (error_state IN ('ok', 'alerting', 'keep')),
    labels              JSONB       NOT NULL DEFAULT '{}',
    -- summary, description, runbook_url (templates).
    annotations         JSONB       NOT NULL DEFAULT '{}',
    enabled             BOOLEAN     NOT NULL DEFAULT true,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by          BIGINT      REFERENCES users (id) ON DELETE SET NULL,
    -- Scheduling: a replica claims due rules with FOR UPDATE SKIP LOCKED and moves this on.
    next_eval_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_eval_at        TIMESTAMPTZ,
    last_eval_ms        INTEGER,
    last_error          TEXT,
    CHECK (warning_threshold IS NOT NULL OR critical_threshold IS NOT NULL)
);

CREATE UNIQUE INDEX alert_rules_group_name_key ON alert_rules (rule_group, lower(name));
CREATE INDEX alert_rules_due_idx ON alert_rules (next_eval_at) WHERE enabled;
