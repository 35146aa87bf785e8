-- The inbox takes every webhook delivery, at thousands per second: its rows
-- carry no foreign keys, whose per-row checks (and the shared row locks they
-- take on the same few parent rows from every concurrent batch) were a tenth
-- of Postgres' cost per delivery. Ingest only writes the ids of a connection
-- it has just looked up (and org_id is that connection's org); the cascade
-- on deleting a connection is kept by a trigger (orgs cascade to their
-- connection, so to its events too).
ALTER TABLE lever_events DROP CONSTRAINT lever_events_connection_id_fkey;
ALTER TABLE lever_events DROP CONSTRAINT lever_events_org_id_fkey;

CREATE FUNCTION lever_events_delete_for_connection() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM lever_events WHERE connection_id = OLD.id;
    RETURN OLD;
END
$$;

CREATE TRIGGER connections_delete_events
    AFTER DELETE ON connections
    FOR EACH ROW EXECUTE FUNCTION lever_events_delete_for_connection();
