-- The refresh grant, each wrk thread rotating its own chain: run with as many
-- threads as connections (one connection per thread). PAIRS names the file
-- from bench/refresh_tokens.py: the client's Basic credentials, then one
-- refresh token per thread. When wrk ends, each chain's newest token is
-- written back to PAIRS, so a later run (reliability/soak.sh) continues it.
local threads = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end
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
function done(summary, latency, requests)
  local lines = {}
  for line in io.lines(os.getenv("PAIRS")) do table.insert(lines, line) end
  for _, thread in ipairs(threads) do lines[thread:get("id") + 1] = thread:get("current") end
  local f = io.open(os.getenv("PAIRS"), "w")
  f:write(table.concat(lines, "\n") .. "\n")
  f:close()
end
