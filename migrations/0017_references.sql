-- References between areas become foreign keys. Four columns held ids by hand (rules' and
-- notification policies' channels, schedules' participants, escalation policies' targets):
-- nothing stopped a team or channel that a policy pages from being deleted, and the escalation
-- worker then paged nobody. Join tables now hold them; deleting what is still referenced is
-- refused (`ON DELETE RESTRICT`, answered 409 naming the referrers) and an unknown id is refused
-- on write (answered 422 naming the field).
--
-- Ids that named nothing any more are not carried over. Each is reported as a WARNING in the
-- migration's log and recorded in the audit log (`migration.dangling_reference`), so an
-- operator can see what a policy or rule had silently lost.

CREATE TABLE alert_rule_channels (
    rule_id     BIGINT NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    channel_id  BIGINT NOT NULL REFERENCES notification_channels (id) ON DELETE RESTRICT,
    PRIMARY KEY (rule_id, channel_id)
);
CREATE INDEX alert_rule_channels_channel_idx ON alert_rule_channels (channel_id);

CREATE TABLE notification_policy_channels (
    policy_id   BIGINT NOT NULL REFERENCES notification_policies (id) ON DELETE CASCADE,
    channel_id  BIGINT NOT NULL REFERENCES notification_channels (id) ON DELETE RESTRICT,
    PRIMARY KEY (policy_id, channel_id)
);
CREATE INDEX notification_policy_channels_channel_idx ON notification_policy_channels (channel_id);

-- Shift k belongs to the participant at position k mod n; a user may appear more than once.
CREATE TABLE schedule_participants (
    schedule_id  BIGINT  NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL CHECK (position >= 0),
    user_id      BIGINT  NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    PRIMARY KEY (schedule_id, position)
);
CREATE INDEX schedule_participants_user_idx ON schedule_participants (user_id);

-- Level 0 is notified `delay_minutes` after the incident triggers, each next level that long
-- after the previous one.
CREATE TABLE escalation_levels (
    policy_id      BIGINT  NOT NULL REFERENCES escalation_policies (id) ON DELETE CASCADE,
    level          INTEGER NOT NULL CHECK (level >= 0),
    delay_minutes  INTEGER NOT NULL CHECK (delay_minutes BETWEEN 0 AND 10080),
    PRIMARY KEY (policy_id, level)
);

-- Exactly one of the four ids is set: who this level pages.
CREATE TABLE escalation_targets (
    policy_id    BIGINT  NOT NULL,
    level        INTEGER NOT NULL,
    position     INTEGER NOT NULL CHECK (position >= 0),
    user_id      BIGINT  REFERENCES users (id) ON DELETE RESTRICT,
    team_id      BIGINT  REFERENCES teams (id) ON DELETE RESTRICT,
    schedule_id  BIGINT  REFERENCES schedules (id) ON DELETE RESTRICT,
    channel_id   BIGINT  REFERENCES notification_channels (id) ON DELETE RESTRICT,
    PRIMARY KEY (policy_id, level, position),
    FOREIGN KEY (policy_id, level) REFERENCES escalation_levels (policy_id, level) ON DELETE CASCADE,
    CHECK (num_nonnulls(user_id, team_id, schedule_id, channel_id) = 1)
);
CREATE INDEX escalation_targets_user_idx ON escalation_targets (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX escalation_targets_team_idx ON escalation_targets (team_id) WHERE team_id IS NOT NULL;
CREATE INDEX escalation_targets_schedule_idx ON escalation_targets (schedule_id)
    WHERE schedule_id IS NOT NULL;
CREATE INDEX escalation_targets_channel_idx ON escalation_targets (channel_id)
    WHERE channel_id IS NOT NULL;

-- A rule's escalation policy: deleting the policy was allowed and silently unset it.
ALTER TABLE alert_rules DROP CONSTRAINT alert_rules_escalation_policy_id_fkey;
ALTER TABLE alert_rules ADD CONSTRAINT alert_rules_escalation_policy_id_fkey
    FOREIGN KEY (escalation_policy_id) REFERENCES escalation_policies (id) ON DELETE RESTRICT;

-- Every id the old columns held, with whether it still names something.
CREATE TEMPORARY TABLE old_references AS
    SELECT 'alert_rule' AS referrer_kind, r.id AS referrer_id, r.name AS referrer_name,
           0 AS level, c.position::integer - 1 AS position, 'channel' AS kind, c.id,
           EXISTS (SELECT 1 FROM notification_channels n WHERE n.id = c.id) AS present
    FROM alert_rules r, unnest(r.channel_ids) WITH ORDINALITY AS c(id, position)
    UNION ALL
    SELECT 'notification_policy', p.id, p.name, 0, c.position::integer - 1, 'channel', c.id,
           EXISTS (SELECT 1 FROM notification_channels n WHERE n.id = c.id)
    FROM notification_policies p, unnest(p.channel_ids) WITH ORDINALITY AS c(id, position)
    UNION ALL
    SELECT 'schedule', s.id, s.name, 0, u.position::integer - 1, 'user', u.id,
           EXISTS (SELECT 1 FROM users x WHERE x.id = u.id)
    FROM schedules s, unnest(s.participants) WITH ORDINALITY AS u(id, position)
    UNION ALL
    SELECT 'escalation_policy', p.id, p.name, l.n::integer - 1, t.m::integer - 1,
           t.v->>'kind', (t.v->>'id')::bigint,
           CASE t.v->>'kind'
               WHEN 'user' THEN EXISTS (SELECT 1 FROM users x WHERE x.id = (t.v->>'id')::bigint)
               WHEN 'team' THEN EXISTS (SELECT 1 FROM teams x WHERE x.id = (t.v->>'id')::bigint)
               WHEN 'schedule'
                   THEN EXISTS (SELECT 1 FROM schedules x WHERE x.id = (t.v->>'id')::bigint)
               WHEN 'channel' THEN EXISTS (SELECT 1 FROM notification_channels x
                                           WHERE x.id = (t.v->>'id')::bigint)
               ELSE false
           END
    FROM escalation_policies p,
         jsonb_array_elements(p.levels) WITH ORDINALITY AS l(v, n),
         jsonb_array_elements(l.v->'targets') WITH ORDINALITY AS t(v, m);

DO $$
DECLARE
    dangling RECORD;
BEGIN
    FOR dangling IN SELECT * FROM old_references WHERE NOT present
                    ORDER BY referrer_kind, referrer_id, level, position LOOP
        RAISE WARNING 'dropping a dangling reference: % % (%) named % %, which does not exist',
            replace(dangling.referrer_kind, '_', ' '), dangling.referrer_id,
            dangling.referrer_name, dangling.kind, dangling.id;
        INSERT INTO audit_log (actor, action, target_type, target_id, details)
        VALUES ('migration 0017', 'migration.dangling_reference', dangling.referrer_kind,
                dangling.referrer_id::text,
                jsonb_build_object('name', dangling.referrer_name, 'missing_kind', dangling.kind,
                                   'missing_id', dangling.id, 'level', dangling.level));
    END LOOP;
END
$$;

INSERT INTO alert_rule_channels (rule_id, channel_id)
SELECT DISTINCT referrer_id, id FROM old_references
WHERE referrer_kind = 'alert_rule' AND present;

INSERT INTO notification_policy_channels (policy_id, channel_id)
SELECT DISTINCT referrer_id, id FROM old_references
WHERE referrer_kind = 'notification_policy' AND present;

INSERT INTO schedule_participants (schedule_id, position, user_id)
SELECT referrer_id, row_number() OVER (PARTITION BY referrer_id ORDER BY position) - 1, id
FROM old_references
WHERE referrer_kind = 'schedule' AND present;

INSERT INTO escalation_levels (policy_id, level, delay_minutes)
SELECT p.id, l.n - 1, LEAST(GREATEST(COALESCE((l.v->>'delay_minutes')::integer, 0), 0), 10080)
FROM escalation_policies p, jsonb_array_elements(p.levels) WITH ORDINALITY AS l(v, n);

INSERT INTO escalation_targets (policy_id, level, position, user_id, team_id, schedule_id,
                                channel_id)
SELECT referrer_id, level,
       row_number() OVER (PARTITION BY referrer_id, level ORDER BY position) - 1,
       CASE kind WHEN 'user' THEN id END, CASE kind WHEN 'team' THEN id END,
       CASE kind WHEN 'schedule' THEN id END, CASE kind WHEN 'channel' THEN id END
FROM old_references
WHERE referrer_kind = 'escalation_policy' AND present;

ALTER TABLE alert_rules DROP COLUMN channel_ids;
ALTER TABLE notification_policies DROP COLUMN channel_ids;
ALTER TABLE schedules DROP COLUMN participants;
ALTER TABLE escalation_policies DROP COLUMN levels;
DROP TABLE old_references;
