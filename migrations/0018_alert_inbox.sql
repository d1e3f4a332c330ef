-- An alert that starts firing, or changes severity while firing, is news to two areas: notify
-- places it into notification groups, incidents opens or joins its incident. In the
-- transaction that makes the change, alerting leaves one row per reader here; each reader
-- takes its rows in the transaction that acts on them, so none is lost or acted on twice.
-- This replaces `alerts.routed`, which notify wrote, and through which notify also opened
-- incidents.
CREATE TABLE alert_inbox (
    reader    TEXT   NOT NULL CHECK (reader IN ('notify', 'incidents')),
    alert_id  BIGINT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    PRIMARY KEY (reader, alert_id)
);

INSERT INTO alert_inbox (reader, alert_id)
SELECT reader, id FROM alerts, unnest(ARRAY['notify', 'incidents']) AS reader
WHERE NOT routed AND state = 'firing';

DROP INDEX alerts_unrouted_idx;
ALTER TABLE alerts DROP COLUMN routed;
