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
. bench/lib.sh
ensure_wrk
cargo build --release --quiet -p latchkey
work=$(mktemp -d)
serve_dev "$PORT" "sqlite://$work/mixed.db" "$work"
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
base="http://127.0.0.1:$PORT"
wait_healthy "$base"
secret=$(admin_secret "$work")
export SECRET=$secret  # for bench/lua/create.lua
account=$(account_of "$base" "$secret")
python3 bench/refresh_tokens.py "$base" "$secret" 8 > "$work/pairs.txt"

wrk -t1 -c16 -d"${LOAD}s" -H "Authorization: Bearer $secret" "$base/v1/login/token" > "$work/validate.txt" &
w1=$!
wrk -t1 -c8 -d"${LOAD}s" -s bench/lua/create.lua "$base/v1/accounts/$account/tokens" > "$work/create.txt" &
w2=$!
PAIRS="$work/pairs.txt" wrk -t8 -c8 -d"${LOAD}s" -s bench/lua/refresh.lua "$base" > "$work/refresh.txt" &
w3=$!
# Logins: the Login API's web flow, each a GitHub round trip through the
# in-process fake, then the poll that hands out a new durable token.
python3 bench/web_logins.py "$base" "$LOAD" > "$work/logins.txt" &
w4=$!
# Each reaped: a single wait with several jobs reports only the last.
status=0
for job in "$w1" "$w2" "$w3" "$w4"; do wait "$job" || status=$?; done
[ "$status" -eq 0 ] || { echo "a load generator failed" >&2; exit "$status"; }

errors=0
summary=()
for name in validate create refresh; do
  rps=$(awk '/^Requests\/sec/ {print $2}' "$work/$name.txt")
  total=$(awk '/requests in/ {print $1}' "$work/$name.txt")
  bad=$(wrk_errors "$work/$name.txt")
  errors=$((errors + bad))
  grep -q "Socket errors" "$work/$name.txt" && echo "$name: $(grep "Socket errors" "$work/$name.txt")" >&2
  summary+=("| $name | $total | $rps | $bad |")
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
