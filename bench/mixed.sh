#!/usr/bin/env bash
# SQLite under concurrency (issue 14): 60 s of mixed load at full speed on one
# node's SQLite file — token validation, durable token creation, refresh-token
# rotation (8 chains) and browser logins through the web flow — all at once.
# Passes only with 0 errors: no non-2xx answer, no failed login, and no
# "database is locked" (or any ERROR) in the server's log.
#
#   bash bench/mixed.sh                 # 60 s
#   SECONDS_OF_LOAD=20 bash bench/mixed.sh
set -euo pipefail
cd "$(dirname "$0")/.."

LOAD=${SECONDS_OF_LOAD:-60}
PORT=19895
command -v wrk >/dev/null 2>&1 || {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null
}
cargo build --release --quiet -p latchkey
work=$(mktemp -d)
./target/release/latchkey serve --dev --listen "127.0.0.1:$PORT" \
  --database-url "sqlite://$work/mixed.db" --bootstrap-token-file "$work/admin-token" \
  --login-rate-limit-per-minute 1000000 --access-log off 2>"$work/server.log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/healthcheck" >/dev/null 2>&1 && break
  sleep 0.1
done
base="http://127.0.0.1:$PORT"
secret=$(tr -d '[:space:]' < "$work/admin-token")
export SECRET=$secret  # for bench/lua/create.lua
account=$(curl -fsS "$base/v1/login/token" -H "Authorization: Bearer $secret" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["accountId"])')
python3 bench/refresh_tokens.py "$base" "$secret" 8 > "$work/pairs.txt"


wrk -t1 -c16 -d"${LOAD}s" -H "Authorization: Bearer $secret" "$base/v1/login/token" > "$work/validate.txt" &
w1=$!
wrk -t1 -c8 -d"${LOAD}s" -s bench/lua/create.lua "$base/v1/accounts/$account/tokens" > "$work/create.txt" &
w2=$!
PAIRS="$work/pairs.txt" wrk -t8 -c8 -d"${LOAD}s" -s bench/lua/refresh.lua "$base" > "$work/refresh.txt" &
w3=$!
# Logins: the Login API's web flow, each a GitHub round trip through the
# in-process fake, then the poll that hands out a new durable token.
python3 - "$base" "$LOAD" > "$work/logins.txt" <<'PY' &
import http.client, json, sys, threading, time, urllib.parse
base, seconds = sys.argv[1], float(sys.argv[2])
host = urllib.parse.urlsplit(base).netloc
done, failed, lock = [0], [], threading.Lock()
def get(url):
    parts = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(parts.netloc, timeout=30)
    c.request("GET", parts.path + "?" + parts.query)
    r = c.getresponse()
    return r.status, r.getheader("Location"), r.read()
def worker():
    end = time.time() + seconds
    while time.time() < end:
        try:
            s, _, body = get(base + "/v1/login/oauth2/web/authorize?provider=github")
            assert s == 200, (s, body)
            started = json.loads(body)
            s, back, _ = get(started["url"])
            assert s in (302, 303), ("github", s)
            s, _, _ = get(back)
            assert s in (200, 302, 303), ("callback", s)
            s, _, body = get(base + "/v1/login/oauth2/web/poll?state=" + urllib.parse.quote(started["state"]))
            assert s == 200 and json.loads(body)["secret"]["value"], (s, body)
            with lock: done[0] += 1
        except Exception as e:
            with lock: failed.append(repr(e))
threads = [threading.Thread(target=worker) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
print(done[0], len(failed), failed[:3])
PY
w4=$!
wait "$w1" "$w2" "$w3" "$w4"

errors=0
summary=()
for name in validate create refresh; do
  rps=$(awk '/^Requests\/sec/ {print $2}' "$work/$name.txt")
  total=$(awk '/requests in/ {print $1}' "$work/$name.txt")
  bad=$(awk '/Non-2xx/ {print $NF}' "$work/$name.txt")
  sock=$(awk '/Socket errors/ {print}' "$work/$name.txt")
  [ -n "$bad" ] && errors=$((errors + bad))
  [ -n "$sock" ] && { echo "$name: $sock" >&2; errors=$((errors + 1)); }
  summary+=("| $name | $total | $rps | ${bad:-0} |")
done
read -r logins login_failed login_examples < "$work/logins.txt"
errors=$((errors + login_failed))
summary+=("| web-flow logins | $logins | $(awk -v n="$logins" -v s="$LOAD" 'BEGIN {printf "%.1f", n / s}') | $login_failed |")
locked=$(grep -ci "database is locked" "$work/server.log" || true)
logged_errors=$(grep -c " ERROR " "$work/server.log" || true)
errors=$((errors + locked + logged_errors))
echo "SQLite, ${LOAD} s of mixed load, all at once; $(date -u +%Y-%m-%d)"
echo
echo "| load | requests | per second | errors |"
echo "|---|---:|---:|---:|"
printf '%s\n' "${summary[@]}"
echo
echo "\"database is locked\" in the log: $locked; ERROR lines: $logged_errors; total errors: $errors"
[ "$login_failed" -eq 0 ] || echo "login failures: $login_examples" >&2
[ "$errors" -eq 0 ]
