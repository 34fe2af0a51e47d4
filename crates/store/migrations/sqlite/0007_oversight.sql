-- Oversight: the hash-chained audit log, official channels, staff agent IDs and single sign-on,
-- and what analytics needs that no other table keeps (searches, articles shown).

-- Append-only. Each entry's hash covers its content and the previous entry's hash; audit_head
-- holds the last entry, so removing entries at the end is detected too.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    ip TEXT,
    action TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_subject ON audit_log (subject_type, subject_id);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);

CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Official domains, email senders, phone numbers and social handles (value normalised).
CREATE TABLE official_channels (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (kind, value)
);

-- A staff member's public agent ID (what they give holders), and their identity at the
-- OpenID Connect provider once they signed in through it.
ALTER TABLE staff ADD COLUMN agent_id TEXT;
ALTER TABLE staff ADD COLUMN oidc_subject TEXT;
-- The team a staff member belongs to (analytics filter by team; free text such as zh-desk).
ALTER TABLE staff ADD COLUMN team TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX staff_agent_id ON staff (agent_id);
CREATE UNIQUE INDEX staff_oidc_subject ON staff (oidc_subject);

-- Searches (after the secret guard) and articles shown, for the analytics of top searched terms
-- and most shown articles.
CREATE TABLE search_log (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    surface TEXT NOT NULL,
    locale TEXT NOT NULL,
    query TEXT NOT NULL,
    results BIGINT NOT NULL
);
CREATE INDEX search_log_at ON search_log (at);

CREATE TABLE article_shows (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    slug TEXT NOT NULL,
    surface TEXT NOT NULL
);
CREATE INDEX article_shows_at ON article_shows (at);
