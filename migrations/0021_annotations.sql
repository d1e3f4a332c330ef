-- Manual annotations (SPEC §6): notes on a time or a period, drawn on dashboards' time-series
-- panels beside incidents and alert firing periods (which are read from their own areas).
-- All of it belongs to the `annotations` area.

CREATE TABLE annotations (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time          TIMESTAMPTZ NOT NULL,
    -- The end of a period; NULL for an instant.
    time_end      TIMESTAMPTZ CHECK (time_end >= time),
    text          TEXT        NOT NULL CHECK (length(text) BETWEEN 1 AND 2000),
    tags          TEXT[]      NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 20),
    -- Shown on this dashboard only (and gone with it); on every dashboard when NULL.
    dashboard_id  BIGINT      REFERENCES dashboards (id) ON DELETE CASCADE,
    created_by    BIGINT      REFERENCES users (id) ON DELETE SET NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Reads ask for what overlaps a range: what starts before its end, newest first.
CREATE INDEX annotations_time_idx ON annotations (time DESC);
CREATE INDEX annotations_tags_idx ON annotations USING gin (tags);
CREATE INDEX annotations_dashboard_idx ON annotations (dashboard_id) WHERE dashboard_id IS NOT NULL;
