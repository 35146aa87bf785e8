-- Alerts (docs/contract/alerts.md): where notifications go, the durable
-- outbox they are sent from, each send attempt, and the evaluator's state.

-- An org's destinations, or the operator's (org_id NULL).
CREATE TABLE alert_destinations (
    id uuid PRIMARY KEY,
    org_id uuid REFERENCES orgs (id) ON DELETE CASCADE,
    kind text NOT NULL,
    url text NOT NULL,
    events text[] NOT NULL,
    -- `whsec_...`, sealed like every secret at rest; NULL for Slack.
    secret_enc bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_status smallint,
    -- The first refusal since the last success.
    failing_since timestamptz
);
CREATE INDEX alert_destinations_by_org ON alert_destinations (org_id, created_at);

-- One notification to one destination. Its id is the `webhook-id`, the
-- same on every retry; it is sent until a 2xx or until `give_up_at`.
CREATE TABLE alert_outbox (
    id uuid PRIMARY KEY,
    destination_id uuid NOT NULL REFERENCES alert_destinations (id) ON DELETE CASCADE,
    type text NOT NULL,
    body jsonb NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    give_up_at timestamptz NOT NULL,
    sent_at timestamptz
);
CREATE INDEX alert_outbox_due ON alert_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX alert_outbox_by_time ON alert_outbox (created_at);

-- Each attempt to send, for `GET .../alerts/{id}/deliveries`.
CREATE TABLE alert_deliveries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    destination_id uuid NOT NULL REFERENCES alert_destinations (id) ON DELETE CASCADE,
    outbox_id uuid NOT NULL,
    type text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    -- The receiver's HTTP status; NULL when none came (refused address,
    -- timeout, connection error: see `error`).
    status smallint,
    error text
);
CREATE INDEX alert_deliveries_by_destination ON alert_deliveries (destination_id, at);
CREATE INDEX alert_deliveries_by_time ON alert_deliveries (at);

-- The evaluator's memory of each (connection, problem code): held since
-- when, open or not, clear since when, and when `problem.opened` was last
-- sent for it (at most one per 15 minutes).
CREATE TABLE alert_problems (
    connection_id uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    code text NOT NULL,
    message text NOT NULL,
    held_since timestamptz,
    clear_since timestamptz,
    opened_at timestamptz,
    -- The open was notified (its resolve is then notified too).
    notified boolean NOT NULL DEFAULT false,
    last_opened_notice_at timestamptz,
    PRIMARY KEY (connection_id, code)
);

-- The status each connection had at the last evaluation, for
-- `connection.status_changed`.
CREATE TABLE alert_connection_status (
    connection_id uuid PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    status text NOT NULL
);

-- The operator's summaries: per problem code, the orgs newly affected since
-- the last summary, and when that was sent (one per code per 5 minutes).
CREATE TABLE alert_summaries (
    code text PRIMARY KEY,
    pending_orgs uuid[] NOT NULL DEFAULT '{}',
    last_sent_at timestamptz
);
