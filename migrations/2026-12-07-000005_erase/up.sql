-- Erasing a deleted candidate (docs/contract/lifecycle.md): what remains
-- of it is a keyed hash of its opportunity id, here (so that later
-- deliveries and sweep findings for it are known and stored without their
-- payload) and in the erased rows of `interviews` and `lever_events`.
CREATE TABLE erased_candidates (
    connection_id   UUID NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    opportunity_key TEXT NOT NULL CHECK (char_length(opportunity_key) BETWEEN 1 AND 200),
    erased_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (connection_id, opportunity_key)
);

-- An interview can be `erased`, and an erase asked for by an admin is an
-- event of its own source. Each check is validated apart, which does not
-- block ingest meanwhile: the migration runs outside a transaction
-- (metadata.toml), so the brief exclusive lock of each swap is released
-- before the scan.
ALTER TABLE interviews DROP CONSTRAINT interviews_status_check;
ALTER TABLE interviews ADD CONSTRAINT interviews_status_check
    CHECK (status IN ('creating', 'link_posted', 'completed', 'results_posted', 'cancelled', 'failed', 'erased')) NOT VALID;
ALTER TABLE interviews VALIDATE CONSTRAINT interviews_status_check;

ALTER TABLE lever_events DROP CONSTRAINT lever_events_source_check;
ALTER TABLE lever_events ADD CONSTRAINT lever_events_source_check
    CHECK (source IN ('webhook', 'sweep', 'reinvite', 'erase')) NOT VALID;
ALTER TABLE lever_events VALIDATE CONSTRAINT lever_events_source_check;
