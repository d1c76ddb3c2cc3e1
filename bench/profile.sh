#!/usr/bin/env bash
# `make profile`: where governd spends its time under a standard load, as a
# short report (docs/performance.md explains how to read it).
#
#   bench/profile.sh BINDIR [OUTDIR]
#
# The standard load, against a fresh store:
#   reads : ListPendingDecisions(limit 10) from h2load, 1 connection x 100
#           streams, PROFILE_READS calls (default 300000);
#   writes: `vcli bench --suite approvals`, 2 connections x 25 in flight:
#           PROFILE_WRITES decisions (default 50000) submitted, then each
#           approved (durably); CPU is reported per write.
# Each phase is recorded with `perf record` (flat: self time per thread and
# function, which needs no frame pointers) and, where perf cannot run, with
# valgrind's callgrind on a tenth of the load.  The report goes to
# OUTDIR/report.txt (default build/profile) and to stdout, with the CPU
# each thread spent per call, read from /proc.
set -euo pipefail

BINDIR=${1:?usage: $0 BINDIR [OUTDIR]}
OUT=${2:-$(dirname "$BINDIR")/profile}
READS=${PROFILE_READS:-300000}
WRITES=${PROFILE_WRITES:-50000}
GOVERND=$BINDIR/governd
VCLI=$BINDIR/vcli
mkdir -p "$OUT"
REPORT=$OUT/report.txt
work=$(mktemp -d "${TMPDIR:-/tmp}/vcli-profile.XXXXXX")
gpid=
cleanup() {
  if [ -n "$gpid" ]; then kill -TERM "$gpid" 2>/dev/null || true; wait "$gpid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

tool=perf
if ! command -v perf >/dev/null 2>&1 || ! perf record -q -o "$work/probe.data" -- true >/dev/null 2>&1; then
  tool=callgrind
  READS=$((READS / 10)); WRITES=$((WRITES / 10))
fi

start_governd() {
  : >"$work/governd.log"
  if [ "$tool" = callgrind ]; then
    valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.%p" --collect-atstart=no \
      "$GOVERND" --listen 127.0.0.1:0 --db "$work/gov.db" --demo --log-level warn \
      2>"$work/governd.log" &
  else
    "$GOVERND" --listen 127.0.0.1:0 --db "$work/gov.db" --demo 2>"$work/governd.log" &
  fi
  gpid=$!
  for _ in $(seq 1 400); do
    addr=$(sed -n 's/.*msg="governd listening" addr=\([^ ]*\).*/\1/p' "$work/governd.log" | head -1)
    [ -n "$addr" ] && return 0
    sleep 0.05
  done
  echo "profile.sh: governd did not start:" >&2; cat "$work/governd.log" >&2; exit 1
}

# CPU seconds per thread name of governd, as "name seconds" lines.
thread_cpu() {
  local tck; tck=$(getconf CLK_TCK)
  for t in /proc/"$gpid"/task/*; do
    awk -v tck="$tck" '{ s = $0; sub(/^[^(]*\(/, "", s); name = s; sub(/\).*$/, "", name);
      sub(/^[^)]*\) /, "", s); split(s, f, " "); printf "%s %.4f\n", name, (f[12] + f[13]) / tck }' "$t/stat"
  done | awk '{ c[$1] += $2 } END { for (n in c) print n, c[n] }' | sort
}

# Per-call CPU by thread between two thread_cpu snapshots.
per_call() { # before after calls
  join -a 2 -e 0 -o 0,1.2,2.2 "$1" "$2" |
    awk -v n="$3" '{ d = $3 - $2; if (d > 0) printf "  %-16s %7.2f us/call\n", $1, d * 1e6 / n; t += d }
      END { printf "  %-16s %7.2f us/call\n", "governd total", t * 1e6 / n }'
}

record_start() { # phase
  if [ "$tool" = perf ]; then
    perf record -q -F 1999 -p "$gpid" -o "$OUT/$1.perf.data" >/dev/null 2>&1 &
    ppid=$!
    sleep 0.3
  else
    callgrind_control -i on "$gpid" >/dev/null
  fi
}
record_stop() { # phase
  if [ "$tool" = perf ]; then
    kill -INT "$ppid"; wait "$ppid" 2>/dev/null || true
  else
    callgrind_control -i off "$gpid" >/dev/null
    callgrind_control -d "$1" "$gpid" >/dev/null
  fi
}
summarize() { # phase
  if [ "$tool" = perf ]; then
    perf report -i "$OUT/$1.perf.data" --stdio --no-children --sort comm,dso,sym \
      --percent-limit 0.8 2>/dev/null | grep -v '^#' | grep -v '^$' | head -40
  else
    f=$(ls -t "$OUT"/callgrind.* | head -1)
    callgrind_annotate "$f" 2>/dev/null | sed -n '1,45p'
  fi
}

start_governd
{
  echo "governd profile ($tool), $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, governd $("$GOVERND" --version | awk '{print $2}')"
  echo

  # reads
  printf '\0\0\0\0\x02\x10\x0a' >"$work/list.grpc"
  thread_cpu >"$work/r0"
  record_start reads
  h2load -t 1 -c 1 -m 100 -n "$READS" -d "$work/list.grpc" \
    -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://$addr/vertice.governance.v1.GovernanceService/ListPendingDecisions" >"$work/h2load.txt"
  record_stop reads
  thread_cpu >"$work/r1"
  echo "== reads: ListPendingDecisions(limit 10), h2load -c 1 -m 100, $READS calls"
  grep -E '^finished in|^requests:' "$work/h2load.txt" | sed 's/^/  /'
  per_call "$work/r0" "$work/r1" "$READS"
  echo
  summarize reads
  echo

  # writes: submissions, then their approvals
  thread_cpu >"$work/w0"
  record_start writes
  "$VCLI" --server "$addr" bench --suite approvals --approvals "$WRITES" -c 2 --concurrency 50 \
    >"$work/load.txt" 2>&1 || true
  record_stop writes
  thread_cpu >"$work/w1"
  echo "== writes: vcli bench --suite approvals, $WRITES submissions then $WRITES durable approvals, 2 connections x 25 in flight"
  grep -E 'Requests/sec|Total:|Count:|approved_count' "$work/load.txt" | sed 's/^ */  /'
  per_call "$work/w0" "$work/w1" $((2 * WRITES)) | sed 's|us/call|us/write|'
  echo
  summarize writes
} | tee "$REPORT"
echo
echo "report: $REPORT; raw data in $OUT"
