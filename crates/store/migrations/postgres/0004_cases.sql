-- Case desk: cases with human numbers, their conversation (public replies and internal notes),
-- timeline, the context attached on open, links between cases, and agents' presence for
-- routing. Times are BIGINT epoch ms (UTC); JSON is TEXT.
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('case_number', 10000);

ALTER TABLE accounts ADD COLUMN dedicated_agent_id TEXT;

CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    number BIGINT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    category TEXT NOT NULL,
    priority TEXT NOT NULL,
    status TEXT NOT NULL,
    subject TEXT NOT NULL,
    intake TEXT NOT NULL,
    language TEXT NOT NULL,
    channel TEXT NOT NULL,
    tier BIGINT NOT NULL,
    assignee_id TEXT REFERENCES staff (id),
    routing TEXT,
    hold_id TEXT,
    linked_from TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    first_response_at BIGINT,
    awaiting_reply_since BIGINT,
    resolved_at BIGINT,
    closed_at BIGINT,
    pauses TEXT NOT NULL,
    warned TEXT NOT NULL,
    breached TEXT NOT NULL,
    -- The earliest deadline still running (first response / next reply / resolution), for the
    -- queues and the SLA job; NULL while nothing runs or the clock is paused.
    next_due_at BIGINT,
    -- Version for optimistic concurrency: every write checks and bumps it.
    version BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX cases_account ON cases (account_id, created_at);
CREATE INDEX cases_assignee ON cases (assignee_id, status);
CREATE INDEX cases_status ON cases (status, next_due_at);
-- One automatic case per hold.
CREATE UNIQUE INDEX cases_hold ON cases (hold_id) WHERE hold_id IS NOT NULL;

CREATE TABLE case_messages (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    -- holder | staff | system | bot
    author_kind TEXT NOT NULL,
    author_id TEXT,
    -- public | internal (internal notes are never shown to the holder)
    visibility TEXT NOT NULL,
    body TEXT NOT NULL,
    channel TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX case_messages_case ON case_messages (case_id, created_at);

-- What happened to a case, in order; `public` entries are shown on the holder's timeline.
CREATE TABLE case_timeline (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    public BIGINT NOT NULL
);
CREATE INDEX case_timeline_case ON case_timeline (case_id, at);

-- The holds, decisions, events and earlier cases attached when the case opened.
CREATE TABLE case_context (
    case_id TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    ref_id TEXT NOT NULL,
    PRIMARY KEY (case_id, kind, ref_id)
);

-- Agents' presence and when they were last given a case (round robin).
CREATE TABLE staff_presence (
    staff_id TEXT PRIMARY KEY REFERENCES staff (id) ON DELETE CASCADE,
    online BIGINT NOT NULL,
    changed_at BIGINT NOT NULL,
    last_assigned_at BIGINT NOT NULL DEFAULT 0
);
