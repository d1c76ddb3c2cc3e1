#!/usr/bin/env bash
# Installs the Debian packages that vcli's build, tests and benchmarks need.
# Idempotent: it asks apt-get only for what is missing, so a second run is a
# no-op and costs about a second.  Uses sudo when not root.
set -euo pipefail

# Build: compiler, CMake, and the libraries the transport stands on.
build_pkgs=(
  build-essential cmake pkg-config
  libnghttp2-dev libuv1-dev libssl-dev zlib1g-dev
  libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev
  libsqlite3-dev libjansson-dev
  libyaml-dev libcurl4-openssl-dev
)
# Tests: unit framework, independent gRPC peer, load tool, memory checker,
# sanitizer runtime, openssl CLI for test certificates, time(1) for the
# benchmarks' client CPU figures; Prometheus (prometheus + promtool) and
# prometheus_client's exposition parser for the metrics tests.  The
# prometheus package also installs a service unit; the tests never use it
# (they start their own server on a free loopback port).
# PyYAML for the fake Kubernetes API server.  kubectl is the reference of
# the k8s tests; Debian's (kubernetes-client, below) is 1.20, too old to
# compare with: the comparisons need 1.30 or newer and are skipped without
# it (docs/testing.md).
test_pkgs=(
  libcmocka-dev
  python3 python3-grpcio python3-protobuf protobuf-compiler
  prometheus python3-prometheus-client python3-yaml
  nghttp2-client nghttp2-server
  valgrind
  clang libclang-rt-dev
  openssl procps iproute2 time
)

# Operations tests (deploy_files, docs/operations.md): YAML for the
# manifests and the Kubernetes API models to check their fields against,
# promtool for the PrometheusRule, systemd-analyze for the unit.
ops_pkgs=(python3-yaml python3-kubernetes prometheus systemd)
# kubectl decodes the manifests; Debian ships it as kubernetes-client, but a
# kubectl from elsewhere (a cloud SDK) would conflict with it: keep that one.
if ! command -v kubectl >/dev/null 2>&1; then
  ops_pkgs+=(kubernetes-client)
fi

# Profiling (make profile): perf; valgrind (callgrind) is the fallback.
profile_pkgs=(linux-perf)

want=("${build_pkgs[@]}")
case "${1:-}" in
  --build-only) ;;
  --profile) want+=("${test_pkgs[@]}" "${ops_pkgs[@]}" "${profile_pkgs[@]}") ;;
  *) want+=("${test_pkgs[@]}" "${ops_pkgs[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
