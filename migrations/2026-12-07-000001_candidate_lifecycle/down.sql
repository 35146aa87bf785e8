DROP TRIGGER connection_changed_announce ON connections;
CREATE TRIGGER connection_changed_announce
    AFTER UPDATE OF status, stage_id ON connections
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.stage_id IS DISTINCT FROM NEW.stage_id)
    EXECUTE FUNCTION connection_changed_announce();
ALTER TABLE lever_webhooks DROP COLUMN event;
ALTER TABLE interviews
    DROP COLUMN close_reason,
    DROP COLUMN closed_tag;
ALTER TABLE connections
    DROP COLUMN on_archive,
    DROP COLUMN on_hired,
    DROP COLUMN on_stage_exit,
    DROP COLUMN link_ttl_days,
    DROP COLUMN tag_closed,
    DROP COLUMN tag_expired,
    DROP COLUMN webhooks_setup_until;
