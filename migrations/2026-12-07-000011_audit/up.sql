-- Who did what in an org (docs/contract/audit.md): one row per admin
-- action, written in the transaction of the action itself, so an action
-- that did not commit is not listed and one that did always is. No secret
-- and no candidate data in `summary`; `target` may name a candidate (an
-- export or an erase) and is replaced by its keyed hash when the
-- candidate is erased.
CREATE TABLE audit_log (
    id uuid PRIMARY KEY,
    org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- The acting key's id, or `super` for the super-admin token.
    actor text NOT NULL,
    action text NOT NULL,
    target text,
    summary text NOT NULL
);
CREATE INDEX audit_log_by_org ON audit_log (org_id, created_at, id);
CREATE INDEX audit_log_by_target ON audit_log (org_id, target) WHERE target IS NOT NULL;
