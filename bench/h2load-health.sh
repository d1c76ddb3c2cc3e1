#!/usr/bin/env bash
# What `make bench` runs first: governd's HealthCheck under h2load and under
# vcli bench, on the same load shapes, in the same run, with the server's
# own cost (CPU per call, memory) read from /proc and each load generator's
# CPU from time(1).  It prints figures and the targets they are held
# against; it exits 0 whatever the figures are, because a benchmark never
# fails on a slow machine.  docs/benchmarks.md explains how to read it.
#
# usage: bench/h2load-health.sh BINDIR [--no-nghttpd]
#
# nghttpd (nghttp2-server) serving a file of HealthCheck's response size is
# the bare-HTTP/2 peer: the same load shapes, measured in the same run.
#
# BENCH_REQUESTS (default 200000) sets the calls per run; BENCH_ROUNDS
# (default 3) how many times each generator runs each shape, alternating,
# of which the median is shown (the machine may be shared).
set -euo pipefail

usage() {
  echo "usage: $0 BINDIR [--no-nghttpd]" >&2
  exit 2
}

BINDIR=
WITH_NGHTTPD=1
for arg in "$@"; do
  case $arg in
    --no-nghttpd) WITH_NGHTTPD=0 ;;
    --with-nghttpd) WITH_NGHTTPD=1 ;;
    -h|--help) usage ;;
    -*) echo "h2load-health: unknown option '$arg'" >&2; usage ;;
    *) [ -z "$BINDIR" ] || usage; BINDIR=$arg ;;
  esac
done
[ -n "$BINDIR" ] || usage

GOVERND=$BINDIR/governd
VCLI=$BINDIR/vcli
METHOD=/vertice.governance.v1.GovernanceService/HealthCheck
REQUESTS=${BENCH_REQUESTS:-200000}
ROUNDS=${BENCH_ROUNDS:-3}
# Targets (see docs/benchmarks.md for where they come from).
TARGET_RPS=100000     # req/s on one connection
TARGET_CPU_US=8       # governd CPU per call, microseconds
TARGET_RSS_KIB=6144   # governd idle RSS, 6 MiB

# The two load shapes: many streams on one connection (the per-connection
# ceiling), and many connections with one stream each (accept and
# per-connection cost, spread over governd's threads).
RUN_NAMES=("1 conn x 100 streams" "100 conns x 1 stream")
RUN_ARGS=("-c 1 -m 100" "-c 100 -m 1")
VCLI_ARGS=("-c 1 --concurrency 100" "-c 100 --concurrency 100")

if [ ! -x "$GOVERND" ]; then
  echo "h2load-health: '$GOVERND' is missing; run 'make build' first" >&2
  exit 1
fi
if ! command -v h2load >/dev/null 2>&1; then
  echo "h2load-health: h2load is not installed (apt-get install nghttp2-client)" >&2
  exit 1
fi
TIME=/usr/bin/time
if [ ! -x "$TIME" ]; then
  echo "h2load-health: /usr/bin/time is not installed (apt-get install time)" >&2
  exit 1
fi

workdir=$(mktemp -d "${TMPDIR:-/tmp}/vcli-bench.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$workdir"
}
trap cleanup EXIT

CLK_TCK=$(getconf CLK_TCK)

# governd's CPU so far (user + system, all threads) in clock ticks.  The
# fields are counted after the last ')' because the command name between
# the parentheses may hold spaces.
cpu_ticks() {
  local rest
  rest=$(sed 's/.*) //' "/proc/$1/stat")
  awk '{ print $12 + $13 }' <<<"$rest"
}

# A /proc/PID/status field in KiB (VmRSS, VmHWM).
status_kib() {
  awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

# Resets VmHWM so each run reports its own peak (Linux 4.0+; harmless
# where it is not supported).
reset_peak() {
  echo 5 >"/proc/$1/clear_refs" 2>/dev/null || true
}

mib() {
  awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'
}

free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
  else
    echo $((20000 + RANDOM % 20000))
  fi
}

# Starts governd on a free loopback port; sets GOVERND_PID, GOVERND_ADDR.
start_governd() {
  local log=$workdir/governd.log line i
  "$GOVERND" --listen 127.0.0.1:0 2>"$log" &
  GOVERND_PID=$!
  pids+=("$GOVERND_PID")
  GOVERND_ADDR=
  for i in $(seq 1 100); do
    if line=$(grep -m1 'governd listening' "$log" 2>/dev/null); then
      GOVERND_ADDR=$(sed -n -e 's/.*[[:space:]]addr="\{0,1\}\([^"[:space:]]*\).*/\1/p' \
                            -e 's/.*"addr":"\([^"]*\)".*/\1/p' <<<"$line" | head -n 1)
      GOVERND_THREADS=$(sed -n 's/.*[[:space:]]threads=\([0-9]*\).*/\1/p' <<<"$line")
      [ -n "$GOVERND_ADDR" ] && return 0
    fi
    if ! kill -0 "$GOVERND_PID" 2>/dev/null; then
      echo "h2load-health: governd exited before it was ready; its log:" >&2
      cat "$log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "h2load-health: governd did not report its address within 10 s" >&2
  exit 1
}

# Runs one h2load load against a server process and fills RUN_RPS,
# RUN_OK, RUN_CPU_US, RUN_PEAK_KIB and RUN_CLIENT_US (h2load's own CPU
# per call).  Extra h2load arguments follow url.
measure() {
  local pid=$1 url=$2 shape=$3 out=$workdir/h2load.out t0 t1
  shift 3
  reset_peak "$pid"
  t0=$(cpu_ticks "$pid")
  # shellcheck disable=SC2086  # shape is a list of options on purpose
  if ! $TIME -f '%U %S' -o "$workdir/time.out" \
       h2load -t 1 $shape -n "$REQUESTS" "$@" "$url" >"$out" 2>&1; then
    echo "h2load-health: h2load failed; its output:" >&2
    cat "$out" >&2
  fi
  t1=$(cpu_ticks "$pid")
  RUN_RPS=$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' "$out")
  RUN_OK=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' "$out")
  RUN_RPS=$(awk -v r="${RUN_RPS:-0}" 'BEGIN { printf "%.0f", r }')
  RUN_OK=${RUN_OK:-0}
  RUN_CPU_US=$(per_call_us $((t1 - t0)) "$RUN_OK")
  RUN_CLIENT_US=$(client_us "$RUN_OK")
  RUN_PEAK_KIB=$(status_kib "$pid" VmHWM)
}

# The same for vcli bench: its JSON has the calls and req/s.
measure_vcli() {
  local pid=$1 shape=$2 out=$workdir/vcli.json t0 t1
  shift 2
  reset_peak "$pid"
  t0=$(cpu_ticks "$pid")
  # shellcheck disable=SC2086
  if ! $TIME -f '%U %S' -o "$workdir/time.out" \
       "$VCLI" --server "$GOVERND_ADDR" bench HealthCheck $shape -n "$REQUESTS" \
       -o json --no-progress "$@" >"$out" 2>"$workdir/vcli.err"; then
    echo "h2load-health: vcli bench failed:" >&2
    cat "$workdir/vcli.err" >&2
  fi
  t1=$(cpu_ticks "$pid")
  RUN_RPS=$(json_field rps "$out" | awk '{ printf "%.0f", $1 }')
  RUN_OK=$(json_field ok "$out")
  RUN_OK=${RUN_OK:-0}
  RUN_CPU_US=$(per_call_us $((t1 - t0)) "$RUN_OK")
  RUN_CLIENT_US=$(client_us "$RUN_OK")
  RUN_PEAK_KIB=$(status_kib "$pid" VmHWM)
}

# A top-level number of vcli bench's one-line JSON.
json_field() {
  grep -o "\"$1\":[0-9.]*" "$2" | head -n 1 | cut -d: -f2
}

per_call_us() { # per_call_us TICKS CALLS
  awk -v d="$1" -v hz="$CLK_TCK" -v n="$2" \
    'BEGIN { if (n > 0) printf "%.2f", d / hz * 1e6 / n; else print "n/a" }'
}

# The load generator's user + system CPU (from time(1)) per call.
# The last line of time(1)'s output: a first line may say the command
# exited non-zero.
client_us() {
  tail -n 1 "$workdir/time.out" 2>/dev/null |
    awk -v n="$1" '{ if (n > 0) printf "%.2f", ($1 + $2) * 1e6 / n; else print "n/a" }'
}

# The median of the numbers on stdin ("n/a" when there are none).
median() {
  sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print "n/a"; else print a[int((NR + 1) / 2)] }'
}

row() {
  printf '%-38s %10s %17s %12s %12s %10s\n' "$@"
}

verdict() { # verdict VALUE OP TARGET -> pass|miss
  awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN {
    if (v == "n/a") { print "miss"; exit }
    ok = (op == ">=") ? (v + 0 >= t + 0) : (v + 0 <= t + 0)
    print ok ? "pass" : "miss" }'
}

# ---- governd ----
start_governd
# The HealthCheck must answer OK before its load means anything: h2load
# counts HTTP 200 as success, and a gRPC error is an HTTP 200 as well.
if [ -x "$VCLI" ] && ! "$VCLI" health --server "$GOVERND_ADDR" >/dev/null; then
  echo "h2load-health: governd does not answer HealthCheck; not benchmarking" >&2
  exit 1
fi
sleep 1
IDLE_KIB=$(status_kib "$GOVERND_PID" VmRSS)

# A gRPC request frame with an empty message: flag 0, length 0.
body=$workdir/empty.grpc
printf '\0\0\0\0\0' >"$body"
url=http://$GOVERND_ADDR$METHOD

echo "governd HealthCheck under h2load and vcli bench: $REQUESTS calls per run,"
echo "median of $ROUNDS alternating rounds; h2load -t 1, vcli bench on its one loop"
echo "governd pid $GOVERND_PID on $GOVERND_ADDR, ${GOVERND_THREADS:-default} threads, $(nproc) CPUs"
echo "idle RSS $(mib "$IDLE_KIB")"
echo
row "run" "req/s" "succeeded" "governd us" "client us" "peak RSS"
one_conn_cpu=n/a
one_conn_rps=0
# Three generators per shape: h2load; vcli bench sending the same request
# as h2load (-t 0: no deadline, so no grpc-timeout header); vcli bench as
# a gRPC client normally calls, with a deadline (20 s: governd then parses
# grpc-timeout and arms a timer for every call).
GEN_NAMES=("h2load" "vcli bench -t 0" "vcli bench")
for i in "${!RUN_NAMES[@]}"; do
  for g in 0 1 2; do : >"$workdir/g$g.rps"; : >"$workdir/g$g.cpu"; : >"$workdir/g$g.cli"; : >"$workdir/g$g.ok"; done
  for _ in $(seq 1 "$ROUNDS"); do
    for g in 0 1 2; do
      case $g in
        0) measure "$GOVERND_PID" "$url" "${RUN_ARGS[$i]}" -d "$body" \
             -H 'content-type: application/grpc' -H 'te: trailers' ;;
        1) measure_vcli "$GOVERND_PID" "${VCLI_ARGS[$i]}" -t 0 ;;
        2) measure_vcli "$GOVERND_PID" "${VCLI_ARGS[$i]}" ;;
      esac
      echo "$RUN_RPS" >>"$workdir/g$g.rps"
      echo "$RUN_CPU_US" >>"$workdir/g$g.cpu"
      echo "$RUN_CLIENT_US" >>"$workdir/g$g.cli"
      echo "$RUN_OK" >>"$workdir/g$g.ok"
    done
  done
  for g in 0 1 2; do
    rps=$(median <"$workdir/g$g.rps")
    row "${GEN_NAMES[$g]}, ${RUN_NAMES[$i]}" "$rps" "$(median <"$workdir/g$g.ok")/$REQUESTS" \
      "$(median <"$workdir/g$g.cpu")" "$(median <"$workdir/g$g.cli")" "$(mib "$RUN_PEAK_KIB")"
    if [ "$i" -eq 0 ] && [ "$g" -eq 0 ]; then
      one_conn_rps=$rps
      one_conn_cpu=$(median <"$workdir/g$g.cpu")
    fi
    if [ "$i" -eq 0 ] && [ "$g" -eq 1 ]; then
      vcli_rps=$rps
    fi
  done
  echo "  (rounds, req/s: h2load $(paste -sd' ' "$workdir/g0.rps"); vcli bench -t 0 $(paste -sd' ' "$workdir/g1.rps"); vcli bench $(paste -sd' ' "$workdir/g2.rps"))"
done

# ---- the peer: nghttpd serving a file of HealthCheck's response size, the
# figure for bare HTTP/2 on this machine without gRPC or our code ----
if [ "$WITH_NGHTTPD" -eq 1 ]; then
  if ! command -v nghttpd >/dev/null 2>&1; then
    echo
    echo "nghttpd is not installed (apt-get install nghttp2-server); skipping the bare HTTP/2 figure"
  else
    mkdir -p "$workdir/htdocs"
    printf '%018d' 0 >"$workdir/htdocs/health"
    port=$(free_port)
    nghttpd --no-tls -a 127.0.0.1 -d "$workdir/htdocs" "$port" >/dev/null 2>&1 &
    npid=$!
    pids+=("$npid")
    for _ in $(seq 1 50); do
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
      sleep 0.1
    done
    for i in "${!RUN_NAMES[@]}"; do
      measure "$npid" "http://127.0.0.1:$port/health" "${RUN_ARGS[$i]}"
      row "nghttpd+h2load, ${RUN_NAMES[$i]}" "$RUN_RPS" "$RUN_OK/$REQUESTS" "$RUN_CPU_US" \
        "$RUN_CLIENT_US" "$(mib "$RUN_PEAK_KIB")"
    done
  fi
fi

echo
echo "targets:"
printf '  %-32s %-12s %-12s %s\n' "req/s on one connection" ">= $TARGET_RPS" \
  "$one_conn_rps" "$(verdict "$one_conn_rps" ">=" "$TARGET_RPS")"
# The CPU target is for the shape the target was set on (one connection, 100
# streams).  With 100 connections of one stream, every call is its own read,
# write and epoll wake-up on loopback, and the kernel dominates: compare that
# row with nghttpd's row for the same shape instead.
printf '  %-32s %-12s %-12s %s\n' "governd CPU per call (1 conn)" "<= $TARGET_CPU_US us" \
  "$one_conn_cpu us" "$(verdict "$one_conn_cpu" "<=" "$TARGET_CPU_US")"
printf '  %-32s %-12s %-12s %s\n' "governd idle RSS" "<= 6 MiB" \
  "$(mib "$IDLE_KIB")" "$(verdict "$IDLE_KIB" "<=" "$TARGET_RSS_KIB")"
# vcli bench must load governd at least as hard as h2load does (the same
# request, one connection).
printf '  %-32s %-12s %-12s %s\n' "vcli bench req/s vs h2load" ">= $one_conn_rps" \
  "${vcli_rps:-0}" "$(verdict "${vcli_rps:-0}" ">=" "$one_conn_rps")"
exit 0
