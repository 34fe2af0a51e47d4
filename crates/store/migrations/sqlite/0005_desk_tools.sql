-- Case desk tools: each staff member's own limits, approval requests above them (four eyes),
-- goodwill compensation, the email thread of a case (per-email reply tokens, Message-IDs),
-- evidence attachments by content hash, ratings, QA reviews, appeals and merges, and the
-- change feed that live pages follow across server processes.

-- StaffLimits as JSON ('{}' = the role's defaults).
ALTER TABLE staff ADD COLUMN limits TEXT NOT NULL DEFAULT '{}';

-- An action beyond the requester's authority, waiting for a supervisor (never the requester).
CREATE TABLE approvals (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    -- release_hold | compensation
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    reason TEXT NOT NULL,
    requested_by TEXT NOT NULL REFERENCES staff (id),
    requested_at BIGINT NOT NULL,
    -- pending | approved | denied | failed
    status TEXT NOT NULL,
    decided_by TEXT REFERENCES staff (id),
    decided_at BIGINT,
    decision_note TEXT,
    outcome TEXT
);
CREATE INDEX approvals_status ON approvals (status, requested_at);
CREATE INDEX approvals_case ON approvals (case_id);

-- Goodwill compensation granted on a case; the platform pays it (webhook compensation.granted).
CREATE TABLE compensations (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL,
    asset TEXT NOT NULL,
    amount TEXT NOT NULL,
    reason TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    approved_by TEXT,
    approval_id TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX compensations_case ON compensations (case_id);

-- The headers that thread a case email.
ALTER TABLE emails ADD COLUMN message_id TEXT;
ALTER TABLE emails ADD COLUMN in_reply_to TEXT;
ALTER TABLE emails ADD COLUMN reply_to TEXT;

-- Every email of a case, both ways: Message-IDs thread replies; the reply token of an outgoing
-- email (only its hash) lets the holder's answer find its case.
CREATE TABLE case_mail (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    -- out | in
    direction TEXT NOT NULL,
    message_id TEXT NOT NULL,
    token_hash TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX case_mail_message ON case_mail (message_id);
CREATE UNIQUE INDEX case_mail_token ON case_mail (token_hash) WHERE token_hash IS NOT NULL;

-- Evidence: the content lives in object storage under its SHA-256; the row stays after an
-- identity document is deleted at the end of its retention (deleted_at set).
CREATE TABLE case_attachments (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    message_id TEXT,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    filename TEXT NOT NULL,
    identity_document BIGINT NOT NULL,
    uploaded_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX case_attachments_case ON case_attachments (case_id);
CREATE INDEX case_attachments_sha ON case_attachments (sha256);

-- The holder's rating of a resolved case (one per case; a later rating replaces it).
CREATE TABLE case_ratings (
    case_id TEXT PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,
    score BIGINT NOT NULL,
    comment TEXT NOT NULL,
    channel TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Resolved cases sampled for quality review, and the reviewer's scorecard.
CREATE TABLE qa_reviews (
    case_id TEXT PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,
    sampled_at BIGINT NOT NULL,
    agent_id TEXT,
    reviewer_id TEXT REFERENCES staff (id),
    scores TEXT,
    total BIGINT,
    comment TEXT,
    reviewed_at BIGINT
);
CREATE INDEX qa_reviews_open ON qa_reviews (reviewed_at, sampled_at);

-- What a case appeals (hold:<id> or case:<id>), who decided it, and a merge.
ALTER TABLE cases ADD COLUMN appeal_of TEXT;
ALTER TABLE cases ADD COLUMN decided_by TEXT;
ALTER TABLE cases ADD COLUMN merged_into TEXT;
-- A per-case secret for the rating link in emails (only its hash).
ALTER TABLE cases ADD COLUMN rating_token_hash TEXT;

-- Every change of a case, in order, for the live pages of every server process (polled).
CREATE TABLE case_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    at BIGINT NOT NULL
);
