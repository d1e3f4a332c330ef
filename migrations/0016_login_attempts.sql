-- Login attempts, per account and client address (owned by the auth area).
--
-- A lockout holds one address out of one account: someone guessing at an account from one
-- place is stopped, while its owner, logging in from anywhere else, is not — nobody can lock
-- a person out of their own account. Addresses that logged into an account before are
-- remembered, so the limit on attempts at one account from everywhere does not hold its
-- owner up. Rows are kept for any email typed, existing or not, so the answers never tell
-- which accounts exist; they are pruned a day after their last failure, unless the address
-- logged in within 90 days.
CREATE TABLE login_attempts (
    -- As typed at the login form, lower-cased.
    email         TEXT        NOT NULL CHECK (length(email) <= 254),
    -- The client's address (an IPv6 address's /64); '' when it is not known.
    client        TEXT        NOT NULL,
    -- Attempts since the last success, counted before the password is checked (so attempts
    -- made at once all count); reset when a lockout starts and by a successful login.
    failures      INTEGER     NOT NULL DEFAULT 0,
    locked_until  TIMESTAMPTZ,
    last_success_at TIMESTAMPTZ,
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (email, client)
);

CREATE INDEX login_attempts_updated_at_idx ON login_attempts (updated_at);

-- The lockout per account that these replace: anyone could lock anyone out with it.
ALTER TABLE users DROP COLUMN failed_logins, DROP COLUMN locked_until;
