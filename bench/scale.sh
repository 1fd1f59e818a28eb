#!/usr/bin/env bash
# Scale benchmark (issue 14): on SQLite and on PostgreSQL, Latchkey's token
# validation with 10^3, 10^6 and 10^7 stored tokens, beside the minimal axum
# app (bench/baseline) in the same run; introspection; durable token creation
# (on PostgreSQL also with two nodes); the refresh grant; idle RSS and RSS
# with 10^6 tokens stored; cold start to the first 200. Tokens are seeded
# with bench/seed.py (bulk inserts). A measurement, not a test: it prints a
# Markdown table and writes it to bench/results/scale.md.
#
#   bash bench/scale.sh
#   BACKENDS=sqlite SIZES="1000 1000000" DURATION=5s bash bench/scale.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BACKENDS=${BACKENDS:-"sqlite postgres"}
SIZES=${SIZES:-"1000 1000000 10000000"}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
# Distinct tokens presented in the "distinct" runs: twice the cache's
# 100,000 entries, so most validations miss the cache and read the table.
KNOWN=${KNOWN:-200000}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
PORT=19891
PORT2=19892
BASE_PORT=19890

. bench/lib.sh
ensure_wrk
cargo build --release --quiet -p latchkey -p bench-baseline
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

./target/release/bench-baseline "127.0.0.1:$BASE_PORT" 2>/dev/null &
pids+=($!)

cat > "$work/distinct.lua" <<'LUA'
local counter = 0
function setup(thread) counter = counter + 1; thread:set("id", counter) end
function init(args)
  secrets, n = {}, 0
  for line in io.lines(os.getenv("SECRETS")) do n = n + 1; secrets[n] = line end
  i = id * 7919
  path = os.getenv("TARGET") or "/v1/login/token"
end
function request()
  i = i + 1
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. secrets[(i % n) + 1]})
end
LUA

# run NAME URL [wrk args...] -> "rps p50 p99"; fails on any non-2xx answer.
run() {
  local name=$1 url=$2
  shift 2
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "$url" > "$work/$name.txt"
  if grep -q "Non-2xx" "$work/$name.txt"; then
    cat "$work/$name.txt" >&2
    exit 1
  fi
  echo "$(awk '/^Requests\/sec/ {print $2}' "$work/$name.txt") \
$(awk '$1 == "50%" {print $2}' "$work/$name.txt") $(awk '$1 == "99%" {print $2}' "$work/$name.txt")"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

# start PORT URL [flags…] -> starts a node, waits for /healthcheck; prints "pid ms".
start() {
  local port=$1 url=$2
  shift 2
  python3 - "$port" "$url" "$work" "$@" <<'PY'
import subprocess, sys, time, urllib.request
port, url, work = sys.argv[1:4]
t = time.monotonic()
p = subprocess.Popen(["./target/release/latchkey", "serve", "--listen", f"127.0.0.1:{port}",
                      "--database-url", url, "--bootstrap-token-file", f"{work}/admin-token",
                      "--public-url", f"http://127.0.0.1:{port}"] + sys.argv[4:],
                     stdout=subprocess.DEVNULL, stderr=open(f"{work}/server-{port}.log", "a"),
                     start_new_session=True)
while True:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthcheck", timeout=1).read()
        break
    except Exception:
        if p.poll() is not None:
            sys.exit(f"the server exited: see {work}/server-{port}.log")
        time.sleep(0.001)
print(p.pid, round((time.monotonic() - t) * 1000))
PY
}

rows=()
for backend in $BACKENDS; do
  rm -f "$work/admin-token" "$work"/secrets-*.txt
  case $backend in
    sqlite) url="sqlite://$work/bench.db" ;;
    postgres)
      psql "$PG/postgres" -qc 'DROP DATABASE IF EXISTS latchkey_bench' >/dev/null
      psql "$PG/postgres" -qc 'CREATE DATABASE latchkey_bench' >/dev/null
      url="$PG/latchkey_bench" ;;
  esac
  # Cold start: the first start creates the schema; the second finds it.
  # Idle RSS as deployed (no dev mode); then dev mode's fake GitHub for the
  # browser sign-ins that the refresh chains need.
  read -r pid first_ms < <(start "$PORT" "$url")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  read -r pid cold_ms < <(start "$PORT" "$url")
  sleep 1
  idle_rss=$(rss_mb "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  read -r pid _ < <(start "$PORT" "$url" --dev)
  pids+=("$pid")
  secret=$(admin_secret "$work")
  export SECRET=$secret  # for bench/lua/create.lua
  account=$(account_of "http://127.0.0.1:$PORT" "$secret")
  rows+=("| $backend | cold start to the first 200 (schema present; creating it: $first_ms ms) | $cold_ms ms | | |")
  rows+=("| $backend | idle RSS | $idle_rss MB | | |")

  stored=1
  have=0
  for size in $SIZES; do
    add=$((size - stored))
    known=$((KNOWN - have))
    if [ "$known" -gt "$add" ]; then known=$add; fi
    python3 bench/seed.py --database-url "$url" --account "$account" --count "$add" \
      --known "$known" --start "$have" --secrets "$work/secrets-$size.txt"
    have=$((have + known))
    stored=$size
    cat "$work"/secrets-*.txt > "$work/secrets.all"
    distinct=$(wc -l < "$work/secrets.all")
    SECRETS="$work/secrets.all" wrk -t2 -c8 -d3s -s "$work/distinct.lua" "http://127.0.0.1:$PORT" >/dev/null
    read -r b_rps _ _ < <(run base "http://127.0.0.1:$BASE_PORT/healthcheck")
    read -r v_rps v_p50 v_p99 < <(run hit "http://127.0.0.1:$PORT/v1/login/token" -H "Authorization: Bearer $secret")
    read -r d_rps d_p50 d_p99 < <(SECRETS="$work/secrets.all" run distinct "http://127.0.0.1:$PORT" -s "$work/distinct.lua")
    # The floor: the minimal app under the same generator (it ignores the
    # header), since wrk's per-request Lua shares the 2 cores too.
    read -r f_rps f_p50 f_p99 < <(SECRETS="$work/secrets.all" TARGET=/healthcheck run floor "http://127.0.0.1:$BASE_PORT" -s "$work/distinct.lua")
    rows+=("| $backend | validation, $size tokens stored, one token (cache hit) | $v_rps | $v_p50 / $v_p99 | $(ratio "$v_rps" "$b_rps") |")
    rows+=("| $backend | validation, $size tokens stored, $distinct distinct tokens (mostly misses) | $d_rps | $d_p50 / $d_p99 | $(ratio "$d_rps" "$f_rps") (same generator) |")
    rows+=("| $backend | minimal axum app under that distinct-token generator (the floor) | $f_rps | $f_p50 / $f_p99 | 1.00 |")
    rows+=("| $backend | RSS with $size tokens stored (cache full) | $(rss_mb "$pid") MB | | |")
    echo "$backend $size done" >&2
  done

  # Introspection, durable creation, the refresh grant.
  client=$(curl -fsS "http://127.0.0.1:$PORT/v1/oauth/clients" -H "Authorization: Bearer $secret" \
    -H 'Content-Type: application/json' -d '{"name": "bench", "redirectUris": ["https://b.example/cb"]}')
  basic=$(echo "$client" | python3 -c 'import json,sys,base64; c=json.load(sys.stdin); print(base64.b64encode((c["clientId"] + ":" + c["clientSecret"]).encode()).decode())')
  access=$(curl -fsS "http://127.0.0.1:$PORT/oauth/token" -H "Authorization: Basic $basic" \
    -d grant_type=client_credentials | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  printf 'wrk.method = "POST"\nwrk.body = "token=%s"\nwrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\nwrk.headers["Authorization"] = "Basic %s"\n' \
    "$access" "$basic" > "$work/introspect.lua"
  read -r b_rps _ _ < <(run base "http://127.0.0.1:$BASE_PORT/healthcheck")
  read -r i_rps i_p50 i_p99 < <(run introspect "http://127.0.0.1:$PORT/oauth/introspect" -s "$work/introspect.lua")
  rows+=("| $backend | introspection | $i_rps | $i_p50 / $i_p99 | $(ratio "$i_rps" "$b_rps") |")
  read -r c_rps c_p50 c_p99 < <(run create "http://127.0.0.1:$PORT/v1/accounts/$account/tokens" -s bench/lua/create.lua)
  rows+=("| $backend | durable token creation, one node | $c_rps | $c_p50 / $c_p99 | |")
  python3 bench/refresh_tokens.py "http://127.0.0.1:$PORT" "$secret" 8 > "$work/pairs.txt"
  read -r r_rps r_p50 r_p99 < <(PAIRS="$work/pairs.txt" THREADS=8 CONNECTIONS=8 run refresh "http://127.0.0.1:$PORT" -s bench/lua/refresh.lua)
  rows+=("| $backend | refresh grant (8 chains, each rotating) | $r_rps | $r_p50 / $r_p99 | |")
  if [ "$backend" = postgres ]; then
    read -r pid2 _ < <(start "$PORT2" "$url" --dev)
    pids+=("$pid2")
    wrk -t1 -c16 -d"$DURATION" --latency -s bench/lua/create.lua \
      "http://127.0.0.1:$PORT2/v1/accounts/$account/tokens" > "$work/create2.txt" &
    w2=$!
    wrk -t1 -c16 -d"$DURATION" --latency -s bench/lua/create.lua \
      "http://127.0.0.1:$PORT/v1/accounts/$account/tokens" > "$work/create1.txt"
    wait "$w2"
    ! grep -q Non-2xx "$work/create1.txt" "$work/create2.txt" || { cat "$work"/create?.txt >&2; exit 1; }
    both=$(awk '/^Requests\/sec/ {s += $2} END {printf "%.0f", s}' "$work/create1.txt" "$work/create2.txt")
    rows+=("| $backend | durable token creation, two nodes (sum) | $both | | |")
    kill "$pid2"
  fi
  kill "$pid"; wait "$pid" 2>/dev/null || true
done

cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
report=$(
  echo "Machine: $(nproc) cores ($cpu); wrk -t$THREADS -c$CONNECTIONS -d$DURATION on the same machine; $(date -u +%Y-%m-%d)."
  echo
  echo "| backend | scenario | requests/s (or value) | p50 / p99 | × minimal axum |"
  echo "|---|---|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
)
mkdir -p bench/results
echo "$report" | tee bench/results/scale.md
