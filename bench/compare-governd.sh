#!/usr/bin/env bash
# Two governd binaries under the same h2load loads, alternating, at
# --log-level info: how much a change costs the hot path (docs/operations.md
# "Logs" has the figures for the atomic log level and SIGHUP reload).
# Prints req/s per round and the median; exits 0 whatever the figures.
#
# usage: bench/compare-governd.sh BEFORE_GOVERND AFTER_GOVERND
# BENCH_ROUNDS (default 5), BENCH_REQUESTS (HealthCheck calls, default 200000).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BEFORE_GOVERND AFTER_GOVERND" >&2; exit 2; }
ROUNDS=${BENCH_ROUNDS:-5}
N=${BENCH_REQUESTS:-200000}
work=$(mktemp -d "${TMPDIR:-/tmp}/vcli-compare.XXXXXX")
pid=
cleanup() {
  [ -z "$pid" ] || { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
printf '\0\0\0\0\0' >"$work/health.grpc"
printf '\0\0\0\0\x02\x10\x0a' >"$work/list.grpc"

# run BINARY METHOD BODY CALLS -> req/s
run() {
  local bin=$1 method=$2 body=$3 calls=$4 addr rps
  rm -f "$work/db"*
  GOVERND_CONFIG=/dev/null "$bin" --listen 127.0.0.1:0 --db "$work/db" --demo \
    --log-level info --threads 2 2>"$work/log" &
  pid=$!
  for _ in $(seq 100); do
    addr=$(sed -n 's/.*msg="governd listening" addr=\([^ ]*\).*/\1/p' "$work/log")
    [ -n "$addr" ] && break
    sleep 0.05
  done
  h2load -t 1 -c 1 -m 100 -n "$calls" -d "$body" \
    -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://$addr/vertice.governance.v1.GovernanceService/$method" >"$work/h2" 2>&1
  rps=$(awk '/^finished in/ {printf "%.0f", $4}' "$work/h2")
  kill -TERM "$pid"; wait "$pid" || true; pid=
  echo "$rps"
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

for method in HealthCheck ListPendingDecisions; do
  body=$work/health.grpc; calls=$N
  [ $method = HealthCheck ] || { body=$work/list.grpc; calls=$((N / 4)); }
  : >"$work/a"; : >"$work/b"
  for _ in $(seq "$ROUNDS"); do
    run "$1" $method "$body" $calls >>"$work/a"
    run "$2" $method "$body" $calls >>"$work/b"
  done
  printf '%-22s before %7s req/s (%s)   after %7s req/s (%s)\n' "$method" \
    "$(median <"$work/a")" "$(paste -sd' ' "$work/a")" \
    "$(median <"$work/b")" "$(paste -sd' ' "$work/b")"
done
