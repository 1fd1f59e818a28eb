-- The janitor clears rotated refresh tokens' kept successors after the grace
-- window, in batches, through this index.
CREATE INDEX oauth_refresh_tokens_successor_idx ON oauth_refresh_tokens (successor_until);
