#!/usr/bin/env bash
# `vcli k8s get pods -A` against `kubectl get pods -A` over the same 5,000
# pods served by the stand-in API server (tests/tools/fakekube.py), with the
# same kubeconfig and warm discovery caches: wall time and peak RSS of each
# client, from time(1), the median of BENCH_ROUNDS (default 5) alternating
# runs.  The server keeps each list chunk's bytes once made, so what is
# measured is the client.  Targets: vcli at least 5x faster and at most a
# fifth of kubectl's memory.  It prints figures and exits 0 whatever they
# are (a benchmark never fails on a slow machine); without kubectl it
# prints vcli's figures alone.
#
# usage: bench/k8s-get.sh BINDIR
set -euo pipefail

BINDIR=${1:?usage: $0 BINDIR}
ROUNDS=${BENCH_ROUNDS:-5}
PODS=${BENCH_PODS:-5000}
HERE=$(cd "$(dirname "$0")" && pwd)
VCLI=$BINDIR/vcli
KUBECTL=$(command -v kubectl || true)
TIME=/usr/bin/time

tmp=$(mktemp -d)
fake_pid=
cleanup() {
  [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

/usr/bin/python3 "$HERE/../tests/tools/fakekube.py" --pods "$PODS" >"$tmp/port" 2>"$tmp/fake.log" &
fake_pid=$!
for _ in $(seq 1 200); do
  grep -q '^PORT ' "$tmp/port" 2>/dev/null && break
  sleep 0.05
done
port=$(awk '/^PORT/ {print $2}' "$tmp/port")
[ -n "$port" ] || { echo "k8s-get: fakekube did not start" >&2; cat "$tmp/fake.log" >&2; exit 1; }

cat >"$tmp/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster: {server: "http://127.0.0.1:$port"}
contexts:
- name: fake
  context: {cluster: fake, user: u}
users:
- name: u
  user: {}
current-context: fake
KC
export KUBECONFIG=$tmp/kubeconfig HOME=$tmp

# One run each to warm the discovery caches and the server's chunks.
"$VCLI" k8s get pods -A >/dev/null
[ -n "$KUBECTL" ] && "$KUBECTL" get pods -A >/dev/null

run() { # tool args... -> "seconds kilobytes"
  "$TIME" -f '%e %M' -o "$tmp/t" "$@" >"$tmp/out" 2>/dev/null
  cat "$tmp/t"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: >"$tmp/v"; : >"$tmp/k"
for _ in $(seq 1 "$ROUNDS"); do
  run "$VCLI" k8s get pods -A >>"$tmp/v"
  rows_v=$(wc -l <"$tmp/out")
  if [ -n "$KUBECTL" ]; then
    run "$KUBECTL" get pods -A >>"$tmp/k"
    rows_k=$(wc -l <"$tmp/out")
  fi
done

vt=$(awk '{print $1}' "$tmp/v" | median); vm=$(awk '{print $2}' "$tmp/v" | median)
echo "k8s get pods -A over $PODS pods (fakekube, median of $ROUNDS runs)"
printf '  %-8s %8s s %10s KiB peak RSS  (%s lines)\n' vcli "$vt" "$vm" "$rows_v"
if [ -n "$KUBECTL" ]; then
  kt=$(awk '{print $1}' "$tmp/k" | median); km=$(awk '{print $2}' "$tmp/k" | median)
  printf '  %-8s %8s s %10s KiB peak RSS  (%s lines)\n' kubectl "$kt" "$km" "$rows_k"
  awk -v vt="$vt" -v kt="$kt" -v vm="$vm" -v km="$km" 'BEGIN {
    sp = vt > 0 ? kt / vt : 0; mr = km > 0 ? vm / km : 0
    printf "  vcli is %.1fx faster (target >= 5x: %s) and uses %.2f of the memory (target <= 0.20: %s)\n",
      sp, (sp >= 5 ? "met" : "MISSED"), mr, (mr <= 0.2 ? "met" : "MISSED") }'
else
  echo "  kubectl not installed: no comparison"
fi
