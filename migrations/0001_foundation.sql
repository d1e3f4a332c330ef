-- Foundation: people, their roles and teams, sessions, API keys, the audit log and settings.
--
-- Identifiers are BIGINT identities: short in URLs and logs, and nothing here needs ids
-- minted outside the database.

CREATE TYPE user_role AS ENUM ('viewer', 'responder', 'editor', 'admin');

CREATE TABLE users (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Stored as typed; uniqueness and look-ups are case-insensitive (see users_email_key).
    email          TEXT        NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    display_name   TEXT        NOT NULL DEFAULT '',
    -- PHC string (argon2id), never returned by the API.
    password_hash  TEXT        NOT NULL,
    role           user_role   NOT NULL,
    disabled       BOOLEAN     NOT NULL DEFAULT false,
    -- Consecutive failed logins; reset by a success or by a lockout starting.
    failed_logins  INTEGER     NOT NULL DEFAULT 0,
    locked_until   TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_login_at  TIMESTAMPTZ
);

CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE teams (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description TEXT        NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX teams_name_key ON teams (lower(name));

CREATE TABLE team_members (
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, user_id)
);

CREATE INDEX team_members_user_idx ON team_members (user_id);

-- Refresh tokens rotate on every use. All tokens descending from one login share a
-- family; presenting a token that was already rotated away (a stolen copy, most likely)
-- revokes the whole family.
CREATE TABLE refresh_tokens (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    family_id   UUID        NOT NULL,
    user_id     BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- SHA-256 of the token; the token itself is 256 random bits, so a fast hash suffices.
    token_hash  BYTEA       NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    -- Set when the token was exchanged for its successor.
    rotated_at  TIMESTAMPTZ,
    -- Set when the family was ended: logout, reuse detected, password reset, user disabled.
    revoked_at  TIMESTAMPTZ,
    ip          TEXT,
    user_agent  TEXT
);

CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE api_keys (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- The key's first characters, shown so people can tell keys apart.
    prefix        TEXT        NOT NULL,
    key_hash      BYTEA       NOT NULL UNIQUE,
    scopes        TEXT[]      NOT NULL CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['ingest', 'read']),
    created_by    BIGINT      REFERENCES users (id) ON DELETE SET NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at    TIMESTAMPTZ,
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ
);

-- Append-only record of every state-changing action.
CREATE TABLE audit_log (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Kept as text so the entry survives the actor's deletion.
    actor          TEXT        NOT NULL,
    actor_user_id  BIGINT      REFERENCES users (id) ON DELETE SET NULL,
    action         TEXT        NOT NULL,
    target_type    TEXT,
    target_id      TEXT,
    details        JSONB       NOT NULL DEFAULT '{}',
    ip             TEXT
);

CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
CREATE INDEX audit_log_action_idx ON audit_log (action, id DESC);

-- Installation-wide settings shared by all replicas (e.g. the token signing key).
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      JSONB       NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
