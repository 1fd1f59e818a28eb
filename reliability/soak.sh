#!/usr/bin/env bash
# Soak (issue 15, point 5): WARMUP (15) minutes and then MINUTES (10)
# measured minutes of mixed load at about half of the measured full-speed
# mixed capacity (bench/mixed.sh: validation 67,500/s, creation 840/s,
# refresh 810/s, web-flow logins 110/s) on one SQLite node whose database
# already holds SEED (500,000) tokens: paced validation (<= 32,000/s), durable
# token creation (<= 400/s), refresh rotation over 8 chains (<= 400/s) and
# web-flow logins (about 50/s), in one-minute segments, with OAuth access
# tokens that expire after 5 minutes (below). After each minute it
# records throughput, p99s, errors, the server's RSS (the minute's highest
# sample, taken every 2 s, and its last) and how many SQLite statements and
# commits took over 100 ms (the server logs those), and prints a table.
#
# Why a warm-up: SQLite's page caches (16 readers x 256 KiB and the writer's
# 2 MB, pooled by SQLite) fill in steps during the janitor's batched updates
# and reach their bound after about 6 minutes of this load; the pool opens
# readers as the load needs them, and both allocators' free space grows with
# all that until about minute 12 (README, Reliability: where the soak's
# memory goes). Latchkey's own live Rust heap is about 2.6 MB.
#
# Passes with 0 errors in every minute (warm-up included) and, over the
# measured minutes: no growth of RSS (the highest sample less than 2 % over
# the highest of the warm-up's last ten minutes, or of the first minute
# without a warm-up), with 30 or more measured minutes (two and a half of the
# sawtooth's periods, below) an RSS trend (least squares over the minutes'
# peaks) of at most 0.05 MB a minute, printed with its standard error, and no
# minute's p99 of validation, creation or refresh over three times its
# median.
#
# Why a high-water mark rather than comparing minutes: past the warm-up RSS
# moves in a sawtooth of about 1.5 MB (memory the allocators take and give
# back; 12 minutes apart in the 30-minute run of 2026-12-05), so two single
# samples, or a 10-minute trend, measure where in the sawtooth the window
# starts. Growth shows as peaks that rise above the warm-up's: the 2 % mark
# is about 0.8 MB, so the default 10 measured minutes only rule out growth
# of more than about 0.1 MB a minute (0.08, plus a give-back early in the
# window). A long run (MINUTES=60) rules out about 0.02 MB a minute, and
# its trend is judged too. The end-against-start figures of earlier versions
# of this script are still printed, not judged.
#
#   bash reliability/soak.sh
#   MINUTES=60 bash reliability/soak.sh   # a long run (in the one so far RSS settled
#                                         # only by minute 36: README)
#   WARMUP=1 MINUTES=6 SEGMENT=10 SEED=0 bash reliability/soak.sh   # the script works (its RSS verdict means nothing)
set -euo pipefail
cd "$(dirname "$0")/.."

MINUTES=${MINUTES:-10}
WARMUP=${WARMUP:-15}
SEGMENT=${SEGMENT:-60}
SEED=${SEED:-500000}
PORT=19897
# Fewer measured minutes leave the printed trend too few points to fit.
[ "$MINUTES" -ge 6 ] && [ "$WARMUP" -ge 0 ] || { echo "MINUTES must be >= 6 and WARMUP >= 0" >&2; exit 2; }
# OAuth access tokens live an hour by default, so a shorter run never sees
# the janitor delete them; at this load it deletes about 21,000 a minute once
# they expire (a 60-minute run found it holding SQLite's writer long enough
# to put creation's p99 at 65-360 ms). Five minutes puts that steady state
# inside the warm-up.
export LATCHKEY_OAUTH_ACCESS_TOKEN_TTL_SECS=${LATCHKEY_OAUTH_ACCESS_TOKEN_TTL_SECS:-300}
. bench/lib.sh
ensure_wrk
cargo build --release --quiet -p latchkey
work=$(mktemp -d)
serve_dev "$PORT" "sqlite://$work/soak.db" "$work"
sampler=
trap 'kill $sampler $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
base="http://127.0.0.1:$PORT"
wait_healthy "$base"
secret=$(admin_secret "$work")
export SECRET=$secret
account=$(account_of "$base" "$secret")
if [ "$SEED" -gt 0 ]; then
  python3 bench/seed.py --database-url "sqlite://$work/soak.db" --account "$account" --count "$SEED"
fi
python3 bench/refresh_tokens.py "$base" "$secret" 8 > "$work/pairs.txt"
export PAIRS="$work/pairs.txt"
# RSS every 2 s into rss.txt; each minute takes the file's samples and
# starts a new one.
( while kill -0 "$server" 2>/dev/null; do echo "$(rss_mb "$server")" >> "$work/rss.txt"; sleep 2; done ) &
sampler=$!

p99_ms() { awk '$1 == "99%" {v = $2; if (v ~ /us$/) {sub(/us/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms/, "", v)} else if (v ~ /s$/) {sub(/s/, "", v); v *= 1000}; printf "%.2f", v}' "$1"; }
rps() { awk '/^Requests\/sec/ {printf "%.0f", $2}' "$1"; }

rows=()
errors=0
slow_seen=0
for minute in $(seq 1 $((WARMUP + MINUTES))); do
  DELAY_MS=1 SCRIPT= wrk -t1 -c32 -d"${SEGMENT}s" --latency -s reliability/lua/paced.lua \
    -H "Authorization: Bearer $secret" "$base/v1/login/token" > "$work/validate.txt" &
  w1=$!
  DELAY_MS=10 SCRIPT=bench/lua/create.lua wrk -t1 -c4 -d"${SEGMENT}s" --latency \
    -s reliability/lua/paced.lua "$base/v1/accounts/$account/tokens" > "$work/create.txt" &
  w2=$!
  DELAY_MS=20 SCRIPT=bench/lua/refresh.lua wrk -t8 -c8 -d"${SEGMENT}s" --latency \
    -s reliability/lua/paced.lua "$base" > "$work/refresh.txt" &
  w3=$!
  # About 12 logins a second from each of its 4 threads.
  python3 bench/web_logins.py "$base" "$SEGMENT" 0.08 > "$work/logins.txt" &
  w4=$!
  # Each reaped before failing: a single wait with several jobs reports only
  # the last, and stopping at the first failure leaves the rest running.
  status=0
  for job in "$w1" "$w2" "$w3" "$w4"; do wait "$job" || status=$?; done
  [ "$status" -eq 0 ] || { echo "a load generator failed in minute $minute" >&2; exit "$status"; }
  rss=$(rss_mb "$server")
  mv "$work/rss.txt" "$work/rss-minute.txt" 2>/dev/null || : > "$work/rss-minute.txt"
  peak=$( (cat "$work/rss-minute.txt"; echo "$rss") | awk 'NF && $1 > m {m = $1} END {printf "%.1f", m}')
  read -r logins login_failed login_examples < "$work/logins.txt"
  [ "$login_failed" -eq 0 ] || echo "login failures in minute $minute: $login_examples" >&2
  minute_errors=$(( $(wrk_errors "$work/validate.txt") + $(wrk_errors "$work/create.txt") + $(wrk_errors "$work/refresh.txt") + login_failed ))
  errors=$((errors + minute_errors))
  # SQL statements and commits over 100 ms (the server logs them at warn;
  # a commit is where SQLite checkpoints). A statement is timed on the
  # connection's own thread; a commit from the writing task, so it also
  # counts waiting for that thread. A stall in the database or the disk
  # shows here; one in the HTTP layer, before the write, does not.
  slow_total=$(grep -c "slow statement\|slow commit" "$work/server.log" || true)
  slow=$((slow_total - slow_seen))
  slow_seen=$slow_total
  phase=measured
  [ "$minute" -le "$WARMUP" ] && phase=warm-up
  rows+=("| $minute | $phase | $(rps "$work/validate.txt") / $(p99_ms "$work/validate.txt") | $(rps "$work/create.txt") / $(p99_ms "$work/create.txt") | $(rps "$work/refresh.txt") / $(p99_ms "$work/refresh.txt") | $(awk -v n="$logins" -v s="$SEGMENT" 'BEGIN {printf "%.1f", n / s}') | $minute_errors | $peak | $rss | $slow |")
  echo "minute $minute: errors $minute_errors, RSS peak $peak MB, at the end $rss MB, slow SQL $slow" >&2
done
logged=$(grep -c " ERROR \|panicked\|database is locked" "$work/server.log" || true)
errors=$((errors + logged))
report=$(
  echo "Soak: $WARMUP + $MINUTES x ${SEGMENT} s of mixed load on SQLite, one node, $SEED tokens seeded, OAuth access tokens living ${LATCHKEY_OAUTH_ACCESS_TOKEN_TTL_SECS} s, janitor batch ${LATCHKEY_JANITOR_BATCH:-of the default}; $(date -u +%Y-%m-%d)."
  echo
  echo "| minute | phase | validation/s / p99 ms | creation/s / p99 ms | refresh/s / p99 ms | logins/s | errors | RSS peak MB | RSS at the end MB | slow SQL |"
  echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
)
echo "$report"
echo
# Over the measured minutes: the highest RSS against the highest of the
# warm-up's last ten minutes (or the first minute's, without a warm-up), the
# trend of the minutes' peaks, each p99 column against its median.
verdict=$(printf '%s\n' "${rows[@]}" | WARMUP=$WARMUP python3 -c '
import os, statistics, sys
rows = [[c.strip() for c in l.strip("|").split("|")] for l in sys.stdin.read().splitlines()]
warmup = int(os.environ["WARMUP"])
peak = [float(r[7]) for r in rows]
end = [float(r[8]) for r in rows]
before = peak[max(0, warmup - 10):warmup] if warmup > 0 else peak[:1]
measured, mpeak, mend = rows[warmup:], peak[warmup:], end[warmup:]
high, high_before = max(mpeak), max(before)
growth = (high - high_before) / high_before * 100
n = len(mpeak)
fit = statistics.linear_regression(range(n), mpeak)
residual = sum((y - (fit.intercept + fit.slope * x)) ** 2 for x, y in enumerate(mpeak)) / (n - 2)
spread = sum((x - (n - 1) / 2) ** 2 for x in range(n))
stderr = (residual / spread) ** 0.5
judge_trend = n >= 30
worst = {}
for name, col in (("validation", 2), ("creation", 3), ("refresh", 4)):
    p99 = [float(r[col].split("/")[1]) for r in measured]
    median = statistics.median(p99)
    worst[name] = max(p99) / median if median > 0 else float("inf")
ok = growth < 2 and (fit.slope <= 0.05 or not judge_trend) and max(worst.values()) <= 3
start = end[warmup - 1] if warmup > 0 else end[0]
drift = (statistics.mean(mend[-3:]) - statistics.mean(mend[:3])) / statistics.mean(mend[:3]) * 100
print(f"RSS: highest {high:.1f} MB after the warm-up against {high_before:.1f} MB in its last ten minutes ({growth:+.1f} %), "
      f"range {min(mend):.1f}-{high:.1f} MB; trend of the peaks {fit.slope:+.3f} MB a segment (standard error {stderr:.3f})"
      + ("" if judge_trend else ", not judged under 30 measured minutes")
      + f"; not judged: {start:.1f} -> {end[-1]:.1f} MB from the end of the warm-up to the end, last three against first three {drift:+.1f} %; "
      "worst p99 / median: " + ", ".join(f"{k} {v:.2f}" for k, v in worst.items()) + ("; ok" if ok else "; FAILED"))
')
echo "$verdict"
echo "errors: $errors (non-2xx, socket errors, failed logins, ERROR/panic/locked log lines: $logged)"
if [ "$slow_seen" -gt 0 ]; then
  echo "slow SQL statements and commits (the first 20 of $slow_seen):"
  grep "slow statement\|slow commit" "$work/server.log" | head -20
fi
[ "$errors" -eq 0 ] && [[ "$verdict" == *"; ok" ]]
