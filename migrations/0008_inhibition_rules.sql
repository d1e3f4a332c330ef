-- Inhibition rules (Alertmanager's): while an alert matching the source matchers fires, alerts
-- matching the target matchers with the same values of the `equal` labels notify nobody.

CREATE TABLE inhibition_rules (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    source_matchers  JSONB       NOT NULL,
    target_matchers  JSONB       NOT NULL,
    equal            TEXT[]      NOT NULL DEFAULT '{}',
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
