-- Every connection gets its lease row when it is created, instead of each
-- instance's lease cycle inserting the missing ones every 2 s (a scan of all
-- connections: ~100 ms per cycle at 10,000 accounts). Taking and renewing a
-- lease still look at the connection's status.
CREATE FUNCTION connection_lease_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO connection_leases (connection_id) VALUES (NEW.id)
        ON CONFLICT (connection_id) DO NOTHING;
    RETURN NEW;
END
$$;

CREATE TRIGGER connections_lease_row
    AFTER INSERT ON connections
    FOR EACH ROW EXECUTE FUNCTION connection_lease_row();

INSERT INTO connection_leases (connection_id)
    SELECT id FROM connections
    ON CONFLICT (connection_id) DO NOTHING;
