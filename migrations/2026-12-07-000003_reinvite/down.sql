DELETE FROM lever_events WHERE source = 'reinvite';
ALTER TABLE lever_events DROP CONSTRAINT lever_events_source_check;
ALTER TABLE lever_events ADD CONSTRAINT lever_events_source_check
    CHECK (source IN ('webhook', 'sweep'));
