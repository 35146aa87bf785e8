ALTER TABLE roles DROP COLUMN link_ttl_days;
