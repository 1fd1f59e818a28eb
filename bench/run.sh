#!/usr/bin/env bash
# Benchmark: builds the release binaries, starts Latchkey on a fresh SQLite
# file (default settings: the logs and access log as shipped) beside a minimal
# axum app (bench/baseline, the limit of this stack), and loads them with wrk
# from a second process. Each read scenario runs ROUNDS times, alternating, and
# the median counts. Reports Latchkey's /healthcheck and token validation as
# ratios to the minimal app, and token creation per second. Prints a Markdown
# table and writes it to bench/results/latest.md. A measurement, not a test.
#
#   bash bench/run.sh                       # 10 s per run, 3 rounds
#   DURATION=30s CONNECTIONS=64 ROUNDS=5 bash bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-19881}
BASE_PORT=${BASE_PORT:-19880}

. bench/lib.sh
ensure_wrk

cargo build --release --quiet -p latchkey -p bench-baseline
work=$(mktemp -d)
cleanup() {
  kill "$server" "$baseline" 2>/dev/null || true
  wait "$server" "$baseline" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

./target/release/bench-baseline "127.0.0.1:$BASE_PORT" 2>"$work/baseline.log" &
baseline=$!
./target/release/latchkey serve \
  --listen "127.0.0.1:$PORT" \
  --database-url "sqlite://$work/bench.db" \
  --bootstrap-token-file "$work/admin-token" 2>"$work/server.log" &
server=$!
wait_healthy "http://127.0.0.1:$PORT" "http://127.0.0.1:$BASE_PORT"
secret=$(admin_secret "$work")
account=$(account_of "http://127.0.0.1:$PORT" "$secret")

# An OAuth client for the grant and introspection scenarios.
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
client=$(curl -fsS "http://127.0.0.1:$PORT/v1/oauth/clients" -H "Authorization: Bearer $secret" \
  -H 'Content-Type: application/json' \
  -d '{"name": "bench", "redirectUris": ["https://bench.example/cb"]}')
client_id=$(echo "$client" | json "['clientId']")
client_secret=$(echo "$client" | json "['clientSecret']")
basic=$(printf '%s:%s' "$client_id" "$client_secret" | base64 -w0)
access=$(curl -fsS "http://127.0.0.1:$PORT/oauth/token" -H "Authorization: Basic $basic" \
  -d grant_type=client_credentials | json "['access_token']")
cat > "$work/grant.lua" <<LUA
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
LUA
cat > "$work/introspect.lua" <<LUA
wrk.method = "POST"
wrk.body = "token=$access"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
LUA

export SECRET=$secret  # for bench/lua/create.lua

# run NAME URL [wrk args...] -> prints "rps p50 p99"
run() {
  local name=$1 url=$2
  shift 2
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "$url" > "$work/$name.txt"
  local rps p50 p99 errors
  rps=$(awk '/^Requests\/sec/ {print $2}' "$work/$name.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$work/$name.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/$name.txt")
  errors=$(awk '/Non-2xx/ {print $NF}' "$work/$name.txt")
  if [ -n "$errors" ]; then
    echo "$name: $errors non-2xx responses" >&2
    cat "$work/$name.txt" >&2
    exit 1
  fi
  echo "$rps $p50 $p99"
}

# The median line (by requests/s) of the lines in a file.
median() { sort -n "$1" | awk '{a[NR] = $0} END {print a[int((NR + 1) / 2)]}'; }

# Warm-up, so the first scenario does not pay for cold caches.
wrk -t1 -c4 -d2s -H "Authorization: Bearer $secret" "http://127.0.0.1:$PORT/v1/login/token" >/dev/null
wrk -t1 -c4 -d2s "http://127.0.0.1:$BASE_PORT/healthcheck" >/dev/null

: > "$work/base.all"; : > "$work/health.all"; : > "$work/validate.all"; : > "$work/introspect.all"
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round of $ROUNDS" >&2
  run base "http://127.0.0.1:$BASE_PORT/healthcheck" >> "$work/base.all"
  run health "http://127.0.0.1:$PORT/healthcheck" >> "$work/health.all"
  run validate "http://127.0.0.1:$PORT/v1/login/token" -H "Authorization: Bearer $secret" >> "$work/validate.all"
  run introspect "http://127.0.0.1:$PORT/oauth/introspect" -s "$work/introspect.lua" >> "$work/introspect.all"
done
read -r base_rps base_p50 base_p99 < <(median "$work/base.all")
read -r health_rps health_p50 health_p99 < <(median "$work/health.all")
read -r valid_rps valid_p50 valid_p99 < <(median "$work/validate.all")
read -r intro_rps intro_p50 intro_p99 < <(median "$work/introspect.all")
read -r create_rps create_p50 create_p99 < <(run create "http://127.0.0.1:$PORT/v1/accounts/$account/tokens" -s bench/lua/create.lua)
read -r grant_rps grant_p50 grant_p99 < <(run grant "http://127.0.0.1:$PORT/oauth/token" -s "$work/grant.lua")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
health_ratio=$(ratio "$health_rps" "$base_rps")
valid_ratio=$(ratio "$valid_rps" "$base_rps")
intro_ratio=$(ratio "$intro_rps" "$health_rps")

cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
report=$(cat <<MD
Machine: $(nproc) cores ($cpu), $(free -g | awk '/Mem:/ {print $2}') GiB; wrk -t$THREADS -c$CONNECTIONS -d$DURATION on the same machine, median of $ROUNDS alternating runs; SQLite, default settings; $(date -u +%Y-%m-%d).

| scenario | requests/s | p50 | p99 | × minimal axum |
|---|---:|---:|---:|---:|
| minimal axum app, GET /healthcheck (bench/baseline) | $base_rps | $base_p50 | $base_p99 | 1.00 |
| GET /healthcheck | $health_rps | $health_p50 | $health_p99 | **$health_ratio** (target ≥ 0.70) |
| GET /v1/login/token (valid token) | $valid_rps | $valid_p50 | $valid_p99 | **$valid_ratio** (target ≥ 0.60) |
| POST /oauth/introspect (active token) | $intro_rps | $intro_p50 | $intro_p99 | **$intro_ratio** × Latchkey's /healthcheck (target ≥ 0.50) |
| POST /v1/accounts/{id}/tokens (durable create) | $create_rps | $create_p50 | $create_p99 | target ≥ 10,000/s, p99 ≤ 20 ms |
| POST /oauth/token, client_credentials (durable) | $grant_rps | $grant_p50 | $grant_p99 | target ≥ 10,000/s |
MD
)
mkdir -p bench/results
echo "$report" | tee bench/results/latest.md
