-- Users' contact methods (an email address or a webhook URL each): when an escalation level
-- pages a user, every method of theirs gets the page through the delivery queue, besides the
-- in-app notification.

CREATE TABLE user_contact_methods (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        TEXT        NOT NULL CHECK (kind IN ('email', 'webhook')),
    -- An email address or an http(s) URL, as the user typed it (trimmed).
    address     TEXT        NOT NULL CHECK (length(address) BETWEEN 1 AND 2000),
    label       TEXT        NOT NULL DEFAULT '' CHECK (length(label) <= 100),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Deleting a method only marks it: the deliveries made to it keep pointing at a row that
    -- says where they went, and the CHECK on notification_deliveries below stays true.
    deleted_at  TIMESTAMPTZ
);

-- Deleted methods included: a user's delivery log reaches their deliveries through it.
CREATE INDEX user_contact_methods_user_idx ON user_contact_methods (user_id);
CREATE UNIQUE INDEX user_contact_methods_address_key
    ON user_contact_methods (user_id, kind, address) WHERE deleted_at IS NULL;

-- A delivery now goes to a channel or to a user's contact method, never both nor neither.
ALTER TABLE notification_deliveries
    ALTER COLUMN channel_id DROP NOT NULL,
    -- Methods are only ever marked deleted, so this cascades only if a user row is removed.
    ADD COLUMN contact_method_id BIGINT REFERENCES user_contact_methods (id) ON DELETE CASCADE,
    ADD CONSTRAINT notification_deliveries_one_recipient
        CHECK (num_nonnulls(channel_id, contact_method_id) = 1);

CREATE INDEX notification_deliveries_contact_method_idx
    ON notification_deliveries (contact_method_id, created_at DESC)
    WHERE contact_method_id IS NOT NULL;
