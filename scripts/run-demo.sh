#!/usr/bin/env bash
# What `make run` runs: starts governd on loopback, shows vcli talking to it,
# then either keeps governd running for the user to try more (interactive
# terminal, CI unset) or stops it and exits with vcli's status.
#
# usage: scripts/run-demo.sh BINDIR      (BINDIR holds governd and vcli)
#
# To show another command, add a `step` line to demo_steps below.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 BINDIR" >&2
  exit 2
fi
BINDIR=$1
GOVERND=$BINDIR/governd
VCLI=$BINDIR/vcli
DEFAULT_ADDR=127.0.0.1:50051

for exe in "$GOVERND" "$VCLI"; do
  if [ ! -x "$exe" ]; then
    echo "run-demo: '$exe' is missing; run 'make build' first" >&2
    exit 1
  fi
done

workdir=$(mktemp -d "${TMPDIR:-/tmp}/vcli-demo.XXXXXX")
log=$workdir/governd.log
governd_pid=

# Stops governd with SIGTERM (a graceful shutdown) and waits for it; a
# governd that has not exited after 10 s is killed so the demo never hangs.
stop_governd() {
  local pid=$governd_pid i
  governd_pid=
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "run-demo: governd (pid $pid) did not stop within 10 s of SIGTERM; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  stop_governd
  rm -rf "$workdir"
}
trap cleanup EXIT

# True when something accepts connections on host:port.
port_busy() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# Reads governd's "governd listening" log line (logfmt or JSON) for the
# address it bound; prints nothing until that line is there.
listening_addr() {
  local line
  line=$(grep -m1 'governd listening' "$log" 2>/dev/null) || return 0
  sed -n -e 's/.*[[:space:]]addr="\{0,1\}\([^"[:space:]]*\).*/\1/p' \
         -e 's/.*"addr":"\([^"]*\)".*/\1/p' <<<"$line" | head -n 1
}

listen=$DEFAULT_ADDR
if port_busy 127.0.0.1 50051; then
  echo "run-demo: 127.0.0.1:50051 is already in use; starting governd on a free port instead"
  listen=127.0.0.1:0
fi

# A fresh store in the demo's directory, filled with sample decisions.
"$GOVERND" --listen "$listen" --db "$workdir/gov.db" --demo 2>"$log" &
governd_pid=$!

addr=
for _ in $(seq 1 100); do
  addr=$(listening_addr)
  [ -n "$addr" ] && break
  if ! kill -0 "$governd_pid" 2>/dev/null; then
    governd_pid=
    echo "run-demo: governd exited before it was ready; its log:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$addr" ]; then
  echo "run-demo: governd did not report its address within 10 s; its log:" >&2
  cat "$log" >&2
  exit 1
fi
echo "governd is listening on $addr (pid $governd_pid)"

# vcli's default server is 127.0.0.1:50051; only a fallback port needs
# --server on the command lines shown.
server_args=()
if [ "$addr" != "$DEFAULT_ADDR" ]; then
  server_args=(--server "$addr")
fi

# The demo shows vcli's defaults whatever the user's shell or config file
# says (a configured production server must not be what the demo talks
# to), and keeps the session it opens in the demo's directory.
unset VCLI_GOVERNANCE_ENDPOINT VCLI_OPERATOR VCLI_TIMEOUT VCLI_OUTPUT \
      VCLI_TLS_CA VCLI_TLS_CERT VCLI_TLS_KEY VCLI_TLS_SERVER_NAME
export VCLI_CONFIG=/dev/null
export XDG_STATE_HOME=$workdir/state

status=0

# Shows a command, then runs it; the first failure's status is the demo's.
step() {
  local rc=0
  printf '\n$'
  printf ' %q' "$@"
  printf '\n'
  "$@" || rc=$?
  if [ "$rc" -ne 0 ] && [ "$status" -eq 0 ]; then
    status=$rc
  fi
}

# The id of the most urgent open decision, from vcli's own yaml output.
first_decision() {
  "$VCLI" gov list "${server_args[@]}" --limit 1 -o yaml |
    sed -n 's/^  - decisionId: //p'
}

demo_steps() {
  local id
  step "$VCLI" health "${server_args[@]}"
  step "$VCLI" health "${server_args[@]}" -o json
  step "$VCLI" gov list "${server_args[@]}" --limit 10
  id=$(first_decision)
  if [ -z "$id" ]; then
    echo "run-demo: governd --demo listed no decisions" >&2
    status=1
    return
  fi
  step "$VCLI" gov get "${server_args[@]}" "$id"
  step "$VCLI" gov approve "${server_args[@]}" --operator demo "$id" \
    --comment "checked the evidence"
  step "$VCLI" gov list "${server_args[@]}" --status APPROVED
  step "$VCLI" gov metrics "${server_args[@]}"
  step "$VCLI" gov stats "${server_args[@]}" --operator demo -o json
}

demo_steps

if [ -t 0 ] && [ -z "${CI:-}" ]; then
  srv=${server_args[*]:+ ${server_args[*]}}
  cat <<EOF

governd keeps running on $addr (pid $governd_pid); its log is $log.
Try more in another terminal, for example:
  $VCLI health$srv
  $VCLI gov list$srv --priority critical
  $VCLI gov watch$srv
  $VCLI gov metrics$srv -o yaml
  $VCLI help gov
Press Ctrl-C to stop governd.
EOF
  trap 'echo; echo "stopping governd"; exit "$status"' INT TERM
  # wait returns early when a trapped signal arrives; a governd that exits
  # on its own ends the demo too.
  rc=0
  wait "$governd_pid" || rc=$?
  governd_pid=
  echo "run-demo: governd exited on its own (status $rc); its log:" >&2
  cat "$log" >&2
  exit 1
fi

exit "$status"
