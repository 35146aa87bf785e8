-- Narrow dedupe keys for the inbox (issue "Still fast a month later"). Each
-- delivery updates two unique indexes whose keys are random (Lever's token,
-- the candidate's opportunity id): on wide text keys, at millions of rows,
-- they outgrow memory and every insert touches two random leaf pages. The
-- same identities as 16-byte hashes make those indexes 4 to 5 times
-- smaller. The functions are IMMUTABLE so indexes can be built on them;
-- STRICT, so a row with a NULL part has no key (as the old indexes, where
-- NULLs never conflicted).

-- Identity 1: the delivery token, per connection.
CREATE FUNCTION arkiter_token_key(connection uuid, token text) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT md5(connection::text || ':' || token)::uuid $$;

-- Identity 2: the move. The first 8 bytes hash (connection, opportunity), so
-- every move of one candidate sits in one key range (the lookup by candidate
-- is a range scan: arkiter_candidate_low/high); the last 8 hash (event,
-- to-stage, triggeredAt).
CREATE FUNCTION arkiter_move_key(connection uuid, opportunity text, event text,
                                 to_stage text, triggered_at bigint) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT (left(md5(connection::text || ':' || opportunity), 16)
           || left(md5(event || ':' || to_stage || ':' || triggered_at::text), 16))::uuid $$;

-- The range of move keys of one candidate.
CREATE FUNCTION arkiter_candidate_low(connection uuid, opportunity text) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT (left(md5(connection::text || ':' || opportunity), 16) || '0000000000000000')::uuid $$;

CREATE FUNCTION arkiter_candidate_high(connection uuid, opportunity text) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT (left(md5(connection::text || ':' || opportunity), 16) || 'ffffffffffffffff')::uuid $$;
