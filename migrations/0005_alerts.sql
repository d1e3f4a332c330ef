-- Alerts: one row per rule and series each time its condition starts holding, moving through
-- pending → firing → resolved (or pending → inactive), with every transition kept.

CREATE TABLE alerts (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule_id            BIGINT      REFERENCES alert_rules (id) ON DELETE CASCADE,
    -- Of the labels without `severity`: the same alert across severity changes.
    fingerprint        UUID        NOT NULL,
    labels             JSONB       NOT NULL,
    annotations        JSONB       NOT NULL DEFAULT '{}',
    state              TEXT        NOT NULL CHECK (state IN ('inactive', 'pending', 'firing', 'resolved')),
    severity           TEXT        NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    value              DOUBLE PRECISION,
    active_at          TIMESTAMPTZ NOT NULL,
    fired_at           TIMESTAMPTZ,
    resolved_at        TIMESTAMPTZ,
    last_true_at       TIMESTAMPTZ NOT NULL,
    keep_firing_since  TIMESTAMPTZ,
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- At most one live alert per rule and series.
CREATE UNIQUE INDEX alerts_live_key ON alerts (rule_id, fingerprint)
    WHERE state IN ('pending', 'firing');
CREATE INDEX alerts_state_idx ON alerts (state, severity);
CREATE INDEX alerts_rule_idx ON alerts (rule_id, active_at DESC);

CREATE TABLE alert_history (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id      BIGINT      NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    at            TIMESTAMPTZ NOT NULL,
    from_state    TEXT        NOT NULL,
    to_state      TEXT        NOT NULL,
    from_severity TEXT,
    severity      TEXT        NOT NULL,
    value         DOUBLE PRECISION
);

CREATE INDEX alert_history_alert_idx ON alert_history (alert_id, at);
