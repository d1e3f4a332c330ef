-- Service level objectives (SPEC §9): definitions, their per-minute history, maintenance
-- windows and corrections, and scheduled SLA reports. All of it belongs to the `slo` area.

CREATE TABLE slos (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    service        TEXT        NOT NULL CHECK (length(service) BETWEEN 1 AND 200),
    owner_team_id  BIGINT      REFERENCES teams (id) ON DELETE RESTRICT,
    description    TEXT        NOT NULL DEFAULT '',
    labels         JSONB       NOT NULL DEFAULT '{}',
    -- vigil_shared::slo::Sli and SloWindow, as JSON.
    sli            JSONB       NOT NULL,
    objective      DOUBLE PRECISION NOT NULL CHECK (objective > 0 AND objective < 100),
    slo_window     JSONB       NOT NULL,
    burn_alerts    BOOLEAN     NOT NULL DEFAULT true,
    min_events     DOUBLE PRECISION NOT NULL DEFAULT 20 CHECK (min_events >= 0),
    -- History is complete for every minute before this (NULL: none computed yet).
    history_until  TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by     BIGINT      REFERENCES users (id) ON DELETE SET NULL
);

CREATE UNIQUE INDEX slos_name_key ON slos (lower(name));
CREATE INDEX slos_service_idx ON slos (service);

-- Good and total per minute (the minute starting at `minute`), kept 400 days: a report
-- stays exact after the raw samples are gone. Time-slice SLOs count minutes: total 1, good
-- 0 or 1.
CREATE TABLE slo_minutes (
    slo_id  BIGINT           NOT NULL REFERENCES slos (id) ON DELETE CASCADE,
    minute  TIMESTAMPTZ      NOT NULL,
    good    DOUBLE PRECISION NOT NULL,
    total   DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (slo_id, minute)
);

-- The same summed per hour, so a 30-day status reads 720 rows rather than 43,200.
CREATE TABLE slo_hours (
    slo_id  BIGINT           NOT NULL REFERENCES slos (id) ON DELETE CASCADE,
    hour    TIMESTAMPTZ      NOT NULL,
    good    DOUBLE PRECISION NOT NULL,
    total   DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (slo_id, hour)
);

-- Time not counted: planned maintenance, or a past period a responder marked (correction).
CREATE TABLE maintenance_windows (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        TEXT        NOT NULL CHECK (kind IN ('maintenance', 'correction')),
    reason      TEXT        NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
    -- Global (both NULL), one service, or one SLO.
    service     TEXT,
    slo_id      BIGINT      REFERENCES slos (id) ON DELETE CASCADE,
    -- vigil_shared::slo::MaintenanceSchedule, as JSON.
    schedule    JSONB       NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_by  BIGINT      REFERENCES users (id) ON DELETE SET NULL,
    CHECK (service IS NULL OR slo_id IS NULL)
);

CREATE TABLE report_schedules (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    cadence      TEXT        NOT NULL CHECK (cadence IN ('weekly', 'monthly')),
    time_zone    TEXT        NOT NULL,
    services     TEXT[]      NOT NULL DEFAULT '{}',
    recipients   TEXT[]      NOT NULL,
    enabled      BOOLEAN     NOT NULL DEFAULT true,
    next_run_at  TIMESTAMPTZ NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by   BIGINT      REFERENCES users (id) ON DELETE SET NULL
);

CREATE TABLE report_deliveries (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    schedule_id  BIGINT      NOT NULL REFERENCES report_schedules (id) ON DELETE CASCADE,
    period_from  TIMESTAMPTZ NOT NULL,
    period_to    TIMESTAMPTZ NOT NULL,
    sent_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    ok           BOOLEAN     NOT NULL,
    detail       TEXT        NOT NULL DEFAULT ''
);

CREATE INDEX report_deliveries_schedule_idx ON report_deliveries (schedule_id, sent_at DESC);

-- Burn-rate rules are generated per SLO and belong to it: read-only in the rules API, gone
-- with their SLO.
ALTER TABLE alert_rules
    ADD COLUMN slo_id BIGINT REFERENCES slos (id) ON DELETE CASCADE;
CREATE INDEX alert_rules_slo_idx ON alert_rules (slo_id) WHERE slo_id IS NOT NULL;

-- Reports and SLO charts ask for a service's incidents of a period.
CREATE INDEX incidents_service_idx ON incidents (service, triggered_at);

-- An SLO's page tier firing holds back its ticket tier (SRE workbook: one signal per SLO).
INSERT INTO inhibition_rules (name, source_matchers, target_matchers, equal)
VALUES ('SLO page tier holds back its ticket tier',
        '[{"name": "burn_tier", "value": "page", "op": "="}]',
        '[{"name": "burn_tier", "value": "ticket", "op": "="}]',
        ARRAY['slo']);
