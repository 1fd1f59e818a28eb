-- Paces any wrk script: each connection waits DELAY_MS between requests, so
-- CONNECTIONS x 1000 / DELAY_MS bounds the rate. SCRIPT names the script to
-- pace (empty: a plain GET with wrk's -H headers).
local script = os.getenv("SCRIPT")
if script and script ~= "" then dofile(script) end
local pause = tonumber(os.getenv("DELAY_MS") or "1")
function delay() return pause end
