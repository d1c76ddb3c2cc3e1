#!/usr/bin/env bash
# The governance figures of `make bench` (docs/benchmarks.md):
#   1. durable approvals per second, 50 concurrent clients (approve_load);
#   2. ListPendingDecisions(limit 10) under h2load -c 1 -m 100: req/s and
#      governd CPU per call;
#   3. `vcli gov list` wall time from process start to exit (median).
# Exits 0 whatever the figures are: a benchmark never fails on a slow machine.
#
# usage: bench/governance.sh BINDIR
set -euo pipefail

BINDIR=${1:?usage: $0 BINDIR}
GOVERND=$BINDIR/governd
VCLI=$BINDIR/vcli
LOAD=$BINDIR/approve_load
APPROVALS=${BENCH_APPROVALS:-100000}
LIST_CALLS=${BENCH_LIST_CALLS:-200000}
VCLI_RUNS=${BENCH_VCLI_RUNS:-200}

workdir=$(mktemp -d "${TMPDIR:-/tmp}/vcli-govbench.XXXXXX")
gpid=
cleanup() {
  if [ -n "$gpid" ]; then kill -TERM "$gpid" 2>/dev/null || true; wait "$gpid" 2>/dev/null || true; fi
  rm -rf "$workdir"
}
trap cleanup EXIT

start_governd() { # start_governd [extra flags...]
  : >"$workdir/governd.log"   # exists before the child opens it: no race with sed
  "$GOVERND" --listen 127.0.0.1:0 --db "$workdir/gov.db" "$@" 2>"$workdir/governd.log" &
  gpid=$!
  for _ in $(seq 1 100); do
    addr=$(sed -n 's/.*msg="governd listening" addr=\([^ ]*\).*/\1/p' "$workdir/governd.log" | head -1)
    [ -n "$addr" ] && return 0
    sleep 0.05
  done
  echo "governance.sh: governd did not start:" >&2
  cat "$workdir/governd.log" >&2
  exit 1
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
verdict() { awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN { ok = (op == ">=") ? (v + 0 >= t + 0) : (v + 0 <= t + 0); print ok ? "pass" : "miss" }'; }

start_governd --demo
echo "governd on $addr, store $workdir/gov.db (WAL, each answer after the fdatasync covering its commit)"
echo

# 1. durable approvals
echo "== durable approvals: 50 clients, 1 call in flight each, $APPROVALS decisions"
"$LOAD" --server "$addr" --clients 50 --inflight 1 --decisions "$APPROVALS" | tee "$workdir/load.txt"
aps=$(awk '/^approvals\/s/ {print $2}' "$workdir/load.txt")
echo

# 2. ListPendingDecisions(limit 10) under h2load; the queue holds the demo
#    decisions (--demo), the load above approved only its own.
printf '\0\0\0\0\x02\x10\x0a' >"$workdir/list.grpc"
t0=$(cpu_ticks "$gpid")
h2load -t 1 -c 1 -m 100 -n "$LIST_CALLS" -d "$workdir/list.grpc" \
  -H 'content-type: application/grpc' -H 'te: trailers' \
  "http://$addr/vertice.governance.v1.GovernanceService/ListPendingDecisions" >"$workdir/h2load.txt"
t1=$(cpu_ticks "$gpid")
lrps=$(awk '/^finished in/ {print $4}' "$workdir/h2load.txt")
lok=$(awk '/^requests:/ {print $8}' "$workdir/h2load.txt")
hz=$(getconf CLK_TCK)
lcpu=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v n="$LIST_CALLS" 'BEGIN { printf "%.2f", d / hz * 1e6 / n }')
echo "== ListPendingDecisions(limit 10), h2load -c 1 -m 100 -n $LIST_CALLS"
echo "req/s $lrps, succeeded $lok, governd CPU $lcpu us/call"
echo

# 3. vcli gov list wall time
echo "== vcli gov list, $VCLI_RUNS runs"
for _ in $(seq 1 "$VCLI_RUNS"); do
  s=$(date +%s%N)
  "$VCLI" --server "$addr" gov list --limit 10 >/dev/null 2>&1 || true
  e=$(date +%s%N)
  echo $(( (e - s) / 1000 ))
done | sort -n >"$workdir/vcli.txt"
vmed=$(awk '{a[NR] = $1} END { printf "%.2f", a[int((NR + 1) / 2)] / 1000 }' "$workdir/vcli.txt")
vp90=$(awk '{a[NR] = $1} END { printf "%.2f", a[int(NR * 0.9)] / 1000 }' "$workdir/vcli.txt")
echo "median $vmed ms, p90 $vp90 ms (process start to exit, including fork/exec)"
echo

echo "targets:"
printf '  %-40s %-12s %-12s %s\n' "durable approvals/s (50 clients)" ">= 50000" "$aps" "$(verdict "$aps" ">=" 50000)"
printf '  %-40s %-12s %-12s %s\n' "ListPendingDecisions req/s (1 conn)" ">= 50000" "$lrps" "$(verdict "$lrps" ">=" 50000)"
printf '  %-40s %-12s %-12s %s\n' "ListPendingDecisions governd CPU/call" "<= 20 us" "$lcpu us" "$(verdict "$lcpu" "<=" 20)"
printf '  %-40s %-12s %-12s %s\n' "vcli gov list median wall time" "<= 5 ms" "$vmed ms" "$(verdict "$vmed" "<=" 5)"
exit 0
