-- Several trigger stages per connection (docs/contract/results.md): the
-- list as the admin set it, each `{"id","name","found"}`, in order. The
-- first is also kept in stage_id / stage_name / stage_found, which older
-- code and the single-stage API read. The default is constant, so adding
-- the column rewrites no table; the UPDATE fills it for connections made
-- before (a few thousand rows at most).
ALTER TABLE connections ADD COLUMN stages JSONB NOT NULL DEFAULT '[]';

UPDATE connections
SET stages = jsonb_build_array(
    jsonb_build_object('id', stage_id, 'name', stage_name, 'found', stage_found))
WHERE stage_id IS NOT NULL OR stage_name <> '';

-- Ingest keeps the trigger stages with the connection's status: a change
-- to them is announced like the others.
DROP TRIGGER connection_changed_announce ON connections;
CREATE TRIGGER connection_changed_announce
    AFTER UPDATE OF status, stage_id, on_stage_exit, stages ON connections
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          OR OLD.stage_id IS DISTINCT FROM NEW.stage_id
          OR OLD.on_stage_exit IS DISTINCT FROM NEW.on_stage_exit
          OR OLD.stages IS DISTINCT FROM NEW.stages)
    EXECUTE FUNCTION connection_changed_announce();

-- Postings two roles matched at the same rule (the oldest role took them),
-- for the health report's `role_overlap`. A role change clears the org's
-- rows: the next resolution records an overlap that still holds.
CREATE TABLE role_overlaps (
    connection_id UUID NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    org_id        UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    posting_id    TEXT NOT NULL,
    rule          TEXT NOT NULL,
    -- The chosen role first, then the others.
    roles         TEXT[] NOT NULL,
    seen_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, posting_id)
);
CREATE INDEX role_overlaps_org ON role_overlaps (org_id);
