-- Notification routing, as Alertmanager routes: ordered policies match alerts by labels and
-- send them, grouped by `group_by`, to their channels; the default policy takes what no other
-- policy matches. Groups are persisted so that timings survive restarts and every replica
-- agrees on them: a group is first flushed `group_wait` after it forms, then checked every
-- `group_interval` (changes go out), and an unchanged group is sent again after
-- `repeat_interval`.

CREATE TABLE notification_policies (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    is_default          BOOLEAN     NOT NULL DEFAULT false,
    -- Policies are tried in this order (the default policy comes last whatever its value).
    position            INTEGER     NOT NULL DEFAULT 0,
    -- [{"name", "value", "op"}], all must match; always empty for the default policy.
    matchers            JSONB       NOT NULL DEFAULT '[]',
    channel_ids         BIGINT[]    NOT NULL DEFAULT '{}',
    -- Label names; `...` groups by every label.
    group_by            TEXT[]      NOT NULL DEFAULT '{alertname}',
    group_wait_ms       BIGINT      NOT NULL DEFAULT 30000 CHECK (group_wait_ms >= 0),
    group_interval_ms   BIGINT      NOT NULL DEFAULT 300000 CHECK (group_interval_ms >= 1000),
    repeat_interval_ms  BIGINT      NOT NULL DEFAULT 14400000 CHECK (repeat_interval_ms >= 1000),
    -- Keep trying the later policies after this one matched.
    continue_matching   BOOLEAN     NOT NULL DEFAULT false,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX notification_policies_default_key ON notification_policies (is_default)
    WHERE is_default;
CREATE UNIQUE INDEX notification_policies_name_key ON notification_policies (lower(name));

INSERT INTO notification_policies (name, is_default) VALUES ('Default policy', true);

-- One group per channel, policy (NULL: the alert rule's own channels, timed by the default
-- policy) and group labels.
CREATE TABLE notification_groups (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id     BIGINT      NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    policy_id      BIGINT      REFERENCES notification_policies (id) ON DELETE CASCADE,
    group_key      TEXT        NOT NULL,
    group_labels   JSONB       NOT NULL,
    next_flush_at  TIMESTAMPTZ NOT NULL,
    last_sent_at   TIMESTAMPTZ,
    -- "alert id:severity" of the alerts the last message reported firing.
    notified       TEXT[]      NOT NULL DEFAULT '{}',
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX notification_groups_key
    ON notification_groups (channel_id, (COALESCE(policy_id, 0)), group_key);
CREATE INDEX notification_groups_due_idx ON notification_groups (next_flush_at);

CREATE TABLE notification_group_alerts (
    group_id  BIGINT NOT NULL REFERENCES notification_groups (id) ON DELETE CASCADE,
    alert_id  BIGINT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    -- Set when the alert no longer routes here (its severity changed, say): it is reported
    -- resolved to this group.
    left_at   TIMESTAMPTZ,
    PRIMARY KEY (group_id, alert_id)
);

CREATE INDEX notification_group_alerts_alert_idx ON notification_group_alerts (alert_id);

-- Firing alerts not yet placed into their groups. Alerts stored before routing existed count
-- as placed; every new alert starts unplaced.
ALTER TABLE alerts ADD COLUMN routed BOOLEAN NOT NULL DEFAULT true;
ALTER TABLE alerts ALTER COLUMN routed SET DEFAULT false;
CREATE INDEX alerts_unrouted_idx ON alerts (id) WHERE NOT routed AND state = 'firing';
