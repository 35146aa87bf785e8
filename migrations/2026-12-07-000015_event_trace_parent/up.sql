-- A delivery's trace context (a W3C `traceparent`), stored with its event
-- so the unit it causes can link its trace to the delivery's
-- (docs/contract/tracing.md). NULL unless traces are exported. A nullable
-- column without a default: a catalog change only, no table rewrite, and
-- an older instance's inserts (which name their columns) leave it NULL.
ALTER TABLE lever_events ADD COLUMN IF NOT EXISTS trace_parent text;
