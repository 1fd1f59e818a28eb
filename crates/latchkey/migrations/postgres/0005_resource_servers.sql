-- A client registered as one of the platform's own services may introspect
-- any Latchkey token; every other client only the tokens issued to it.
ALTER TABLE oauth_clients ADD COLUMN resource_server BIGINT NOT NULL DEFAULT 0;
