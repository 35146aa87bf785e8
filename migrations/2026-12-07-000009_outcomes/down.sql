DROP TABLE attention_tags;
ALTER TABLE interviews DROP CONSTRAINT interviews_rule_check;
ALTER TABLE interviews ADD CONSTRAINT interviews_rule_check
    CHECK (rule IN ('posting_id', 'title', 'fallback', 'any', 'none')) NOT VALID;
DROP TABLE connection_results;
DROP TABLE interview_outcomes;
DROP INDEX role_ats_jobs_org_key;
ALTER TABLE role_ats_jobs ADD CONSTRAINT role_ats_jobs_org_id_entry_key_key UNIQUE (org_id, entry_key);
DROP TABLE role_ats_tags;
ALTER TABLE roles
    DROP COLUMN pass_score,
    DROP COLUMN on_pass_stage_id,
    DROP COLUMN on_pass_stage_name,
    DROP COLUMN stages;
