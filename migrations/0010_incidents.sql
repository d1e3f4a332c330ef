-- Incidents (opened by firing alerts or by hand), the escalation policies that page people
-- about them, the on-call schedules those policies can point at, and each incident's timeline.
-- The escalation worker keeps all of its state here (`next_escalation_at`, `escalation_steps`),
-- so a restart or a second replica carries on exactly where the last one stopped.

CREATE TABLE schedules (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description      TEXT        NOT NULL DEFAULT '',
    -- An IANA zone (Europe/Berlin): handoffs happen at the same local time across DST changes.
    timezone         TEXT        NOT NULL,
    -- daily | weekly | custom (every `shift_hours`).
    rotation         TEXT        NOT NULL CHECK (rotation IN ('daily', 'weekly', 'custom')),
    shift_hours      INTEGER     CHECK (shift_hours BETWEEN 1 AND 2160),
    -- The first shift starts on `start_date` at `handoff_time`, local time.
    start_date       DATE        NOT NULL,
    handoff_time     TIME        NOT NULL DEFAULT '09:00',
    -- User ids in rotation order.
    participants     BIGINT[]    NOT NULL DEFAULT '{}',
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX schedules_name_key ON schedules (lower(name));

CREATE TABLE schedule_overrides (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    schedule_id  BIGINT      NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    user_id      BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    starts_at    TIMESTAMPTZ NOT NULL,
    ends_at      TIMESTAMPTZ NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);

CREATE INDEX schedule_overrides_schedule_idx ON schedule_overrides (schedule_id, ends_at);

CREATE TABLE escalation_policies (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                  TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description           TEXT        NOT NULL DEFAULT '',
    -- [{"delay_minutes": n, "targets": [{"kind": "user"|"team"|"schedule"|"channel", "id": n}]}]
    -- Level 1 is notified `delay_minutes` after the incident triggers, each next level that
    -- long after the previous one.
    levels                JSONB       NOT NULL,
    -- How many times the whole policy runs again after its last level, each round starting
    -- `repeat_after_minutes` after the last level.
    repeat_count          INTEGER     NOT NULL DEFAULT 0 CHECK (repeat_count BETWEEN 0 AND 10),
    repeat_after_minutes  INTEGER     NOT NULL DEFAULT 30 CHECK (repeat_after_minutes BETWEEN 1 AND 10080),
    -- Acknowledged but unresolved this long: the incident triggers again.
    ack_timeout_minutes   INTEGER     CHECK (ack_timeout_minutes BETWEEN 1 AND 10080),
    auto_resolve          BOOLEAN     NOT NULL DEFAULT true,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX escalation_policies_name_key ON escalation_policies (lower(name));

ALTER TABLE alert_rules
    ADD COLUMN escalation_policy_id BIGINT REFERENCES escalation_policies (id) ON DELETE SET NULL,
    -- Labels whose values split a rule's alerts into separate incidents (none: one incident
    -- per rule at a time).
    ADD COLUMN incident_group_by TEXT[] NOT NULL DEFAULT '{}';

CREATE TABLE incidents (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title                 TEXT        NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    description           TEXT        NOT NULL DEFAULT '',
    status                TEXT        NOT NULL CHECK (status IN ('triggered', 'acknowledged', 'resolved')),
    severity              TEXT        NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    service               TEXT        NOT NULL DEFAULT '',
    team_id               BIGINT      REFERENCES teams (id) ON DELETE SET NULL,
    assignee_id           BIGINT      REFERENCES users (id) ON DELETE SET NULL,
    escalation_policy_id  BIGINT      REFERENCES escalation_policies (id) ON DELETE SET NULL,
    -- Firing alerts with this key join the open incident; NULL for incidents opened by hand.
    group_key             TEXT,
    -- The level (from 0) notified next, the round of the policy, the escalations done so far.
    level                 INTEGER     NOT NULL DEFAULT 0,
    round                 INTEGER     NOT NULL DEFAULT 0,
    steps                 INTEGER     NOT NULL DEFAULT 0,
    -- When the worker next acts: the next level, an acknowledgment timing out, a snooze ending.
    next_escalation_at    TIMESTAMPTZ,
    snoozed_until         TIMESTAMPTZ,
    triggered_at          TIMESTAMPTZ NOT NULL,
    acknowledged_at       TIMESTAMPTZ,
    resolved_at           TIMESTAMPTZ,
    resolution            TEXT        NOT NULL DEFAULT '',
    updated_at            TIMESTAMPTZ NOT NULL
);

CREATE UNIQUE INDEX incidents_open_group_key ON incidents (group_key)
    WHERE status <> 'resolved' AND group_key IS NOT NULL;
CREATE INDEX incidents_due_idx ON incidents (next_escalation_at)
    WHERE next_escalation_at IS NOT NULL;
CREATE INDEX incidents_status_idx ON incidents (status, triggered_at DESC);
CREATE INDEX incidents_triggered_idx ON incidents (triggered_at DESC);

CREATE TABLE incident_alerts (
    incident_id  BIGINT      NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    alert_id     BIGINT      NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    added_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (incident_id, alert_id)
);

CREATE INDEX incident_alerts_alert_idx ON incident_alerts (alert_id);

CREATE TABLE incident_timeline (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id  BIGINT      NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at           TIMESTAMPTZ NOT NULL,
    -- A user's email, or "vigil" for what the server did by itself.
    actor        TEXT        NOT NULL,
    kind         TEXT        NOT NULL,
    message      TEXT        NOT NULL,
    details      JSONB       NOT NULL DEFAULT '{}'
);

CREATE INDEX incident_timeline_incident_idx ON incident_timeline (incident_id, at, id);

-- One row per escalation done: the primary key is what makes a level notified at most once
-- however many workers race for it.
CREATE TABLE escalation_steps (
    incident_id  BIGINT      NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    step         INTEGER     NOT NULL,
    level        INTEGER     NOT NULL,
    round        INTEGER     NOT NULL,
    at           TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (incident_id, step)
);

-- In-app notifications: what a user was paged about.
CREATE TABLE user_notifications (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    incident_id  BIGINT      REFERENCES incidents (id) ON DELETE CASCADE,
    message      TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    read_at      TIMESTAMPTZ
);

CREATE INDEX user_notifications_user_idx ON user_notifications (user_id, created_at DESC);
