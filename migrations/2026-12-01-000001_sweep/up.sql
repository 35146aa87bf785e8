-- The sweep (SPEC §4 "What Lever did not deliver"): events it records carry
-- `source = 'sweep'` (deliveries stay 'webhook'), and each connection's sweep
-- figures and pending on-demand request live in `connection_sweeps`.
ALTER TABLE lever_events
    ADD COLUMN source TEXT NOT NULL DEFAULT 'webhook'
    CHECK (source IN ('webhook', 'sweep'));

-- One row per swept connection, written by the sweep and the sweep endpoint;
-- the health page reads it.
CREATE TABLE connection_sweeps (
    connection_id        UUID PRIMARY KEY REFERENCES connections(id) ON DELETE CASCADE,
    -- When the last sweep finished, and when the next periodic one is due.
    last_at              TIMESTAMPTZ,
    next_at              TIMESTAMPTZ,
    -- Candidates Lever did not deliver: found by the last sweep, and in all.
    found_last           INTEGER NOT NULL DEFAULT 0,
    found_total          BIGINT NOT NULL DEFAULT 0,
    -- An on-demand sweep asked for (POST .../lever/sweep) and not yet begun.
    requested_at         TIMESTAMPTZ,
    -- A sweep under way since then (NULL when none runs).
    started_at           TIMESTAMPTZ,
    last_error           TEXT,
    -- Managed mode: when a sweep last registered our webhook again.
    webhook_repaired_at  TIMESTAMPTZ,
    -- Manual mode: the URL a sweep found no Lever webhook for (NULL: found).
    webhook_missing_url  TEXT,
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The sweep asks, per candidate in the stage, for the interviews of that
-- opportunity (any status): only open ones had an index.
CREATE INDEX interviews_opportunity ON interviews (connection_id, opportunity_id);
