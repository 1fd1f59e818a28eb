# shellcheck shell=bash
# Shared by the load scripts (bench/run.sh, bench/mixed.sh, bench/scale.sh,
# reliability/soak.sh): sourced, not run. Each script still owns its ports,
# its work directory and its trap.

# wrk comes from Debian's packages; the scripts install it on first use.
ensure_wrk() {
  command -v wrk >/dev/null 2>&1 && return
  echo "installing wrk" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null
}

# wait_healthy URL...: until each answers /healthcheck (10 s at most).
wait_healthy() {
  local url up
  for _ in $(seq 1 100); do
    up=1
    for url in "$@"; do
      curl -fsS "$url/healthcheck" >/dev/null 2>&1 || { up=0; break; }
    done
    [ "$up" -eq 1 ] && return 0
    sleep 0.1
  done
  echo "no answer from /healthcheck: $*" >&2
  return 1
}

# serve_dev PORT DATABASE_URL WORK: one dev-mode node (the in-process fake
# GitHub, for web-flow logins) with the login limit out of the way and no
# access log; its log goes to WORK/server.log. Sets $server to its pid.
# LATCHKEY_BIN picks another build (a profiling one, say).
serve_dev() {
  "${LATCHKEY_BIN:-./target/release/latchkey}" serve --dev --listen "127.0.0.1:$1" \
    --database-url "$2" --bootstrap-token-file "$3/admin-token" \
    --login-rate-limit-per-minute 1000000 --access-log off 2>"$3/server.log" &
  server=$!
}

# admin_secret WORK: the bootstrap admin token's secret.
admin_secret() { tr -d '[:space:]' < "$1/admin-token"; }

# account_of BASE SECRET: the id of the account the secret belongs to.
account_of() {
  curl -fsS "$1/v1/login/token" -H "Authorization: Bearer $2" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["accountId"])'
}

# rss_mb PID: the process's resident set, in MB.
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

# wrk_errors FILE: the non-2xx answers and socket errors in wrk's report.
wrk_errors() {
  local non2xx sock
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$1")
  sock=$(awk '/Socket errors/ {n = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i; print n}' "$1")
  echo $(( ${non2xx:-0} + ${sock:-0} ))
}
