DELETE FROM lever_events WHERE source = 'erase';
ALTER TABLE lever_events DROP CONSTRAINT lever_events_source_check;
ALTER TABLE lever_events ADD CONSTRAINT lever_events_source_check
    CHECK (source IN ('webhook', 'sweep', 'reinvite'));
UPDATE interviews SET status = 'cancelled' WHERE status = 'erased';
ALTER TABLE interviews DROP CONSTRAINT interviews_status_check;
ALTER TABLE interviews ADD CONSTRAINT interviews_status_check
    CHECK (status IN ('creating', 'link_posted', 'completed', 'results_posted', 'cancelled', 'failed'));
DROP TABLE erased_candidates;
