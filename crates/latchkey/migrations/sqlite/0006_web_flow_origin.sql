-- --web-flow-confirm: who started a Login API web flow (the client's
-- address and user agent), shown on the callback's confirmation page; and,
-- between the callback and the person's answer, the account GitHub signed
-- in and the hash of the cookie that binds the answer to that browser.
ALTER TABLE web_logins ADD COLUMN started_from TEXT;
ALTER TABLE web_logins ADD COLUMN started_agent TEXT;
ALTER TABLE web_logins ADD COLUMN awaiting_account TEXT;
ALTER TABLE web_logins ADD COLUMN confirm_hash BLOB;
