-- Counter kinds are a Rust enum (domain::status::CounterKind); the column
-- holds only its values, like every other status and kind column.
ALTER TABLE connection_counters
    ADD CONSTRAINT connection_counters_kind_check CHECK (kind IN ('rejected', 'lever_error'));
