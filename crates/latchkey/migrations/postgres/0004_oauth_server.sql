-- Latchkey as an OAuth2 authorization server. Every secret (client secrets,
-- codes, device codes, access and refresh tokens) is kept only as the SHA-256
-- of its text. Scopes and grant types are space-separated names; redirect
-- URIs a JSON array of strings.

-- API tokens of the Token API may be named and narrowed.
ALTER TABLE tokens ADD COLUMN name TEXT;
ALTER TABLE tokens ADD COLUMN scopes TEXT;

CREATE TABLE oauth_clients (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    public        BIGINT NOT NULL,
    scopes        TEXT NOT NULL,
    grant_types   TEXT NOT NULL,
    secret_hash   BYTEA,
    created_at    BIGINT NOT NULL
);

-- What a user agreed to give a client; asking for more shows the page again.
CREATE TABLE oauth_consents (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, client_id)
);

-- One authorization (a token family): everything one consent, device
-- approval or client_credentials request issued points here.
CREATE TABLE oauth_grants (
    id           TEXT PRIMARY KEY,
    account_id   TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    client_id    TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    scopes       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX oauth_grants_account_idx ON oauth_grants (account_id, client_id);
CREATE INDEX oauth_grants_client_idx ON oauth_grants (client_id);

CREATE TABLE oauth_codes (
    code_hash      BYTEA PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    account_id     TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    redirect_uri   TEXT,
    code_challenge TEXT,
    scopes         TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    -- The grant its exchange created, revoked if the code comes back.
    grant_id       TEXT
);
CREATE INDEX oauth_codes_expires_idx ON oauth_codes (expires_at);

CREATE TABLE oauth_access_tokens (
    id          TEXT PRIMARY KEY,
    secret_hash BYTEA NOT NULL UNIQUE,
    client_id   TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    grant_id    TEXT REFERENCES oauth_grants (id) ON DELETE CASCADE,
    -- NULL for client_credentials: the token acts as the client.
    account_id  TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    scopes      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX oauth_access_tokens_grant_idx ON oauth_access_tokens (grant_id);
CREATE INDEX oauth_access_tokens_client_idx ON oauth_access_tokens (client_id);
CREATE INDEX oauth_access_tokens_account_idx ON oauth_access_tokens (account_id);
CREATE INDEX oauth_access_tokens_expires_idx ON oauth_access_tokens (expires_at);

CREATE TABLE oauth_refresh_tokens (
    secret_hash     BYTEA PRIMARY KEY,
    grant_id        TEXT NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    scopes          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    -- Set once, by the rotation that used it.
    used_at         BIGINT,
    -- The pair that rotation issued, sealed under the server key, kept only
    -- through the grace window so a retry gets the same pair back.
    successor       TEXT,
    successor_until BIGINT
);
CREATE INDEX oauth_refresh_tokens_grant_idx ON oauth_refresh_tokens (grant_id);
CREATE INDEX oauth_refresh_tokens_expires_idx ON oauth_refresh_tokens (expires_at);

-- RFC 8628 device authorizations in flight.
CREATE TABLE oauth_device_codes (
    code_hash    BYTEA PRIMARY KEY,
    user_code    TEXT NOT NULL UNIQUE,
    client_id    TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    scopes       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    interval_secs BIGINT NOT NULL,
    last_poll_at BIGINT,
    -- pending, approved, denied or issued
    status       TEXT NOT NULL,
    account_id   TEXT REFERENCES accounts (id) ON DELETE CASCADE
);
CREATE INDEX oauth_device_codes_expires_idx ON oauth_device_codes (expires_at);

-- Browser sign-in binds its GitHub state to the browser that started it.
ALTER TABLE web_logins ADD COLUMN prelogin_hash BYTEA;
