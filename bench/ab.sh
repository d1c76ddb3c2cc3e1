#!/usr/bin/env bash
# Compares two governd builds on the same calls, alternating them so that a
# machine shared with other work loads both alike: HealthCheck (the
# transport's cost) and ListPendingDecisions(limit 10) over the --demo queue
# (a read of the store), each under h2load -t 1 -c 1 -m 100.  For each run
# it prints req/s and governd's CPU per call (utime + stime of all its
# threads from /proc, over the calls that succeeded); at the end the median
# of each side.  It measured what the per-thread gRPC counters of
# /metrics cost (docs/benchmarks.md).  Exits 0 whatever the figures are.
#
# usage: bench/ab.sh OLD_BINDIR NEW_BINDIR
#   AB_CALLS (default 200000) calls per run, AB_ROUNDS (default 5) rounds.
set -euo pipefail

OLD=${1:?usage: $0 OLD_BINDIR NEW_BINDIR}
NEW=${2:?usage: $0 OLD_BINDIR NEW_BINDIR}
CALLS=${AB_CALLS:-200000}
ROUNDS=${AB_ROUNDS:-5}
SVC=/vertice.governance.v1.GovernanceService
hz=$(getconf CLK_TCK)

command -v h2load >/dev/null || { echo "ab.sh: h2load is not installed (nghttp2-client)" >&2; exit 1; }
for b in "$OLD" "$NEW"; do
  [ -x "$b/governd" ] || { echo "ab.sh: no governd in '$b'" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/vcli-ab.XXXXXX")
gpid=
stop() { if [ -n "$gpid" ]; then kill -TERM "$gpid" 2>/dev/null || true; wait "$gpid" 2>/dev/null || true; fi; gpid=; }
trap 'stop; rm -rf "$work"' EXIT
printf '\0\0\0\0\0' >"$work/health.grpc"
printf '\0\0\0\0\x02\x10\x0a' >"$work/list.grpc"

start() { # start BINDIR
  local extra=()
  # A build with the metrics listener gets it on a free port (it stays on,
  # idle, as in production).
  if "$1/governd" --help 2>&1 | grep -q -- --metrics-listen; then
    extra=(--metrics-listen 127.0.0.1:0)
  fi
  rm -f "$work/gov.db"*
  : >"$work/log"
  "$1/governd" --listen 127.0.0.1:0 --db "$work/gov.db" --demo "${extra[@]}" 2>"$work/log" &
  gpid=$!
  for _ in $(seq 1 200); do
    addr=$(sed -n 's/.*msg="governd listening" addr=\([^ ]*\).*/\1/p' "$work/log" | head -1)
    [ -n "$addr" ] && return 0
    sleep 0.05
  done
  echo "ab.sh: governd did not start" >&2; cat "$work/log" >&2; exit 1
}

run() { # run SIDE METHOD BODYFILE
  local t0 t1 ok rps
  t0=$(awk '{print $14 + $15}' "/proc/$gpid/stat")
  h2load -t 1 -c 1 -m 100 -n "$CALLS" -d "$3" -H 'content-type: application/grpc' \
    -H 'te: trailers' "http://$addr$SVC/$2" >"$work/h2.txt"
  t1=$(awk '{print $14 + $15}' "/proc/$gpid/stat")
  ok=$(awk '/^requests:/ {print $8}' "$work/h2.txt")
  rps=$(awk '/^finished in/ {printf "%.0f", $4}' "$work/h2.txt")
  us=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v n="$ok" 'BEGIN { printf "%.2f", n ? d / hz * 1e6 / n : 0 }')
  printf '  %-4s %-22s %8s req/s %7s us/call (%s ok)\n' "$1" "$2" "$rps" "$us" "$ok"
  echo "$rps $us" >>"$work/$1.$2"
}

echo "governd A/B: old=$OLD new=$NEW, $CALLS calls per run, $ROUNDS rounds, $(nproc) CPUs"
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r"
  # Alternate which side goes first.
  if [ $((r % 2)) -eq 1 ]; then order="old new"; else order="new old"; fi
  for side in $order; do
    if [ "$side" = old ]; then start "$OLD"; else start "$NEW"; fi
    sleep 0.5
    run "$side" HealthCheck "$work/health.grpc"
    run "$side" ListPendingDecisions "$work/list.grpc"
    stop
  done
done
echo
echo "medians:"
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for m in HealthCheck ListPendingDecisions; do
  for side in old new; do
    printf '  %-4s %-22s %8s req/s %7s us/call\n' "$side" "$m" \
      "$(awk '{print $1}' "$work/$side.$m" | median)" "$(awk '{print $2}' "$work/$side.$m" | median)"
  done
done
