DROP TRIGGER connections_delete_events ON connections;
DROP FUNCTION lever_events_delete_for_connection();
ALTER TABLE lever_events
    ADD CONSTRAINT lever_events_connection_id_fkey FOREIGN KEY (connection_id) REFERENCES connections(id) ON DELETE CASCADE,
    ADD CONSTRAINT lever_events_org_id_fkey FOREIGN KEY (org_id) REFERENCES orgs(id) ON DELETE CASCADE;
