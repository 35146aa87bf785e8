-- Ingest keeps each connection's signature tokens, stage and status in
-- memory (docs/contract/webhooks.md). A change to any of them is announced
-- to every instance at commit, whoever made it, and each forgets its copy;
-- the channel name is `db::notify::CHANGED_CONNECTION_CHANNEL`. Postgres
-- sends one notification per connection id and transaction. Instances of
-- the previous version do not listen and are not disturbed.
CREATE FUNCTION connection_changed_announce() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed uuid;
BEGIN
    IF TG_TABLE_NAME = 'connections' THEN
        IF TG_OP = 'DELETE' THEN changed := OLD.id; ELSE changed := NEW.id; END IF;
    ELSE
        IF TG_OP = 'DELETE' THEN changed := OLD.connection_id; ELSE changed := NEW.connection_id; END IF;
    END IF;
    PERFORM pg_notify('arkiter_connection_changed', changed::text);
    RETURN NULL;
END
$$;

-- What ingest reads of a connection: its status and stage (a connection's
-- other columns change often and matter not to ingest).
CREATE TRIGGER connection_changed_announce
    AFTER UPDATE OF status, stage_id ON connections
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.stage_id IS DISTINCT FROM NEW.stage_id)
    EXECUTE FUNCTION connection_changed_announce();

CREATE TRIGGER connection_removed_announce
    AFTER DELETE ON connections
    FOR EACH ROW EXECUTE FUNCTION connection_changed_announce();

-- Its webhooks' signature tokens: any change.
CREATE TRIGGER webhook_changed_announce
    AFTER INSERT OR UPDATE OR DELETE ON lever_webhooks
    FOR EACH ROW EXECUTE FUNCTION connection_changed_announce();
