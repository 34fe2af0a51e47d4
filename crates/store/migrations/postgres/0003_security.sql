-- Security centre: account holders' sessions and sign-in codes, step-up factors (TOTP,
-- passkeys, recovery codes) for holders and staff, freeze links, alerts, outgoing email and
-- the account_theft cases the case desk must open. Times are BIGINT epoch ms (UTC).
ALTER TABLE accounts ADD COLUMN anti_phishing_code TEXT;

CREATE TABLE holder_sessions (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    via TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL
);
CREATE INDEX holder_sessions_account ON holder_sessions (account_id);
CREATE INDEX holder_sessions_expiry ON holder_sessions (expires_at);

-- Factors verified in a session for step-up; they count for a few minutes.
CREATE TABLE session_factors (
    session_hash TEXT NOT NULL,
    factor TEXT NOT NULL,
    verified_at BIGINT NOT NULL,
    PRIMARY KEY (session_hash, factor)
);

-- Single sign-on token ids already used (kept until the token would have expired anyway).
CREATE TABLE sso_tokens_used (
    jti TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

-- One-time email codes: for signing in (no account known to the visitor) and for step-up.
CREATE TABLE email_codes (
    id TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    account_id TEXT,
    code_hash TEXT NOT NULL,
    tries BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX email_codes_lookup ON email_codes (purpose, email_normalized, created_at);

-- TOTP and passkey factors of account holders (subject_kind 'account') and staff ('staff').
CREATE TABLE factors (
    id TEXT PRIMARY KEY,
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    secret TEXT NOT NULL,
    confirmed BIGINT NOT NULL DEFAULT 0,
    last_step BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX factors_subject ON factors (subject_kind, subject_id, kind);

CREATE TABLE recovery_codes (
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (subject_kind, subject_id, code_hash)
);

-- WebAuthn ceremonies in flight, so that any process can finish one.
CREATE TABLE webauthn_ceremonies (
    id TEXT PRIMARY KEY,
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    state TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- "This wasn't me" links in alert emails: single use, valid 24 h, only a hash is kept.
CREATE TABLE freeze_links (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

-- Alerts to account holders, with their facts; also the throttle (one per kind per window).
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    facts TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX alerts_account ON alerts (account_id, kind, created_at);

-- Every email thaw sends, rendered, with its delivery state.
CREATE TABLE emails (
    id TEXT PRIMARY KEY,
    account_id TEXT,
    to_addr TEXT NOT NULL,
    purpose TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX emails_account ON emails (account_id, created_at);

-- Cases the case desk must open (account_theft after a self-freeze), with their context.
CREATE TABLE pending_cases (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    category TEXT NOT NULL,
    context TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    opened_case_id TEXT
);

-- Server-wide settings changed at run time by admins (e.g. staff must use TOTP).
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
