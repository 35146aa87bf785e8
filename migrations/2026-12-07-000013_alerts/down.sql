DROP TABLE alert_summaries;
DROP TABLE alert_connection_status;
DROP TABLE alert_problems;
DROP TABLE alert_deliveries;
DROP TABLE alert_outbox;
DROP TABLE alert_destinations;
