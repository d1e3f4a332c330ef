-- Notification channels (webhook, Slack-compatible webhook, email) and the log of every
-- delivery, which is also the queue the delivery worker retries from.

CREATE TABLE notification_channels (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    kind           TEXT        NOT NULL CHECK (kind IN ('webhook', 'slack', 'email')),
    -- Settings shown back to editors (email addresses, SMTP host…).
    settings       JSONB       NOT NULL DEFAULT '{}',
    -- Never returned by the API: webhook URLs, signing secrets, SMTP passwords.
    secrets        JSONB       NOT NULL DEFAULT '{}',
    send_resolved  BOOLEAN     NOT NULL DEFAULT true,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX notification_channels_name_key ON notification_channels (lower(name));

CREATE TABLE notification_deliveries (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id       BIGINT      NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    reason           TEXT        NOT NULL CHECK (reason IN ('test', 'alert')),
    status           TEXT        NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    -- The message in Alertmanager's webhook (version 4) shape; each channel renders it.
    payload          JSONB       NOT NULL,
    attempts         INTEGER     NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at          TIMESTAMPTZ
);

CREATE INDEX notification_deliveries_due_idx ON notification_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX notification_deliveries_channel_idx ON notification_deliveries (channel_id, created_at DESC);

ALTER TABLE alert_rules ADD COLUMN channel_ids BIGINT[] NOT NULL DEFAULT '{}';
