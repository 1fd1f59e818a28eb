-- Durable API token creation as the token in SECRET (POST to the account's
-- tokens URL given to wrk).
wrk.method = "POST"
wrk.body = '{"expiresAt": "2100-01-01T00:00:00Z"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("SECRET")
