ALTER TABLE lever_events ADD CONSTRAINT lever_events_connection_id_token_key UNIQUE (connection_id, token);
