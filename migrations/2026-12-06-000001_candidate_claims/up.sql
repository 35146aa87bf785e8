-- One candidate, one unit of work at a time, on every instance: a unit runs
-- only while its worker holds the claim of its (connection, candidate). The
-- claim is taken in the statement that selects due work, extended before
-- each Lever write to cover the longest time that write may take to land,
-- renewed with the lease, and deleted when the unit settles. A new lease
-- holder cannot claim a candidate whose claim has not run out, so a write the
-- old holder may still have in flight lands before anyone acts again.
-- Expand only: instances of the previous version ignore the table.
CREATE TABLE candidate_claims (
    connection_id   UUID NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    -- The opportunity, or `event:<id>` for an event that names none.
    opportunity_id  TEXT NOT NULL,
    unit_id         UUID NOT NULL,
    owner           TEXT NOT NULL,
    epoch           BIGINT NOT NULL,
    until           TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (connection_id, opportunity_id)
);
CREATE INDEX candidate_claims_owner ON candidate_claims (owner);

-- The epoch at which the lease's holder took claims. An instance of the
-- previous version holds leases without updating it, so whoever takes a
-- lease whose `claims_epoch` is not its `epoch` knows the last holder took
-- no claims and waits out the longest write before acting.
ALTER TABLE connection_leases ADD COLUMN claims_epoch BIGINT NOT NULL DEFAULT 0;

-- One token refresh at a time per connection, across instances, without
-- holding a database connection while Lever answers: the refresher marks
-- the row until this time, calls Lever, then stores the new grant and
-- clears the mark. A mark past its time is free to take again.
ALTER TABLE connections ADD COLUMN refreshing_until TIMESTAMPTZ;

-- A sweep that could not finish is not a sweep that ran: it leaves `last_at`
-- and the figures alone, counts its failures since the last sweep that ran
-- (the retry backs off with them), says since when (`failing_since`, with
-- the error in `last_error`), and is due again at `retry_at`. An on-demand
-- request stays queued until a sweep completes.
ALTER TABLE connection_sweeps
    ADD COLUMN failures INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN failing_since TIMESTAMPTZ,
    ADD COLUMN retry_at TIMESTAMPTZ;
