#!/usr/bin/env bash
# Installs every Debian 12 package Stockade's build, tests and benchmarks need.
# Idempotent: installs only what is missing. Run as root (or with sudo available).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  clang libclang-rt-14-dev clang-format
  libyaml-dev libyaml-cpp-dev libsimdjson-dev nlohmann-json3-dev libcli11-dev libfmt-dev libspdlog-dev
  libexpected-dev libjemalloc-dev libcpp-httplib-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc libre2-dev
  libbpf-dev bpftool libcurl4-openssl-dev curl iproute2
  libsqlite3-dev libpq-dev postgresql-15 util-linux
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  python3 python3-yaml python3-jsonschema
  zlib1g-dev libyaml-dev
  openssl curl
  prometheus
  nodejs chromium fonts-dejavu-core
)
# npm: Debian's package, unless a Node.js distribution that bundles it is installed already
# (NodeSource's nodejs conflicts with Debian's npm).
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 2
  fi
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
