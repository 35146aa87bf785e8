-- When candidates move on (docs/contract/lifecycle.md): each connection's
-- policy for archived, hired and departed candidates and its closed and
-- expired tags; why an interview closed and the tag that close posted; and
-- which Lever event each registered webhook delivers. Every new column has
-- a constant default or none, so adding it rewrites no table, and an
-- instance of the previous version keeps working beside this one.

ALTER TABLE connections
    ADD COLUMN on_archive TEXT NOT NULL DEFAULT 'close' CHECK (on_archive IN ('close', 'keep')),
    ADD COLUMN on_hired TEXT NOT NULL DEFAULT 'close' CHECK (on_hired IN ('close', 'keep')),
    ADD COLUMN on_stage_exit TEXT NOT NULL DEFAULT 'keep' CHECK (on_stage_exit IN ('close', 'keep')),
    ADD COLUMN link_ttl_days INTEGER CHECK (link_ttl_days BETWEEN 1 AND 365),
    ADD COLUMN tag_closed TEXT DEFAULT 'Arkiter Live: Closed'
        CHECK (char_length(tag_closed) BETWEEN 1 AND 200),
    ADD COLUMN tag_expired TEXT DEFAULT 'Arkiter Live: Expired'
        CHECK (char_length(tag_expired) BETWEEN 1 AND 200),
    -- Held while one instance replaces the connection's webhooks at Lever
    -- (a connect, or a sweep's repair), so two never interleave their
    -- deletes and creates and leave two webhooks for one event.
    ADD COLUMN webhooks_setup_until TIMESTAMPTZ;

ALTER TABLE interviews
    ADD COLUMN close_reason TEXT
        CHECK (close_reason IN ('admin', 'archived', 'hired', 'left_stage', 'expired', 'erased')),
    -- Set once the tag is on Lever: the name as posted, for the next
    -- interview's link step to take off even if the setting changes.
    ADD COLUMN closed_tag TEXT;

-- Every interview cancelled before this change was cancelled by an admin.
UPDATE interviews SET close_reason = 'admin' WHERE status = 'cancelled';

ALTER TABLE lever_webhooks
    ADD COLUMN event TEXT NOT NULL DEFAULT 'candidateStageChange';

-- Ingest keeps `on_stage_exit` with the connection's stage and status (a
-- move out of the stage is stored only when it is `close`): a change to it
-- is announced like theirs.
DROP TRIGGER connection_changed_announce ON connections;
CREATE TRIGGER connection_changed_announce
    AFTER UPDATE OF status, stage_id, on_stage_exit ON connections
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          OR OLD.stage_id IS DISTINCT FROM NEW.stage_id
          OR OLD.on_stage_exit IS DISTINCT FROM NEW.on_stage_exit)
    EXECUTE FUNCTION connection_changed_announce();
