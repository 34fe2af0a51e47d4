-- Risk: events with their decisions, each account's detector state, holds and their
-- append-only change log, the job table, webhook endpoints and their delivery outbox.
CREATE TABLE risk_states (
    account_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    last_activity_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX risk_states_activity ON risk_states (last_activity_at);

CREATE TABLE events (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    body_hash TEXT NOT NULL,
    body TEXT NOT NULL,
    decision_id TEXT NOT NULL
);
CREATE INDEX events_account ON events (account_id, occurred_at);

CREATE TABLE decisions (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    action TEXT NOT NULL,
    body TEXT NOT NULL,
    decided_at BIGINT NOT NULL
);
CREATE INDEX decisions_account ON decisions (account_id, decided_at);

CREATE TABLE holds (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    origin TEXT NOT NULL,
    release_policy TEXT NOT NULL,
    reason TEXT NOT NULL,
    confidential BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    cooldown_ms BIGINT,
    amount TEXT,
    asset TEXT,
    decision_id TEXT,
    placed_by TEXT NOT NULL,
    status TEXT NOT NULL,
    released_at BIGINT,
    released_by TEXT
);
CREATE INDEX holds_account_status ON holds (account_id, status);

CREATE TABLE hold_changes (
    id TEXT PRIMARY KEY,
    hold_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    change TEXT NOT NULL,
    actor TEXT NOT NULL,
    at BIGINT NOT NULL,
    note TEXT NOT NULL,
    status_before TEXT,
    status_after TEXT NOT NULL
);
CREATE INDEX hold_changes_hold ON hold_changes (hold_id, at);

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    unique_key TEXT UNIQUE,
    run_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    locked_by TEXT,
    last_error TEXT,
    done_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (done_at, run_at);

CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    event_types TEXT NOT NULL,
    active BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    endpoint_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    last_status BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);
