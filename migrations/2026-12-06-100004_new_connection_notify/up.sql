-- Every instance keeps the ids of all connections in memory, so a delivery
-- to an unknown id is refused without a database round trip
-- (docs/contract/webhooks.md). A new connection is announced to every
-- instance at commit, whoever inserted it; the channel name is
-- `db::notify::NEW_CONNECTION_CHANNEL`. Instances of the previous version
-- do not listen and are not disturbed.
CREATE FUNCTION connections_announce() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('arkiter_connections', NEW.id::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER connections_announce
    AFTER INSERT ON connections
    FOR EACH ROW EXECUTE FUNCTION connections_announce();
