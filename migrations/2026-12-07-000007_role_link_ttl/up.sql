-- A role's own time to live for unopened links (docs/contract/lifecycle.md):
-- it wins over the connection's. Nullable, no default: no table rewrite.
ALTER TABLE roles ADD COLUMN link_ttl_days INTEGER CHECK (link_ttl_days BETWEEN 1 AND 365);
