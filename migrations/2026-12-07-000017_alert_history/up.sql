-- What the alerts evaluator decided for each connection (a problem opened
-- or resolved, a status changed), whether or not any destination was told:
-- the `alert` entries of a candidate's story (docs/contract/timeline.md).
-- Pruned with retention; gone with the connection.
CREATE TABLE IF NOT EXISTS alert_history (
    id bigserial PRIMARY KEY,
    connection_id uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    at timestamptz NOT NULL,
    type text NOT NULL,
    code text NOT NULL,
    message text NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_history_connection_at ON alert_history (connection_id, at);
