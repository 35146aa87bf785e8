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
