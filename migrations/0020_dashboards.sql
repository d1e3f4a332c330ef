-- Dashboards (SPEC §6): the model editors write, its versions, the teams its permissions
-- name, and home dashboards per role, team and user. All of it belongs to the `dashboards`
-- area.

CREATE TABLE dashboards (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Stable across instances and exports; never all digits, so an address tells it from an id.
    uid          TEXT        NOT NULL UNIQUE
                 CHECK (uid ~ '^[A-Za-z0-9_-]{1,40}$' AND uid !~ '^[0-9]+$'),
    -- Copies of the model's title, folder and tags, for the list and its search.
    title        TEXT        NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    folder       TEXT        NOT NULL DEFAULT '',
    tags         TEXT[]      NOT NULL DEFAULT '{}',
    -- vigil_shared::dashboard::DashboardModel, as JSON.
    model        JSONB       NOT NULL,
    version      INTEGER     NOT NULL DEFAULT 1 CHECK (version >= 1),
    -- Where a provisioned dashboard comes from (a file path, or `built-in`): such dashboards
    -- are read-only.
    provisioned  TEXT,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by   BIGINT      REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX dashboards_title_idx ON dashboards (lower(title));
CREATE INDEX dashboards_provisioned_idx ON dashboards (provisioned) WHERE provisioned IS NOT NULL;

-- Every saved version, the newest 100 per dashboard kept.
CREATE TABLE dashboard_versions (
    dashboard_id BIGINT      NOT NULL REFERENCES dashboards (id) ON DELETE CASCADE,
    version      INTEGER     NOT NULL,
    model        JSONB       NOT NULL,
    author       BIGINT      REFERENCES users (id) ON DELETE SET NULL,
    message      TEXT        NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (dashboard_id, version)
);

-- The team ids of a dashboard's `viewable_by` (can_edit false) and `editable_by` (true), so
-- the database keeps them true: an unknown team cannot be named, and a team still named
-- cannot be deleted.
CREATE TABLE dashboard_teams (
    dashboard_id BIGINT  NOT NULL REFERENCES dashboards (id) ON DELETE CASCADE,
    team_id      BIGINT  NOT NULL REFERENCES teams (id) ON DELETE RESTRICT,
    can_edit     BOOLEAN NOT NULL,
    PRIMARY KEY (dashboard_id, team_id, can_edit)
);

CREATE INDEX dashboard_teams_team_idx ON dashboard_teams (team_id);

-- Home dashboards: one row per role, per team or per user (the user's own choice).
CREATE TABLE home_dashboards (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    role         user_role UNIQUE,
    team_id      BIGINT UNIQUE REFERENCES teams (id) ON DELETE CASCADE,
    user_id      BIGINT UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    dashboard_id BIGINT NOT NULL REFERENCES dashboards (id) ON DELETE CASCADE,
    CONSTRAINT home_dashboards_one_scope CHECK (num_nonnulls(role, team_id, user_id) = 1)
);

CREATE INDEX home_dashboards_dashboard_idx ON home_dashboards (dashboard_id);
