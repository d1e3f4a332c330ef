-- The incident list under load (SPEC §12: 200 concurrent clients, p99 ≤ 50 ms).
--
-- The default order within a status (newest first) gets an index matching it exactly, ties
-- included: the old (status, triggered_at) index left a sort step, so the planner preferred
-- walking `incidents_triggered_idx` and skipping, one by one, every incident of another
-- status newer than the page (all the acknowledged ones, when listing triggered incidents).
CREATE INDEX incidents_status_sort_idx ON incidents (status, triggered_at DESC, id DESC);
DROP INDEX incidents_status_idx;

-- How many incidents there are per status, kept by triggers, so that the list's counts need
-- not count every incident on each request. A single row would serialise every transaction
-- that changes a status on its row lock, so the counts are spread over 64 slots, each
-- transaction adding to the slot of its backend; readers add the slots up.
CREATE TABLE incident_status_counts (
    slot          SMALLINT PRIMARY KEY CHECK (slot BETWEEN 0 AND 63),
    triggered     BIGINT NOT NULL DEFAULT 0,
    acknowledged  BIGINT NOT NULL DEFAULT 0,
    resolved      BIGINT NOT NULL DEFAULT 0
);

INSERT INTO incident_status_counts (slot) SELECT generate_series(0, 63);

-- PL/pgSQL rather than SQL: it keeps the statement's plan for the session, where a SQL
-- function would parse and plan it again on every status change.
CREATE FUNCTION incident_status_counts_add(t BIGINT, a BIGINT, r BIGINT) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE incident_status_counts
    SET triggered = triggered + t, acknowledged = acknowledged + a, resolved = resolved + r
    WHERE slot = pg_backend_pid() % 64;
END
$$;

-- Inserts and deletes are counted once per statement (a bulk insert touches its slot once).
CREATE FUNCTION incident_status_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    t BIGINT;
    a BIGINT;
    r BIGINT;
BEGIN
    SELECT count(*) FILTER (WHERE status = 'triggered'),
           count(*) FILTER (WHERE status = 'acknowledged'),
           count(*) FILTER (WHERE status = 'resolved')
    INTO t, a, r FROM inserted;
    IF t + a + r > 0 THEN
        PERFORM incident_status_counts_add(t, a, r);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION incident_status_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    t BIGINT;
    a BIGINT;
    r BIGINT;
BEGIN
    SELECT count(*) FILTER (WHERE status = 'triggered'),
           count(*) FILTER (WHERE status = 'acknowledged'),
           count(*) FILTER (WHERE status = 'resolved')
    INTO t, a, r FROM deleted;
    IF t + a + r > 0 THEN
        PERFORM incident_status_counts_add(-t, -a, -r);
    END IF;
    RETURN NULL;
END
$$;

-- A status change moves one incident from one count to another.
CREATE FUNCTION incident_status_counts_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM incident_status_counts_add(
        (NEW.status = 'triggered')::int - (OLD.status = 'triggered')::int,
        (NEW.status = 'acknowledged')::int - (OLD.status = 'acknowledged')::int,
        (NEW.status = 'resolved')::int - (OLD.status = 'resolved')::int);
    RETURN NULL;
END
$$;

CREATE FUNCTION incident_status_counts_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE incident_status_counts SET triggered = 0, acknowledged = 0, resolved = 0;
    RETURN NULL;
END
$$;

CREATE TRIGGER incidents_count_inserted AFTER INSERT ON incidents
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION incident_status_counts_inserted();
CREATE TRIGGER incidents_count_deleted AFTER DELETE ON incidents
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION incident_status_counts_deleted();
CREATE TRIGGER incidents_count_moved AFTER UPDATE OF status ON incidents
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION incident_status_counts_moved();
CREATE TRIGGER incidents_count_truncated AFTER TRUNCATE ON incidents
    FOR EACH STATEMENT EXECUTE FUNCTION incident_status_counts_truncated();

-- The incidents already there, counted once; the triggers keep the counts from here on. The
-- migration is one transaction, and CREATE TRIGGER's lock on incidents (held until it commits)
-- keeps every writer out until then, so no change is counted twice or missed.
UPDATE incident_status_counts c
SET triggered = n.t, acknowledged = n.a, resolved = n.r
FROM (SELECT count(*) FILTER (WHERE status = 'triggered') AS t,
             count(*) FILTER (WHERE status = 'acknowledged') AS a,
             count(*) FILTER (WHERE status = 'resolved') AS r
      FROM incidents) n
WHERE c.slot = 0;
