-- Security events, append-only: the server inserts and the janitor deletes
-- rows past the retention; nothing updates them. `account_id` is the account
-- the event concerns, `actor_id` the account that acted (either may be NULL:
-- a failed login has no account, a rate-limit refusal no actor). Ids are
-- time-ordered (UUIDv7), so they page in time order. No secret is stored.
CREATE TABLE audit_events (
    id         TEXT PRIMARY KEY,
    at         BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    account_id TEXT,
    actor_id   TEXT,
    target     TEXT,
    detail     TEXT,
    address    TEXT,
    request_id TEXT
);
CREATE INDEX audit_events_at_idx ON audit_events (at);
CREATE INDEX audit_events_account_idx ON audit_events (account_id, id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, id);
