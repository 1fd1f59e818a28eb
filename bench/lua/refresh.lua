-- The refresh grant, each wrk thread rotating its own chain: run with as many
-- threads as connections (one connection per thread). PAIRS names the file
-- from bench/refresh_tokens.py: the client's Basic credentials, then one
-- refresh token per thread.
local counter = 0
function setup(thread) counter = counter + 1; thread:set("id", counter) end
function init(args)
  local k = 0
  for line in io.lines(os.getenv("PAIRS")) do
    if k == 0 then basic = line elseif k == id then current = line end
    k = k + 1
  end
end
function request()
  return wrk.format("POST", "/oauth/token",
    {["Content-Type"] = "application/x-www-form-urlencoded", ["Authorization"] = "Basic " .. basic},
    "grant_type=refresh_token&refresh_token=" .. current)
end
function response(status, headers, body)
  local t = body:match('"refresh_token":"([^"]+)"')
  if t then current = t end
end
