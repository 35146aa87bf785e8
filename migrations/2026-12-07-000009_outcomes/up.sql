-- Results where recruiters decide (docs/contract/results.md): a role's pass
-- score, next stage, trigger stages and Lever posting tags; each interview's
-- trigger stage and outcome; the connection's outcome tags. New columns have
-- a constant default or none, so no table is rewritten, and the new tables
-- are side tables (`interviews` is at Diesel's column limit), so an instance
-- of the previous version keeps working beside this one.

ALTER TABLE roles
    ADD COLUMN pass_score SMALLINT CHECK (pass_score BETWEEN 0 AND 100),
    -- The stage a passing candidate moves to, as the admin named it: by id,
    -- or by name (looked up in Lever when a candidate first passes).
    ADD COLUMN on_pass_stage_id TEXT CHECK (char_length(on_pass_stage_id) BETWEEN 1 AND 200),
    ADD COLUMN on_pass_stage_name TEXT CHECK (char_length(on_pass_stage_name) BETWEEN 1 AND 200),
    -- The trigger stages the role is used for; empty: every one.
    ADD COLUMN stages TEXT[] NOT NULL DEFAULT '{}';

-- A role's Lever posting tags, compared exactly (Lever's tags are
-- case-sensitive).
CREATE TABLE role_ats_tags (
    org_id   UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    role_id  UUID NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    tag      TEXT NOT NULL CHECK (char_length(tag) BETWEEN 1 AND 200),
    PRIMARY KEY (role_id, position)
);
CREATE INDEX role_ats_tags_org ON role_ats_tags (org_id, tag);

-- An entry is unique among roles that share a trigger stage, which a
-- unique index cannot say: the service checks it under a lock on the org's
-- row. The plain index keeps the check an index probe.
ALTER TABLE role_ats_jobs DROP CONSTRAINT role_ats_jobs_org_id_entry_key_key;
CREATE INDEX role_ats_jobs_org_key ON role_ats_jobs (org_id, entry_key);

-- A role chosen by one of the posting's Lever tags. The new check is
-- added unvalidated and validated apart, so no lock stops ingest while the
-- rows are read.
ALTER TABLE interviews DROP CONSTRAINT interviews_rule_check;
ALTER TABLE interviews ADD CONSTRAINT interviews_rule_check
    CHECK (rule IN ('posting_id', 'posting_tag', 'title', 'fallback', 'any', 'none')) NOT VALID;
ALTER TABLE interviews VALIDATE CONSTRAINT interviews_rule_check;

-- What a completion decided and did beyond the swap and the note.
CREATE TABLE interview_outcomes (
    interview_id          UUID PRIMARY KEY REFERENCES interviews(id) ON DELETE CASCADE,
    -- The trigger stage the interview was linked from.
    stage_id              TEXT,
    outcome               TEXT CHECK (outcome IN ('passed', 'not_passed')),
    -- The passed or not-passed tag, once on Lever: the name as posted.
    outcome_tag           TEXT,
    -- The pass move: `moved`, or `skipped` when the recruiter had moved
    -- the candidate first (or the role has no next stage any more).
    stage_move            TEXT CHECK (stage_move IN ('moved', 'skipped')),
    stage_move_at         TIMESTAMPTZ,
    -- The feedback form and the PDF file written for the completion.
    feedback_id           TEXT,
    file_id               TEXT,
    -- Why the note was written in place of a form or a file, if it was.
    note_instead          TEXT,
    -- When the note, form or file was first sent: a later attempt that
    -- finds one sent but not recorded reads Lever before sending it again
    -- (a first attempt writes without that read).
    note_sent_at          TIMESTAMPTZ,
    feedback_sent_at      TIMESTAMPTZ,
    file_sent_at          TIMESTAMPTZ
);

-- Every interview so far was linked from its connection's one stage.
INSERT INTO interview_outcomes (interview_id, stage_id)
SELECT i.id, c.stage_id
FROM interviews i JOIN connections c ON c.id = i.connection_id
WHERE c.stage_id IS NOT NULL;

-- The connection's results settings: which results a completion writes
-- (note, feedback form, PDF file), its outcome and needs-attention tags
-- (null: off), the feedback template found or made in its Lever account,
-- and the last refusal of a form or file. No row: the defaults below.
CREATE TABLE connection_results (
    connection_id   UUID PRIMARY KEY REFERENCES connections(id) ON DELETE CASCADE,
    note            BOOLEAN NOT NULL DEFAULT true,
    feedback        BOOLEAN NOT NULL DEFAULT false,
    pdf             BOOLEAN NOT NULL DEFAULT false,
    tag_passed      TEXT DEFAULT 'Arkiter Live: Passed'
        CHECK (char_length(tag_passed) BETWEEN 1 AND 200),
    tag_not_passed  TEXT DEFAULT 'Arkiter Live: Not Passed'
        CHECK (char_length(tag_not_passed) BETWEEN 1 AND 200),
    tag_needs_attention TEXT DEFAULT 'Arkiter Live: Needs Attention'
        CHECK (char_length(tag_needs_attention) BETWEEN 1 AND 200),
    -- {"account","id","fields":{...}}: the template and its field ids.
    feedback_template JSONB,
    -- {"what","why","at"}: cleared by the next write of that kind.
    results_refused JSONB,
    CHECK (note OR feedback OR pdf)
);

-- The needs-attention tag on a candidate whose event failed in a way an
-- admin must fix, with the name as posted and the event it was posted for,
-- until a link is posted or the candidate's interview closes or is erased.
CREATE TABLE attention_tags (
    connection_id  UUID NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    opportunity_id TEXT NOT NULL,
    tag            TEXT NOT NULL,
    event_id       UUID,
    posted_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, opportunity_id)
);
