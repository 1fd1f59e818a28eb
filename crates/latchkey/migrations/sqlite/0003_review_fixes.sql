-- An account's email is verified only when an admin set it or it came from
-- GitHub's verified addresses (0/1, BIGINT as every other number here). Only
-- verified emails are unique: a self-chosen, unverified address can neither
-- block nor capture the real owner's sign-up. Accounts from before this
-- migration count as verified only if they are admins (their email came from
-- configuration or an admin); the others must be re-confirmed by an admin.
ALTER TABLE accounts ADD COLUMN email_verified BIGINT NOT NULL DEFAULT 0;
UPDATE accounts SET email_verified = 1 WHERE role = 'admin';
DROP INDEX accounts_email_key;
CREATE UNIQUE INDEX accounts_verified_email_key ON accounts (email) WHERE email_verified = 1;
CREATE INDEX accounts_email_idx ON accounts (email);

-- One-time events claimed by a primary key, such as the first-start
-- bootstrap: of several nodes starting on an empty database one inserts it.
CREATE TABLE once_markers (
    name       TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);
INSERT INTO once_markers (name, created_at)
    SELECT 'bootstrap', 0 WHERE EXISTS (SELECT 1 FROM accounts);

-- Device-flow completions in progress: a lease per device code (by SHA-256)
-- so only one request on any node polls GitHub for it, and the pacing GitHub
-- asked for (interval, next allowed poll) survives from one completion to the next.
CREATE TABLE device_polls (
    code_hash     BLOB PRIMARY KEY,
    holder        TEXT NOT NULL,
    leased_until  BIGINT NOT NULL,
    interval_secs BIGINT NOT NULL,
    next_poll_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX device_polls_expires_idx ON device_polls (expires_at);
