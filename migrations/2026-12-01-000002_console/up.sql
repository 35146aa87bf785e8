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
