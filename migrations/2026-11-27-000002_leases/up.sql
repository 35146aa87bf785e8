-- Scale-out: instances sharing one Postgres. Each connection is worked on by
-- the one instance holding its lease; every worker write carries the epoch it
-- was taken under and is refused once the epoch moved on (fencing).

CREATE TABLE instances (
    id            TEXT PRIMARY KEY,
    heartbeat_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE connection_leases (
    connection_id  UUID PRIMARY KEY REFERENCES connections(id) ON DELETE CASCADE,
    owner          TEXT,
    epoch          BIGINT NOT NULL DEFAULT 0,
    expires_at     TIMESTAMPTZ NOT NULL DEFAULT '-infinity'
);
CREATE INDEX connection_leases_owner ON connection_leases (owner);
