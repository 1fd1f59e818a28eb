#!/usr/bin/env bash
# Benchmark: builds the release binary, starts it on a fresh SQLite file and
# loads it with wrk from a second process. Compares, in one run, token
# validation (GET /v1/login/token) with GET /healthcheck, and measures token
# creation per second. Prints a Markdown table and writes it to
# bench/results/latest.md. This is a measurement, not a test.
#
#   bash bench/run.sh                 # 10 s per scenario
#   DURATION=30s CONNECTIONS=64 bash bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
PORT=${PORT:-19881}

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null
fi

cargo build --release --quiet
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

LATCHKEY_LOG=warn ./target/release/latchkey serve \
  --listen "127.0.0.1:$PORT" \
  --database-url "sqlite://$work/bench.db" \
  --bootstrap-token-file "$work/admin-token" 2>"$work/server.log" &
server=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/healthcheck" >/dev/null 2>&1 && break
  sleep 0.1
done
secret=$(tr -d '[:space:]' < "$work/admin-token")
account=$(curl -fsS "http://127.0.0.1:$PORT/v1/login/token" -H "Authorization: Bearer $secret" |
  sed -E 's/.*"accountId":"([^"]+)".*/\1/')

cat > "$work/create.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"expiresAt": "2100-01-01T00:00:00Z"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $secret"
LUA

# run NAME PATH [wrk args...] -> prints "rps p50 p99"
run() {
  local name=$1 path=$2
  shift 2
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" \
    "http://127.0.0.1:$PORT$path" > "$work/$name.txt"
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

# Warm-up, so the first scenario does not pay for cold caches.
wrk -t1 -c4 -d2s -H "Authorization: Bearer $secret" "http://127.0.0.1:$PORT/v1/login/token" >/dev/null

read -r health_rps health_p50 health_p99 < <(run health /healthcheck)
read -r valid_rps valid_p50 valid_p99 < <(run validate /v1/login/token -H "Authorization: Bearer $secret")
read -r create_rps create_p50 create_p99 < <(run create "/v1/accounts/$account/tokens" -s "$work/create.lua")
ratio=$(awk -v a="$valid_rps" -v b="$health_rps" 'BEGIN {printf "%.2f", a / b}')

cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
report=$(cat <<MD
Machine: $(nproc) cores ($cpu), $(free -g | awk '/Mem:/ {print $2}') GiB; wrk -t$THREADS -c$CONNECTIONS -d$DURATION on the same machine; SQLite; $(date -u +%Y-%m-%d).

| scenario | requests/s | p50 | p99 |
|---|---:|---:|---:|
| GET /healthcheck | $health_rps | $health_p50 | $health_p99 |
| GET /v1/login/token (valid token) | $valid_rps | $valid_p50 | $valid_p99 |
| POST /v1/accounts/{id}/tokens (create) | $create_rps | $create_p50 | $create_p99 |

Validation / healthcheck throughput ratio: **$ratio** (target ≥ 0.70).
MD
)
mkdir -p bench/results
echo "$report" | tee bench/results/latest.md
