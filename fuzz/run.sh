#!/usr/bin/env bash
# Runs the parser fuzzers (libFuzzer), two at a time on a 2-core machine,
# each for DURATION seconds, then minimises each corpus in place so the
# kept corpora stay small enough to commit and to replay as a unit test.
#
#   fuzz/run.sh                      # every target, 600 s each
#   DURATION=60 fuzz/run.sh user_code redirect_uri
#
# A crash leaves its input under fuzz/artifacts/<target>/ and fails the run;
# once fixed, copy that input to fuzz/regressions/<target>/ so the unit test
# `fuzzing::tests::kept_corpora_still_hold` replays it on every CI run.
set -euo pipefail
cd "$(dirname "$0")"

DURATION=${DURATION:-600}
JOBS=${JOBS:-2}
ALL=(auth_header client_form sealed_session redirect_uri user_code)
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL[@]}"); fi

rustup run nightly rustc --version >/dev/null 2>&1 || {
  echo "fuzz/run.sh needs the nightly toolchain (rustup toolchain install nightly)" >&2
  exit 1
}
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz@0.13.2
cargo +nightly fuzz build
mkdir -p logs

run_one() {
  local target=$1 dict=()
  mkdir -p "corpus/$target"
  [ -f "dicts/$target.dict" ] && dict=(-dict="dicts/$target.dict")
  if cargo +nightly fuzz run "$target" "corpus/$target" -- "${dict[@]}" \
      -max_total_time="$DURATION" -print_final_stats=1 >"logs/$target.log" 2>&1; then
    echo "$target ok"
  else
    echo "$target FAILED: see fuzz/logs/$target.log and fuzz/artifacts/$target/"
    return 1
  fi
}
export -f run_one
export DURATION

status=0
printf '%s\n' "${TARGETS[@]}" | xargs -n1 -P "$JOBS" bash -c 'run_one "$1"' _ || status=1

printf '\n%-16s %12s %8s %10s %8s %8s\n' target runs seconds execs/s cov corpus
for target in "${TARGETS[@]}"; do
  log="logs/$target.log"
  [ -f "$log" ] || continue
  # A failed run leaves its grown corpus unminimised: `git status` shows it.
  if [ $status -eq 0 ]; then
    cargo +nightly fuzz cmin "$target" "corpus/$target" >"logs/$target.cmin.log" 2>&1
    grep -q MERGE-OUTER "logs/$target.cmin.log" || {
      echo "$target: minimising failed, see fuzz/logs/$target.cmin.log" >&2
      status=1
    }
  fi
  done_line=$(grep -oE '^Done [0-9]+ runs in [0-9]+' "$log" || true)
  runs=$(awk '{print $2}' <<<"$done_line")
  secs=$(awk '{print $5}' <<<"$done_line")
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}' || true)
  files=$(find "corpus/$target" -type f | wc -l)
  printf '%-16s %12s %8s %10s %8s %8s\n' "$target" "${runs:-?}" "${secs:-?}" \
    "$(( ${runs:-0} / (${secs:-1} > 0 ? ${secs:-1} : 1) ))" "${cov:-?}" "$files"
done
exit $status
