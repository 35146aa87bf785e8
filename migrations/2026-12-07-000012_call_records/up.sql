-- Per-candidate records (docs/contract/timeline.md).
--
-- Every HTTP attempt a unit of work made to Lever for a candidate: the
-- route with its ids replaced by `{id}`, the status (NULL: no answer),
-- how long it took and which attempt of its call it was. The candidate is
-- named by its keyed hash (the value that stands for it once erased), so
-- these rows never hold its id in clear; an erase deletes them. Written in
-- batches, pruned with retention.
CREATE TABLE lever_calls (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection_id uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    candidate_key text NOT NULL,
    unit_id uuid NOT NULL,
    route text NOT NULL,
    status smallint,
    duration_ms integer NOT NULL,
    attempt smallint NOT NULL,
    sent_at timestamptz NOT NULL
);
CREATE INDEX lever_calls_by_candidate ON lever_calls (connection_id, candidate_key, sent_at);
CREATE INDEX lever_calls_by_time ON lever_calls (sent_at);

-- Each replay of an event (one, or in bulk), by whom: the timeline's
-- `replay` entries. Goes with its event.
CREATE TABLE event_replays (
    event_id uuid NOT NULL REFERENCES lever_events (id) ON DELETE CASCADE,
    replayed_at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    PRIMARY KEY (event_id, replayed_at)
);
