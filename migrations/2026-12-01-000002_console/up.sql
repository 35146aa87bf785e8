-- The console (SPEC §3.4): signed-in browser sessions. The cookie carries a
-- random id; only its SHA-256 is stored. A session signed in with an org key
-- keeps the key's id (never the key) and goes with the key: deleting the key
-- ends the session at once. The super-admin's sessions have no key.
CREATE TABLE console_sessions (
    id_sha256   BYTEA PRIMARY KEY,
    key_id      UUID REFERENCES api_keys(id) ON DELETE CASCADE,
    org_id      UUID REFERENCES orgs(id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('super', 'admin', 'member')),
    csrf_token  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    CHECK ((role = 'super') = (key_id IS NULL))
);
CREATE INDEX console_sessions_expires_at ON console_sessions (expires_at);

-- A Lever authorisation started from the console: the callback sends the
-- browser back to the console's Lever page.
ALTER TABLE oauth_states ADD COLUMN from_console BOOLEAN NOT NULL DEFAULT false;

-- The health figures every console page with health reads (SPEC §5), kept
-- fast in a large org (10,000 interviews, 100,000 events; docs/BENCHMARKS.md).
-- Dead events are rare, so their index costs ingest nothing (deliveries
-- arrive `pending`, which `lever_events_due` already covers).
CREATE INDEX lever_events_dead ON lever_events (connection_id) WHERE status = 'dead';
-- Links posted in the last 24 hours (latency percentiles and the chart).
CREATE INDEX interviews_link_posted ON interviews (org_id, link_posted_at)
    WHERE link_posted_at IS NOT NULL;
-- Postings resolved only by fallback (the unmapped postings).
CREATE INDEX interviews_fallback ON interviews (org_id, created_at)
    WHERE rule IN ('fallback', 'any');
