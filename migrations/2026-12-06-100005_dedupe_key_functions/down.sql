DROP FUNCTION IF EXISTS arkiter_candidate_high(uuid, text);
DROP FUNCTION IF EXISTS arkiter_candidate_low(uuid, text);
DROP FUNCTION IF EXISTS arkiter_move_key(uuid, text, text, text, bigint);
DROP FUNCTION IF EXISTS arkiter_token_key(uuid, text);
