#!/usr/bin/env bash
# The governance figures of `make bench` (docs/benchmarks.md):
#   1. durable approvals per second, 50 connections with one approval in
#      flight each (vcli bench --suite approvals), with the load
#      generator's CPU and governd's; then with one connection and 50 in
#      flight on it (the validation matrix's load shape); the median of
#      BENCH_ROUNDS rounds of each, alternating, each on a fresh store;
#      each shape against governd as the validation matrix runs it (with
#      the CPU wake-up latency request, BENCH_CPU_LATENCY_US) and as it
#      starts by default (without it); and 50 connections again over a
#      Unix socket (governd --listen unix:PATH), the local transport;
#   2. ListPendingDecisions(limit 10), one connection, 100 in flight, under
#      h2load and under vcli bench on the same request: req/s, governd CPU
#      per call, the generator's CPU per call;
#   3. `vcli gov list` wall time from process start to exit (median);
#   4. the validation matrix's load scenarios (vcli bench --suite
#      validation, 30 s of them paced; BENCH_VALIDATION=0 skips it).
# Exits 0 whatever the figures are: a benchmark never fails on a slow machine.
#
# usage: bench/governance.sh BINDIR
set -euo pipefail

BINDIR=${1:?usage: $0 BINDIR}
GOVERND=$BINDIR/governd
VCLI=$BINDIR/vcli
APPROVALS=${BENCH_APPROVALS:-100000}
LIST_CALLS=${BENCH_LIST_CALLS:-200000}
VCLI_RUNS=${BENCH_VCLI_RUNS:-200}
ROUNDS=${BENCH_ROUNDS:-3}
VALIDATION=${BENCH_VALIDATION:-1}
CPU_LATENCY_US=${BENCH_CPU_LATENCY_US:-0}
TIME=/usr/bin/time
here=$(cd "$(dirname "$0")" && pwd)

if [ ! -x "$TIME" ]; then
  echo "governance.sh: /usr/bin/time is not installed (apt-get install time)" >&2
  exit 1
fi

workdir=$(mktemp -d "${TMPDIR:-/tmp}/vcli-govbench.XXXXXX")
gpid=
stop_governd() {
  if [ -n "$gpid" ]; then kill -TERM "$gpid" 2>/dev/null || true; wait "$gpid" 2>/dev/null || true; fi
  gpid=
}
cleanup() {
  stop_governd
  rm -rf "$workdir"
}
trap cleanup EXIT

start_governd() { # start_governd DB [extra flags...]; LISTEN= another address
  local db=$1
  shift
  : >"$workdir/governd.log"   # exists before the child opens it: no race with sed
  "$GOVERND" --listen "${LISTEN:-127.0.0.1:0}" --db "$db" "$@" 2>"$workdir/governd.log" &
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
hz=$(getconf CLK_TCK)
per_call_us() { awk -v d="$1" -v hz="$hz" -v n="$2" 'BEGIN { if (n > 0) printf "%.2f", d / hz * 1e6 / n; else print "n/a" }'; }
client_us() { tail -n 1 "$workdir/time.out" | awk -v n="$1" '{ if (n > 0) printf "%.2f", ($1 + $2) * 1e6 / n; else print "n/a" }'; }
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print "n/a"; else print a[int((NR + 1) / 2)] }'; }
json_field() { grep -o "\"$1\":[0-9.]*" "$2" | head -n 1 | cut -d: -f2; }
verdict() { awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN { if (v == "n/a") { print "miss"; exit } ok = (op == ">=") ? (v + 0 >= t + 0) : (v + 0 <= t + 0); print ok ? "pass" : "miss" }'; }

# 1. durable approvals, each round on a store of its own, the shapes
#    alternating: 50 connections with one approval in flight each, and the
#    validation matrix's shape (one shared connection, 50 callers on it:
#    what a gRPC client that multiplexes, as the earlier system's Go client
#    did, reaches against the same store).  The figure is the median round:
#    on a shared VM one run moves by 20 % with the disk's minute.  Each
#    shape twice: governd holding the CPU wake-up latency request the
#    validation matrix's governd holds (BENCH_CPU_LATENCY_US, default 0),
#    and governd as it starts by default, without it.  On a VM whose idle
#    vCPUs halt, the writer's wake-up after each fdatasync otherwise waits
#    for the hypervisor (docs/operations.md#latency-on-virtual-machines).
#    And 50 connections over a Unix socket (with the latency request): a
#    local client's transport, half the kernel's work per call of loopback
#    TCP (docs/benchmarks.md).
approvals_round() { # approvals_round TAG ROUND LATENCY-US|- BENCH-FLAGS...
  local tag=$1 r=$2 lat=$3 t0 t1
  shift 3
  if [ "$lat" = - ]; then
    start_governd "$workdir/approvals-$tag-$r.db"
  else
    start_governd "$workdir/approvals-$tag-$r.db" --cpu-latency-us "$lat"
    if [ "$r" = 1 ]; then
      for _ in $(seq 1 20); do   # logged right after "governd listening"
        grep -q 'latency request' "$workdir/governd.log" && break
        sleep 0.05
      done
      sed -n -e 's/.*msg="\(holding a CPU wake-up latency request\)" \(.*\)/  governd: \1, \2/p' \
        -e 's/.*msg="\(cannot hold a CPU wake-up latency request[^"]*\)".*/  governd: \1/p' \
        "$workdir/governd.log" >"$workdir/latency-$tag.txt"
    fi
  fi
  t0=$(cpu_ticks "$gpid")
  $TIME -f '%U %S' -o "$workdir/time-$tag-$r.out" \
    "$VCLI" --server "$addr" bench --suite approvals --approvals "$APPROVALS" "$@" \
    --server-pid "$gpid" --no-progress >"$workdir/approvals-$tag-$r.txt" || true
  t1=$(cpu_ticks "$gpid")
  echo "$((t1 - t0))" >"$workdir/gcpu-$tag-$r"
  stop_governd
  rm -f "$workdir/approvals-$tag-$r.db"*
}
rps_of() { sed -n 's/^  Requests\/sec: *\([0-9.]*\).*/\1/p' "$1" | head -n 1; }
# The round whose figure is the median (ties: the first).
median_round() { # median_round TAG
  local tag=$1 m r v
  m=$(for r in $(seq 1 "$ROUNDS"); do v=$(rps_of "$workdir/approvals-$tag-$r.txt"); echo "${v:-0}"; done | median)
  for r in $(seq 1 "$ROUNDS"); do
    v=$(rps_of "$workdir/approvals-$tag-$r.txt")
    if [ "${v:-0}" = "$m" ]; then echo "$r"; return; fi
  done
  echo 1
}
# tags: c50/c1 with the latency request, c50d/c1d as governd starts by
# default (only those when BENCH_CPU_LATENCY_US is -1), u50 over a Unix
# socket with the latency request, c1r as c1 with a request id on each
# approval in vcli's form (what `vcli gov approve` sends), c1k as c1 with
# a decision of the demo's size (bench/decision-1k.json: 935 bytes stored,
# against ~60 for the suite's own).
if [ "$CPU_LATENCY_US" = -1 ]; then tags="c50d c1d"; else tags="c50 c1 c50d c1d u50 c1r c1k"; fi
echo "== durable approvals: vcli bench --suite approvals, $APPROVALS decisions a round, each on a fresh store (WAL, each answer after the fdatasync covering its commit), median of $ROUNDS alternating rounds"
for r in $(seq 1 "$ROUNDS"); do
  for tag in $tags; do
    case $tag in
      c50) approvals_round "$tag" "$r" "$CPU_LATENCY_US" -c 50 ;;
      c1) approvals_round "$tag" "$r" "$CPU_LATENCY_US" -c 1 --concurrency 50 ;;
      c50d) approvals_round "$tag" "$r" - -c 50 ;;
      c1d) approvals_round "$tag" "$r" - -c 1 --concurrency 50 ;;
      u50) LISTEN=unix:$workdir/governd.sock approvals_round "$tag" "$r" "$CPU_LATENCY_US" -c 50 ;;
      c1r) approvals_round "$tag" "$r" "$CPU_LATENCY_US" -c 1 --concurrency 50 --request-ids time ;;
      c1k) approvals_round "$tag" "$r" "$CPU_LATENCY_US" -c 1 --concurrency 50 \
             --decision-file "$here/decision-1k.json" ;;
    esac
  done
done
aps=n/a aps1=n/a apsd=n/a aps1d=n/a apsu=n/a aps1r=n/a aps1k=n/a
for tag in $tags; do
  case $tag in
    c50) echo "50 connections x 1 in flight, governd --cpu-latency-us $CPU_LATENCY_US:" ;;
    c1) echo "1 connection x 50 in flight (the validation matrix's shape), governd --cpu-latency-us $CPU_LATENCY_US:" ;;
    c50d) echo "50 connections x 1 in flight, governd's defaults (no latency request):" ;;
    c1d) echo "1 connection x 50 in flight, governd's defaults (no latency request):" ;;
    u50) echo "50 connections x 1 in flight over a Unix socket, governd --cpu-latency-us $CPU_LATENCY_US:" ;;
    c1r) echo "1 connection x 50 in flight, a request id on each approval as vcli sends them, governd --cpu-latency-us $CPU_LATENCY_US:" ;;
    c1k) echo "1 connection x 50 in flight, decisions of the demo's size (bench/decision-1k.json), governd --cpu-latency-us $CPU_LATENCY_US:" ;;
  esac
  [ -f "$workdir/latency-$tag.txt" ] && cat "$workdir/latency-$tag.txt"
  mr=$(median_round "$tag")
  sed -n -e '/^  Count:/p' -e '/^  Total:/p' -e '/^  Requests\/sec:/p' -e '/^  Client CPU:/p' -e '/^  Server CPU:/p' \
    -e '/^  p50 /p' -e '/^  p99 /p' -e '/^  p99.9 /p' -e '/^governd/p' "$workdir/approvals-$tag-$mr.txt"
  echo "  (rounds, approvals/s: $(for r in $(seq 1 "$ROUNDS"); do printf '%s ' "$(rps_of "$workdir/approvals-$tag-$r.txt" | cut -d. -f1)"; done | sed 's/ $//'); round $mr shown)"
  echo "  vcli process CPU (submissions, approvals and checks): $(tail -n 1 "$workdir/time-$tag-$mr.out" | awk '{ printf "%.2f s", $1 + $2 }');" \
    "governd CPU: $(awk -v d="$(cat "$workdir/gcpu-$tag-$mr")" -v hz="$hz" 'BEGIN { printf "%.2f s", d / hz }')"
  # The two processes share this machine's cores: what one approval costs
  # both bounds the rate whatever governd does (docs/benchmarks.md).
  awk -v cpus="$(nproc)" '/^  (Client|Server) CPU:.*us per call/ { sub(/.*\(/, ""); us += $1; n++ }
    END { if (n == 2 && us > 0) printf "  CPU per approval, vcli and governd together: %.1f us; %d cores busy all the time: at most %.0f approvals/s\n", us, cpus, cpus * 1e6 / us }' \
    "$workdir/approvals-$tag-$mr.txt"
  v=$(rps_of "$workdir/approvals-$tag-$mr.txt")
  case $tag in
    c50) aps=${v:-0} ;;
    c1) aps1=${v:-0} ;;
    c50d) apsd=${v:-0} ;;
    c1d) aps1d=${v:-0} ;;
    u50) apsu=${v:-0} ;;
    c1r) aps1r=${v:-0} ;;
    c1k) aps1k=${v:-0} ;;
  esac
done
for f in "$workdir"/approvals-[cu]*-*.txt; do
  grep -q "every approval counted" "$f" || echo "  WARNING: $(basename "$f"): governd's approved_count did not match the approvals made"
done
echo

# 2. ListPendingDecisions(limit 10) under h2load and vcli bench, the same
#    request; the queue holds the demo decisions (--demo).
start_governd "$workdir/gov.db" --demo
printf '\0\0\0\0\x02\x10\x0a' >"$workdir/list.grpc"
echo "== ListPendingDecisions(limit 10), 1 connection x 100 in flight, $LIST_CALLS calls, median of $ROUNDS rounds"
for g in h2 v; do : >"$workdir/$g.rps"; : >"$workdir/$g.cpu"; : >"$workdir/$g.cli"; done
for _ in $(seq 1 "$ROUNDS"); do
  t0=$(cpu_ticks "$gpid")
  $TIME -f '%U %S' -o "$workdir/time.out" \
    h2load -t 1 -c 1 -m 100 -n "$LIST_CALLS" -d "$workdir/list.grpc" \
    -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://$addr/vertice.governance.v1.GovernanceService/ListPendingDecisions" >"$workdir/h2load.txt"
  t1=$(cpu_ticks "$gpid")
  ok=$(awk '/^requests:/ {print $8}' "$workdir/h2load.txt")
  awk '/^finished in/ {printf "%.0f\n", $4}' "$workdir/h2load.txt" >>"$workdir/h2.rps"
  echo "$(per_call_us $((t1 - t0)) "${ok:-0}")" >>"$workdir/h2.cpu"
  echo "$(client_us "${ok:-0}")" >>"$workdir/h2.cli"

  t0=$(cpu_ticks "$gpid")
  $TIME -f '%U %S' -o "$workdir/time.out" \
    "$VCLI" --server "$addr" bench ListPendingDecisions -d '{"limit":10}' -c 1 \
    --concurrency 100 -n "$LIST_CALLS" -t 0 -o json --no-progress >"$workdir/vcli.json" || true
  t1=$(cpu_ticks "$gpid")
  ok=$(json_field ok "$workdir/vcli.json")
  json_field rps "$workdir/vcli.json" | awk '{ printf "%.0f\n", $1 }' >>"$workdir/v.rps"
  echo "$(per_call_us $((t1 - t0)) "${ok:-0}")" >>"$workdir/v.cpu"
  echo "$(client_us "${ok:-0}")" >>"$workdir/v.cli"
done
lrps=$(median <"$workdir/h2.rps"); lcpu=$(median <"$workdir/h2.cpu")
vrps=$(median <"$workdir/v.rps"); vcpu=$(median <"$workdir/v.cpu")
printf '  %-28s %10s %14s %14s\n' "generator" "req/s" "governd us" "client us"
printf '  %-28s %10s %14s %14s\n' "h2load -c 1 -m 100" "$lrps" "$lcpu" "$(median <"$workdir/h2.cli")"
printf '  %-28s %10s %14s %14s\n' "vcli bench -c 1 (100 workers)" "$vrps" "$vcpu" "$(median <"$workdir/v.cli")"
echo "  (rounds, req/s: h2load $(paste -sd' ' "$workdir/h2.rps"); vcli bench $(paste -sd' ' "$workdir/v.rps"))"
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

# 4. the validation matrix, against a governd that holds a CPU wake-up
#    latency request (BENCH_CPU_LATENCY_US, default 0; -1: none): on a VM
#    whose idle vCPUs halt, the paced Sustained row's tail is otherwise the
#    hypervisor's wake-up time (docs/operations.md#latency-on-virtual-machines).
if [ "$VALIDATION" != 0 ]; then
  stop_governd
  start_governd "$workdir/gov.db" --cpu-latency-us "$CPU_LATENCY_US"
  echo "== vcli bench --suite validation (the Sustained row runs 30 s)"
  sed -n -e 's/.*msg="\(holding a CPU wake-up latency request\)" \(.*\)/governd: \1, \2/p' \
    -e 's/.*msg="\(cannot hold a CPU wake-up latency request[^"]*\)".*/governd: \1/p' \
    "$workdir/governd.log"
  "$VCLI" --server "$addr" bench --suite validation --no-progress || true
  echo
fi

echo "targets (approvals: 'latency' is governd --cpu-latency-us $CPU_LATENCY_US, as the validation matrix's):"
if [ "$CPU_LATENCY_US" != -1 ]; then
  printf '  %-40s %-12s %-12s %s\n' "durable approvals/s (50 conns, latency)" ">= 50000" "$aps" "$(verdict "$aps" ">=" 50000)"
  printf '  %-40s %-12s %-12s %s\n' "durable approvals/s (1 x 50, latency)" ">= 50000" "$aps1" "$(verdict "$aps1" ">=" 50000)"
fi
printf '  %-40s %-12s %-12s %s\n' "  the same, governd's defaults: 50 conns" ">= 50000" "$apsd" "$(verdict "$apsd" ">=" 50000)"
printf '  %-40s %-12s %-12s %s\n' "  the same, governd's defaults: 1 x 50" ">= 50000" "$aps1d" "$(verdict "$aps1d" ">=" 50000)"
if [ "$CPU_LATENCY_US" != -1 ]; then
  printf '  %-40s %-12s %-12s %s\n' "  50 conns over a Unix socket, latency" ">= 50000" "$apsu" "$(verdict "$apsu" ">=" 50000)"
  printf '  %-40s %-12s %-12s %s\n' "  1 x 50 with vcli's request ids, latency" ">= 50000" "$aps1r" "$(verdict "$aps1r" ">=" 50000)"
  printf '  %-40s %-12s %-12s %s\n' "  1 x 50, 1 KB decisions, latency" ">= 50000" "$aps1k" "$(verdict "$aps1k" ">=" 50000)"
fi
printf '  %-40s %-12s %-12s %s\n' "ListPendingDecisions req/s (1 conn)" ">= 50000" "$lrps" "$(verdict "$lrps" ">=" 50000)"
printf '  %-40s %-12s %-12s %s\n' "ListPendingDecisions governd CPU/call" "<= 20 us" "$lcpu us" "$(verdict "$lcpu" "<=" 20)"
printf '  %-40s %-12s %-12s %s\n' "vcli bench list req/s vs h2load" ">= $lrps" "$vrps" "$(verdict "$vrps" ">=" "$lrps")"
printf '  %-40s %-12s %-12s %s\n' "vcli gov list median wall time" "<= 5 ms" "$vmed ms" "$(verdict "$vmed" "<=" 5)"
exit 0
