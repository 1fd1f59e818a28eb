-- Who started a Login API web flow, shown on the callback's confirmation
-- page (--web-flow-confirm): the client's address and user agent.
ALTER TABLE web_logins ADD COLUMN started_from TEXT;
ALTER TABLE web_logins ADD COLUMN started_agent TEXT;
