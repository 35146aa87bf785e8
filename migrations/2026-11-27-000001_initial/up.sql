-- The whole schema of the service: tenants and their keys, the Lever connection
-- of each org with its webhooks, role mappings, the durable inbox of Lever
-- events, interviews, follow-up jobs and the per-connection health record.

CREATE TABLE orgs (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Org API keys `ak_<id>_<secret>`: only the SHA-256 digest of the secret is kept.
CREATE TABLE api_keys (
    id            UUID PRIMARY KEY,
    org_id        UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    label         TEXT NOT NULL DEFAULT '',
    secret_sha256 BYTEA NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at  TIMESTAMPTZ
);
CREATE INDEX api_keys_org ON api_keys (org_id, created_at);

-- One Lever connection per org. Tokens are AES-GCM ciphertexts.
CREATE TABLE connections (
    id                  UUID PRIMARY KEY,
    org_id              UUID NOT NULL UNIQUE REFERENCES orgs(id) ON DELETE CASCADE,
    status              TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'active', 'needs_setup', 'needs_reauth', 'disconnected')),
    lever_account_id    TEXT UNIQUE,
    stage_id            TEXT,
    stage_name          TEXT NOT NULL DEFAULT 'Arkiter Live',
    stage_found         BOOLEAN NOT NULL DEFAULT false,
    tag_link_created    TEXT NOT NULL DEFAULT 'Arkiter Live: Link Created',
    tag_completed       TEXT NOT NULL DEFAULT 'Arkiter Live: Completed',
    perform_as          TEXT,
    access_token_enc    BYTEA,
    refresh_token_enc   BYTEA,
    token_expires_at    TIMESTAMPTZ,
    token_state         TEXT NOT NULL DEFAULT 'invalid' CHECK (token_state IN ('valid', 'refreshing', 'invalid')),
    last_refreshed_at   TIMESTAMPTZ,
    scopes              TEXT,
    problems            JSONB NOT NULL DEFAULT '[]',
    connected_at        TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Pending OAuth authorisations: the state is stored as a digest, single use, short-lived.
CREATE TABLE oauth_states (
    state_sha256   BYTEA PRIMARY KEY,
    org_id         UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    connection_id  UUID NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    stage_id       TEXT,
    stage_name     TEXT,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at     TIMESTAMPTZ NOT NULL,
    used_at        TIMESTAMPTZ
);

-- A connection's Lever webhooks, each with its own signature token (encrypted).
-- Unmanaged rows are tokens an admin pasted; managed ones we registered via the API.
CREATE TABLE lever_webhooks (
    id                  UUID PRIMARY KEY,
    connection_id       UUID NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    lever_webhook_id    TEXT,
    url                 TEXT NOT NULL,
    managed             BOOLEAN NOT NULL,
    signature_token_enc BYTEA NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at          TIMESTAMPTZ
);
CREATE INDEX lever_webhooks_connection ON lever_webhooks (connection_id);

CREATE TABLE roles (
    id          UUID PRIMARY KEY,
    org_id      UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name        TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    fallback    BOOLEAN NOT NULL DEFAULT false,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX roles_org ON roles (org_id, created_at);
-- At most one fallback role per org.
CREATE UNIQUE INDEX roles_one_fallback ON roles (org_id) WHERE fallback;

-- A role's Lever job titles / posting ids. entry_key is the trimmed, lower-cased
-- entry: one mapping per entry per org.
CREATE TABLE role_ats_jobs (
    org_id     UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    role_id    UUID NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    entry      TEXT NOT NULL CHECK (char_length(entry) BETWEEN 1 AND 200),
    entry_key  TEXT NOT NULL,
    PRIMARY KEY (role_id, position),
    UNIQUE (org_id, entry_key)
);

-- The durable inbox: every verified Lever delivery, committed before the 2xx.
CREATE TABLE lever_events (
    id               UUID PRIMARY KEY,
    connection_id    UUID NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    org_id           UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    event            TEXT NOT NULL,
    token            TEXT NOT NULL,
    triggered_at     BIGINT NOT NULL,
    opportunity_id   TEXT,
    to_stage_id      TEXT,
    from_stage_id    TEXT,
    payload          JSONB NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'retrying', 'done', 'ignored', 'dead')),
    reason           TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_error       TEXT,
    interview_id     UUID,
    received_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Dedupe identity 1: the delivery token.
    UNIQUE (connection_id, token)
);
-- Dedupe identity 2: the same move delivered by two webhooks with different tokens.
CREATE UNIQUE INDEX lever_events_move ON lever_events (connection_id, event, opportunity_id, to_stage_id, triggered_at)
    WHERE opportunity_id IS NOT NULL;
CREATE INDEX lever_events_due ON lever_events (connection_id, next_attempt_at) WHERE status IN ('pending', 'retrying');
CREATE INDEX lever_events_org ON lever_events (org_id, received_at);

CREATE TABLE interviews (
    id                 UUID PRIMARY KEY,
    org_id             UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    connection_id      UUID NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    event_id           UUID REFERENCES lever_events(id) ON DELETE SET NULL,
    opportunity_id     TEXT NOT NULL,
    posting_id         TEXT,
    posting_title      TEXT,
    role_id            UUID REFERENCES roles(id) ON DELETE SET NULL,
    role_name          TEXT,
    rule               TEXT NOT NULL CHECK (rule IN ('posting_id', 'title', 'fallback', 'any', 'none')),
    status             TEXT NOT NULL CHECK (status IN ('creating', 'link_posted', 'completed', 'results_posted', 'cancelled', 'failed')),
    live_token         TEXT NOT NULL UNIQUE,
    results_token      TEXT NOT NULL UNIQUE,
    link_added_at      TIMESTAMPTZ,
    link_tag           TEXT,
    link_posted_at     TIMESTAMPTZ,
    result             JSONB,
    completed_at       TIMESTAMPTZ,
    results_link_added_at TIMESTAMPTZ,
    live_link_removed_at  TIMESTAMPTZ,
    completed_tag      TEXT,
    completed_tag_added_at TIMESTAMPTZ,
    link_tag_removed_at   TIMESTAMPTZ,
    note_id            TEXT,
    results_posted_at  TIMESTAMPTZ,
    cancelled_at       TIMESTAMPTZ,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- One open interview per opportunity per connection.
CREATE UNIQUE INDEX interviews_one_open ON interviews (connection_id, opportunity_id)
    WHERE status IN ('creating', 'link_posted');
CREATE INDEX interviews_org ON interviews (org_id, created_at);

-- Follow-up work on an interview (posting results, cancelling), with the same
-- retry bookkeeping as events.
CREATE TABLE jobs (
    id               UUID PRIMARY KEY,
    connection_id    UUID NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    interview_id     UUID NOT NULL REFERENCES interviews(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL CHECK (kind IN ('complete', 'cancel')),
    status           TEXT NOT NULL CHECK (status IN ('pending', 'retrying', 'done', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX jobs_due ON jobs (connection_id, next_attempt_at) WHERE status IN ('pending', 'retrying');

-- What the account supervisor records as it goes; the health endpoint reads it.
CREATE TABLE connection_health (
    connection_id        UUID PRIMARY KEY REFERENCES connections(id) ON DELETE CASCADE,
    supervisor_running   BOOLEAN NOT NULL DEFAULT false,
    instance             TEXT,
    heartbeat_at         TIMESTAMPTZ,
    restarts             INTEGER NOT NULL DEFAULT 0,
    last_received_at     TIMESTAMPTZ,
    last_success_at      TIMESTAMPTZ,
    last_error           TEXT,
    last_error_at        TIMESTAMPTZ,
    throttled_until      TIMESTAMPTZ,
    link_p50_ms          INTEGER,
    link_p95_ms          INTEGER,
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Per-minute counters (rejected deliveries, Lever errors) for "last hour" figures.
CREATE TABLE connection_counters (
    connection_id  UUID NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    kind           TEXT NOT NULL,
    minute         TIMESTAMPTZ NOT NULL,
    count          INTEGER NOT NULL,
    PRIMARY KEY (connection_id, kind, minute)
);
