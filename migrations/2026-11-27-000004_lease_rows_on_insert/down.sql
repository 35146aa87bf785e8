DROP TRIGGER connections_lease_row ON connections;
DROP FUNCTION connection_lease_row();
