-- One external identity (GitHub user id) per account and provider.
CREATE TABLE identities (
    provider   TEXT NOT NULL,
    subject    TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    login      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (provider, subject)
);

CREATE UNIQUE INDEX identities_account_key ON identities (provider, account_id);

-- Browser logins in flight. States are kept only as SHA-256 hashes.
CREATE TABLE web_logins (
    state_hash BYTEA PRIMARY KEY,
    poll_hash  BYTEA NOT NULL UNIQUE,
    redirect   TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    account_id TEXT,
    error      TEXT
);

CREATE INDEX web_logins_expires_idx ON web_logins (expires_at);

-- Keys generated on first start, shared by every node on this database.
CREATE TABLE server_keys (
    name       TEXT PRIMARY KEY,
    value      BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
