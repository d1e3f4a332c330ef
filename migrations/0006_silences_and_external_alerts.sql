-- Silences (Alertmanager's model), and alerts sent by other systems through the
-- Alertmanager-compatible API (no rule: they resolve at `ends_at`).

CREATE TABLE silences (
    id          UUID        PRIMARY KEY,
    -- [{"name", "value", "op"}] with op one of = != =~ !~; all must match.
    matchers    JSONB       NOT NULL,
    starts_at   TIMESTAMPTZ NOT NULL,
    ends_at     TIMESTAMPTZ NOT NULL,
    created_by  TEXT        NOT NULL,
    comment     TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);

CREATE INDEX silences_ends_idx ON silences (ends_at);

ALTER TABLE alerts
    -- For alerts from the Alertmanager API: when they stop firing unless sent again.
    ADD COLUMN ends_at       TIMESTAMPTZ,
    ADD COLUMN generator_url TEXT NOT NULL DEFAULT '';

-- One live external alert per label set.
CREATE UNIQUE INDEX alerts_external_live_key ON alerts (fingerprint)
    WHERE rule_id IS NULL AND state IN ('pending', 'firing');
CREATE INDEX alerts_external_ends_idx ON alerts (ends_at) WHERE rule_id IS NULL AND state = 'firing';
