-- Link expiry (docs/contract/lifecycle.md): when a posted link expires, and
-- when the interview platform first resolved it (an opened link never
-- expires). A table of its own, one row per interview that has either.
-- `expiry_done` is set once the expiry was looked at (a job queued, or
-- nothing left to close), so the partial index holds only expiries still
-- to come and the due ones are found without scanning.
CREATE TABLE interview_links (
    interview_id  UUID PRIMARY KEY REFERENCES interviews (id) ON DELETE CASCADE,
    connection_id UUID NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    expires_at    TIMESTAMPTZ,
    opened_at     TIMESTAMPTZ,
    expiry_done   BOOLEAN NOT NULL DEFAULT false
);

CREATE INDEX interview_links_due ON interview_links (connection_id, expires_at)
    WHERE NOT expiry_done AND opened_at IS NULL AND expires_at IS NOT NULL;

-- An expiry is worked as a job on its interview. The new check is
-- validated apart, which does not block writes to `jobs` meanwhile (the
-- migration runs outside a transaction: see metadata.toml).
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('complete', 'cancel', 'expire')) NOT VALID;
ALTER TABLE jobs VALIDATE CONSTRAINT jobs_kind_check;
