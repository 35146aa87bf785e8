-- An admin's re-invite is an event of its own source (docs/contract/lifecycle.md).
-- The new check is validated apart, which does not block ingest meanwhile:
-- the migration runs outside a transaction (metadata.toml), so the brief
-- exclusive lock of the first two statements is released before the scan.
ALTER TABLE lever_events DROP CONSTRAINT lever_events_source_check;
ALTER TABLE lever_events ADD CONSTRAINT lever_events_source_check
    CHECK (source IN ('webhook', 'sweep', 'reinvite')) NOT VALID;
ALTER TABLE lever_events VALIDATE CONSTRAINT lever_events_source_check;
