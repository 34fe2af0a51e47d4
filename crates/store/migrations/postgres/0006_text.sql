-- Text intelligence: the knowledge base, the change table the search index of every process
-- follows, the triage model and agents' corrections, and the bot's conversations.

-- Every saved version of a knowledge-base article (by slug and locale) is a revision; the
-- newest published revision is what holders read, a newer draft is what editors work on.
CREATE TABLE kb_revisions (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL,
    locale TEXT NOT NULL,
    revision BIGINT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    -- comma-separated
    tags TEXT NOT NULL,
    categories TEXT NOT NULL,
    -- self_thaw | self_freeze, or NULL
    action TEXT,
    -- draft | published
    state TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (slug, locale, revision)
);

-- What changed in searchable text (kind article: ref slug/locale; message: ref message id;
-- case: every message of the case), in order.
CREATE TABLE text_changes (
    seq BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    ref_id TEXT NOT NULL,
    at BIGINT NOT NULL
);

-- Trained triage models (base64 of the model's bytes); the newest is used.
CREATE TABLE triage_models (
    id TEXT PRIMARY KEY,
    examples BIGINT NOT NULL,
    model TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- A case's category as the model predicted it and as staff corrected it: training data.
CREATE TABLE triage_corrections (
    case_id TEXT PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    predicted TEXT,
    category TEXT NOT NULL,
    corrected_by TEXT NOT NULL,
    corrected_at BIGINT NOT NULL
);

-- The bot's conversations with holders: open, solved (the holder said so), or handed over
-- (a case was opened with the transcript).
CREATE TABLE bot_sessions (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    locale TEXT NOT NULL,
    transcript TEXT NOT NULL,
    predicted TEXT,
    confidence TEXT,
    outcome TEXT NOT NULL,
    case_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX bot_sessions_account ON bot_sessions (account_id, created_at);
