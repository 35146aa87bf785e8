DROP TABLE event_replays;
DROP TABLE lever_calls;
