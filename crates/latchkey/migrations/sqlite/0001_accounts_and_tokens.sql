-- Ids are TEXT and instants are BIGINT microseconds in both dialects, so that
-- one store layer (sqlx's Any driver) reads and writes them the same way.
CREATE TABLE plans (
    id                   TEXT PRIMARY KEY,
    project_limit        BIGINT NOT NULL,
    component_limit      BIGINT NOT NULL,
    worker_limit         BIGINT NOT NULL,
    storage_limit        BIGINT NOT NULL,
    monthly_gas_limit    BIGINT NOT NULL,
    monthly_upload_limit BIGINT NOT NULL
);

INSERT INTO plans VALUES
    ('00000000-0000-4000-8000-000000000001', 100, 100, 10000, 500000000, 1000000000000, 1000000000);

CREATE TABLE accounts (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'user')),
    plan_id    TEXT NOT NULL REFERENCES plans (id),
    created_at BIGINT NOT NULL
);

CREATE UNIQUE INDEX accounts_email_key ON accounts (email);

CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    secret_hash BLOB NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE UNIQUE INDEX tokens_secret_hash_key ON tokens (secret_hash);
CREATE INDEX tokens_account_id_idx ON tokens (account_id, created_at);
