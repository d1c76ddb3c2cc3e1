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
# benchmarks' client CPU figures; PyYAML for the fake Kubernetes API server.
# kubectl, the reference of the k8s tests, has no Debian package: where it
# is missing those comparisons are skipped (docs/testing.md).
test_pkgs=(
  libcmocka-dev
  python3 python3-grpcio python3-protobuf protobuf-compiler
  nghttp2-client nghttp2-server
  valgrind
  clang libclang-rt-dev
  openssl procps iproute2 time
  python3-yaml
)

# Profiling (make profile): perf; valgrind (callgrind) is the fallback.
profile_pkgs=(linux-perf)

want=("${build_pkgs[@]}")
case "${1:-}" in
  --build-only) ;;
  --profile) want+=("${test_pkgs[@]}" "${profile_pkgs[@]}") ;;
  *) want+=("${test_pkgs[@]}") ;;
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
