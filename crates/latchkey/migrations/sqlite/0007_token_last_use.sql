-- When an API token was last used, written in batches at most once a minute
-- per token; NULL until its first recorded use.
ALTER TABLE tokens ADD COLUMN last_used_at BIGINT;
CREATE INDEX tokens_expires_idx ON tokens (expires_at);
