ALTER TABLE connection_sweeps DROP COLUMN retry_at, DROP COLUMN failing_since, DROP COLUMN failures;
ALTER TABLE connections DROP COLUMN refreshing_until;
ALTER TABLE connection_leases DROP COLUMN claims_epoch;
DROP TABLE candidate_claims;
