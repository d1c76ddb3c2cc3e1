#!/usr/bin/env bash
# Runs every libFuzzer target of tests/fuzz/ for a bounded time (make fuzz).
#
#   scripts/fuzz.sh BUILD_DIR [TARGET...]
#
# BUILD_DIR is the clang tree configured with -DVCLI_FUZZ=ON (the Makefile's
# fuzz target makes it).  Each target starts from its committed seed corpus
# (tests/fuzz/corpus/<target>, never written to) plus the inputs it found
# before (BUILD_DIR/corpus/<target>, kept between runs), runs FUZZ_SECONDS
# (default 60) and prints its executions, coverage and findings.  A crash,
# leak, timeout or sanitizer report leaves its input in
# BUILD_DIR/crashes/<target>/ and the full log in BUILD_DIR/logs/; the script
# exits 1 when any target found something.
#
# FUZZ_JOBS (default 1) runs that many targets at once.  FUZZ_ARGS adds
# libFuzzer flags (e.g. FUZZ_ARGS=-max_len=65536).
set -uo pipefail

build=${1:?usage: scripts/fuzz.sh BUILD_DIR [TARGET...]}
shift
src=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-1}
extra=${FUZZ_ARGS:-}

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$src"/tests/fuzz/fuzz_*.c; do
    t=$(basename "$f" .c)
    targets+=("${t#fuzz_}")
  done
fi

run_one() {
  local t=$1 bin="$build/bin/fuzz_$1"
  local seeds="$src/tests/fuzz/corpus/$t" found="$build/corpus/$t"
  local crashes="$build/crashes/$t" log="$build/logs/$t.log"
  mkdir -p "$found" "$crashes" "$build/logs"
  if [ ! -x "$bin" ]; then
    echo "fuzz: $t: no binary $bin (build the fuzz tree first)" >&2
    return 1
  fi
  # -timeout: an input that takes 10 s is a hang.  -rss_limit_mb: a
  # connection must not grow without bound.  Several seconds of a target's
  # own start-up are counted in -max_total_time.
  # shellcheck disable=SC2086
  "$bin" "$found" "$seeds" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$crashes/" $extra >"$log" 2>&1
  local rc=$?
  local execs speed cov ft
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  local found_n
  found_n=$(find "$crashes" -type f | wc -l)
  printf 'fuzz: %-16s %10s execs %8s exec/s  cov %6s  ft %6s  findings %s\n' \
    "$t" "${execs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" "$found_n"
  if [ $rc -ne 0 ] || [ "$found_n" -ne 0 ]; then
    echo "fuzz: $t: FOUND SOMETHING (exit $rc): inputs in $crashes/, log $log" >&2
    grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|deadly signal' \
      "$log" >&2
    return 1
  fi
  return 0
}

echo "fuzz: ${#targets[@]} targets, ${seconds} s each, ${jobs} at a time"
status=0
pids=()
for t in "${targets[@]}"; do
  run_one "$t" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$jobs" ]; then
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do
  wait "$p" || status=1
done
exit $status
