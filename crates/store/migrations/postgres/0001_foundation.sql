-- Foundation: mirrored accounts, staff, staff sessions, platform API keys, sign-in throttling.
-- Ids are TEXT, times BIGINT epoch milliseconds (UTC), flags BIGINT 0/1.
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    email TEXT,
    email_normalized TEXT,
    phone TEXT,
    locale TEXT NOT NULL,
    kyc_level BIGINT NOT NULL,
    vip_level BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX accounts_email ON accounts (email_normalized);

CREATE TABLE staff (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    email_normalized TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    skill_categories TEXT NOT NULL,
    skill_languages TEXT NOT NULL,
    capacity BIGINT NOT NULL,
    locale TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE staff_sessions (
    token_hash TEXT PRIMARY KEY,
    staff_id TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL
);
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);
CREATE INDEX staff_sessions_expiry ON staff_sessions (expires_at);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);

CREATE TABLE signin_failures (
    scope TEXT NOT NULL,
    subject TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX signin_failures_lookup ON signin_failures (scope, subject, at);
CREATE INDEX signin_failures_age ON signin_failures (at);
