-- The refresh grant, one chain per wrk thread (threads = connections), that
-- writes each chain's newest refresh token back to PAIRS when wrk ends, so the
-- next run continues the chains. PAIRS: the client's Basic credentials, then
-- one refresh token per line.
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
