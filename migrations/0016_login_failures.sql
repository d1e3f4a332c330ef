-- Failed logins, per account and client address (owned by the auth area).
--
-- A lockout holds one address out of one account: someone guessing at an account from one
-- place is stopped, while its owner, logging in from anywhere else, is not — nobody can lock
-- a person out of their own account. Failures are kept for any email typed, existing or not,
-- so the answers never tell which accounts exist. Rows are pruned a day after their last
-- failure.
CREATE TABLE login_failures (
    -- As typed at the login form, lower-cased.
    email         TEXT        NOT NULL CHECK (length(email) <= 254),
    -- The client's address; '' when it is not known.
    client        TEXT        NOT NULL,
    -- Consecutive failures; reset when a lockout starts and by a successful login.
    failures      INTEGER     NOT NULL DEFAULT 0,
    locked_until  TIMESTAMPTZ,
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (email, client)
);

CREATE INDEX login_failures_updated_at_idx ON login_failures (updated_at);

-- The lockout per account that these replace: anyone could lock anyone out with it.
ALTER TABLE users DROP COLUMN failed_logins, DROP COLUMN locked_until;
