DROP TABLE role_overlaps;
DROP TRIGGER connection_changed_announce ON connections;
CREATE TRIGGER connection_changed_announce
    AFTER UPDATE OF status, stage_id, on_stage_exit ON connections
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          OR OLD.stage_id IS DISTINCT FROM NEW.stage_id
          OR OLD.on_stage_exit IS DISTINCT FROM NEW.on_stage_exit)
    EXECUTE FUNCTION connection_changed_announce();
ALTER TABLE connections DROP COLUMN stages;
